// A SQLite DATABASE_URL's path, checked (and its directory made) before the file is opened, so
// that a path that cannot work is reported in one line naming the setting, the path and what to
// do. Apart from sqlite.ts, so that `accounts serve` can check it before loading the server.
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../config.ts';

const WHAT_TO_DO = 'set DATABASE_URL to sqlite:PATH, a file in a directory this user can write (e.g. sqlite:data/accounts.db)';

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'not permitted',
  EROFS: 'read-only file system',
  // mkdir under /proc or /sys answers ENOENT although the parent exists
  ENOENT: 'the file system does not allow it',
  ENOSPC: 'no space left on the device',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many symbolic links',
};

function reason(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? `${REASONS[code] ?? 'failed'}, ${code}` : String(error);
}

/** A DATABASE_URL that cannot work, said in one line with the path and what to do. */
export function unusableSqlitePath(problem: string): ConfigError {
  return new ConfigError([`DATABASE_URL: ${problem}; ${WHAT_TO_DO}`]);
}

function statOf(path: string) {
  try {
    return statSync(path);
  } catch {
    return undefined; // missing, or under a file (ENOTDIR): the walk goes on up
  }
}

/**
 * Creates the database's directory and checks that SQLite can write there, before SQLite's own
 * messages ("unable to open database file") could say it without naming the path. Directories
 * are made one at a time: mkdirSync's recursive mode loops for ever under /proc, where mkdir
 * answers ENOENT for a parent that exists.
 */
export function prepareSqlitePath(path: string): string {
  const file = resolve(path);
  const existing = statOf(file);
  if (existing?.isDirectory()) throw unusableSqlitePath(`${file} is a directory, not a database file`);
  const missing: string[] = [];
  let dir = dirname(file);
  for (let stat = statOf(dir); stat === undefined; stat = statOf(dir)) {
    missing.unshift(dir);
    dir = dirname(dir);
  }
  if (!statOf(dir)!.isDirectory()) throw unusableSqlitePath(`cannot create the SQLite database ${file}: ${dir} is a file, not a directory`);
  for (const newDir of missing) {
    try {
      mkdirSync(newDir);
    } catch (error) {
      // Another process starting at the same moment may have made it.
      if (!statOf(newDir)?.isDirectory()) throw unusableSqlitePath(`cannot create the directory ${newDir} for the SQLite database (${reason(error)})`);
    }
  }
  // WAL puts two files beside the database, so its directory must be writable too.
  const directory = dirname(file);
  try {
    accessSync(directory, constants.W_OK);
  } catch (error) {
    throw unusableSqlitePath(`the directory ${directory} of the SQLite database is not writable (${reason(error)})`);
  }
  if (existing !== undefined) {
    try {
      accessSync(file, constants.R_OK | constants.W_OK);
    } catch (error) {
      throw unusableSqlitePath(`the SQLite database ${file} is read-only or unreadable (${reason(error)})`);
    }
  }
  return file;
}
