// Group commit (group-commit.ts) on a real SQLite file: concurrent writes share transactions, one
// failing write undoes only itself, nothing is acknowledged before it is committed (another
// connection sees it), and a batch whose COMMIT fails rejects every write in it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGroupCommit, MAX_BATCH, type GroupCommit } from './group-commit.ts';
import type { Db } from './database.ts';
import { beginWithoutWaiting } from './sqlite.ts';

const dir = mkdtempSync(join(tmpdir(), 'accounts-group-commit-'));
const file = join(dir, 'g.db');
let database: Sqlite.Database;
let other: Sqlite.Database;
let db: Db;
let group: GroupCommit;
const batches: number[] = [];

beforeAll(() => {
  database = new Sqlite(file);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma('foreign_keys = ON');
  database.exec(`
    CREATE TABLE parents (id INTEGER PRIMARY KEY);
    CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
      parent INTEGER REFERENCES parents(id) DEFERRABLE INITIALLY DEFERRED);
    INSERT INTO parents (id) VALUES (1);`);
  other = new Sqlite(file, { readonly: true });
  db = new Kysely({ dialect: new SqliteDialect({ database }) }) as unknown as Db;
  group = createGroupCommit({
    withConnection: (fn) => db.connection().execute(fn),
    inTransaction: () => database.inTransaction,
    onBatch: (size) => batches.push(size),
  });
});
afterAll(async () => {
  other.close();
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const insert = (name: string, parent: number | null = null) => (trx: Db) =>
  sql`INSERT INTO items (name, parent) VALUES (${name}, ${parent})`.execute(trx).then(() => name);
const committed = (name: string) => other.prepare('SELECT count(*) AS n FROM items WHERE name = ?').get(name) as { n: number };

it('shares a transaction between concurrent writes, and acknowledges each only once another connection sees it', async () => {
  batches.length = 0;
  const names = Array.from({ length: 40 }, (_, i) => `together-${i}`);
  const seen = await Promise.all(names.map((name) => group.write(insert(name)).then((n) => committed(n).n)));
  expect(seen).toEqual(names.map(() => 1));
  expect(batches.reduce((a, b) => a + b, 0)).toBe(40);
  expect(batches.length).toBeLessThan(40);
  expect(Math.max(...batches)).toBeLessThanOrEqual(MAX_BATCH);
});

it('a lone write commits on its own', async () => {
  batches.length = 0;
  expect(await group.write(insert('alone'))).toBe('alone');
  expect(committed('alone').n).toBe(1);
  expect(batches).toEqual([1]);
});

it('one failing write undoes only itself: the writes before and after it in the batch are kept', async () => {
  batches.length = 0;
  const outcomes = await Promise.allSettled([
    group.write(insert('before-failure')),
    group.write(async (trx) => {
      await insert('half-done')(trx);
      await insert('before-failure')(trx); // UNIQUE: fails after writing a row of its own
    }),
    group.write(async () => {
      throw new Error('refused by the service');
    }),
    group.write(insert('after-failure')),
  ]);
  expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
  expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'SQLITE_CONSTRAINT_UNIQUE' });
  expect(committed('before-failure').n).toBe(1);
  expect(committed('half-done').n).toBe(0);
  expect(committed('after-failure').n).toBe(1);
  expect(batches).toEqual([2]);
});

it('when the COMMIT fails, every write of the batch is rejected and none is there', async () => {
  // A deferred foreign key is checked only at COMMIT: the batch is lost as a whole.
  const outcomes = await Promise.allSettled([group.write(insert('innocent')), group.write(insert('orphan', 999)), group.write(insert('bystander'))]);
  expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
  expect(committed('innocent').n + committed('orphan').n + committed('bystander').n).toBe(0);
  expect(database.inTransaction).toBe(false);
  // And the next writes go on.
  expect(await group.write(insert('next'))).toBe('next');
  expect(committed('next').n).toBe(1);
});

it('writes of a batch see the earlier ones; the write lock is not held while the batch gathers', async () => {
  batches.length = 0;
  const first = group.write(insert('first-of-two'));
  const second = group.write(async (trx) => (await sql<{ n: number }>`SELECT count(*) AS n FROM items WHERE name = 'first-of-two'`.execute(trx)).rows[0]!.n);
  // While the batch waits for the turn to end, another connection can take the write lock at once.
  expect(database.inTransaction).toBe(false);
  const writer = new Sqlite(file);
  writer.pragma('busy_timeout = 0');
  writer.exec("BEGIN IMMEDIATE; INSERT INTO items (name) VALUES ('from-another-connection'); COMMIT");
  writer.close();
  expect(await Promise.all([first, second])).toEqual(['first-of-two', 1]);
  expect(batches).toEqual([2]);
  expect(committed('from-another-connection').n).toBe(1);
});

describe('when another process holds the write lock', () => {
  const tryBegin = (conn: Db) => beginWithoutWaiting(database, 5_000)(conn);
  const waiting = (busyTimeoutMs: number) =>
    createGroupCommit({ withConnection: (fn) => db.connection().execute(fn), inTransaction: () => database.inTransaction, tryBegin, busyTimeoutMs });

  it('waits for it without blocking the event loop, then writes', async () => {
    const holder = new Sqlite(file);
    holder.exec('BEGIN IMMEDIATE');
    let settled = false;
    const write = waiting(5_000)
      .write(insert('after-the-lock'))
      .finally(() => (settled = true));
    // Timers still fire (the loop is free) while the write waits.
    const ticks = await new Promise<number>((resolve) => {
      let n = 0;
      const timer = setInterval(() => {
        n += 1;
        if (n === 5) {
          clearInterval(timer);
          resolve(n);
        }
      }, 5);
    });
    expect(ticks).toBe(5);
    expect(settled).toBe(false);
    holder.exec('COMMIT');
    holder.close();
    expect(await write).toBe('after-the-lock');
    expect(committed('after-the-lock').n).toBe(1);
  });

  it('fails its writes with SQLITE_BUSY once it has waited the busy timeout', async () => {
    const holder = new Sqlite(file);
    holder.exec('BEGIN IMMEDIATE');
    try {
      await expect(waiting(50).write(insert('never'))).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    expect(committed('never').n).toBe(0);
  });
});
