// A DATABASE_URL naming a SQLite path that cannot work fails at once with one line that names
// the setting, the path and what to do; `accounts migrate` on /proc/forbidden/a.db used to loop
// for ever in mkdir, and other bad paths gave SQLite's or Node's bare messages.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../config.ts';
import { openSqlite } from './sqlite.ts';

const dir = mkdtempSync(join(tmpdir(), 'accounts-sqlite-'));
afterAll(() => {
  chmodSync(join(dir, 'read-only-dir'), 0o755);
  rmSync(dir, { recursive: true, force: true });
});

const aFile = join(dir, 'a-file');
writeFileSync(aFile, 'not a directory\n');
const notADatabase = join(dir, 'notes.txt');
writeFileSync(notADatabase, 'x'.repeat(200));
const readOnlyFile = join(dir, 'read-only.db');
writeFileSync(readOnlyFile, '');
chmodSync(readOnlyFile, 0o444);
const readOnlyDir = join(dir, 'read-only-dir');
mkdirSync(readOnlyDir);
chmodSync(readOnlyDir, 0o555);
// Permissions do not stop root: those cases only mean something for another user.
const asRoot = process.getuid?.() === 0;
const quoted = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function problemOf(path: string): string {
  try {
    openSqlite(path);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(1);
    return problems[0]!;
  }
  throw new Error(`${path} opened`);
}

const cases: { name: string; path: string; says: RegExp; skip?: boolean }[] = [
  { name: 'a directory that /proc will not create', path: '/proc/forbidden/a.db', says: /cannot create the directory \/proc\/forbidden .*ENOENT/ },
  { name: 'a deeper one under /proc', path: '/proc/self/x/y/a.db', says: /cannot create the directory \/proc\/self\/x / },
  { name: 'a file /proc will not create', path: '/proc/a.db', says: /cannot use \/proc\/a\.db as the SQLite database \(unable to open database file\)|the directory \/proc of the SQLite database is not writable/ },
  { name: 'a parent that is a file', path: join(aFile, 'sub', 'a.db'), says: new RegExp(`${quoted(aFile)} is a file, not a directory`) },
  { name: 'a path that is a directory', path: dir, says: new RegExp(`${quoted(dir)} is a directory, not a database file`) },
  { name: 'a file that is not a database', path: notADatabase, says: new RegExp(`cannot use ${quoted(notADatabase)} as the SQLite database \\(file is not a database\\)`) },
  { name: 'a read-only file', path: readOnlyFile, says: new RegExp(`the SQLite database ${quoted(readOnlyFile)} is read-only or unreadable \\(permission denied, EACCES\\)`), skip: asRoot },
  { name: 'a file in a read-only directory', path: join(readOnlyDir, 'a.db'), says: new RegExp(`the directory ${quoted(readOnlyDir)} of the SQLite database is not writable \\(permission denied, EACCES\\)`), skip: asRoot },
  { name: 'a directory to create in a read-only one', path: join(readOnlyDir, 'sub', 'a.db'), says: new RegExp(`cannot create the directory ${quoted(join(readOnlyDir, 'sub'))} .*EACCES`), skip: asRoot },
];

describe('openSqlite on a path that cannot work', () => {
  for (const { name, path, says, skip } of cases) {
    it.skipIf(skip === true)(`${name}: one line naming DATABASE_URL, the path and what to do`, () => {
      const problem = problemOf(path);
      expect(problem).toMatch(/^DATABASE_URL: /);
      expect(problem).toMatch(says);
      expect(problem).toMatch(/; set DATABASE_URL to sqlite:PATH, a file in a directory this user can write/);
      expect(problem).not.toContain('\n');
    });
  }

  it('creates the missing directories of a good path, one at a time', async () => {
    const path = join(dir, 'new', 'deeper', 'accounts.db');
    const store = openSqlite(path);
    await store.close();
    expect(existsSync(path)).toBe(true);
  });

  it('opens a relative path (from the working directory) and :memory: as before', async () => {
    await openSqlite(':memory:').close();
    await openSqlite(relative(process.cwd(), join(dir, 'relative', 'accounts.db'))).close();
    expect(existsSync(join(dir, 'relative', 'accounts.db'))).toBe(true);
  });
});
