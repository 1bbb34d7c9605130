// The store seam: everything above this file sees a Kysely handle and `write()`, never a driver.
// A PostgreSQL dialect plugs in here without touching services or repositories.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Sqlite from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import type { DatabaseConfig } from '../config.ts';
import type { Db } from './database.ts';

export type Store = {
  readonly dialect: DatabaseConfig['dialect'];
  /** For reads. */
  readonly db: Db;
  /**
   * Runs `fn` as one write transaction: all of it commits or none of it does. On SQLite this is
   * BEGIN IMMEDIATE, taking the write lock up front so that concurrent writers from other
   * processes wait (busy_timeout) instead of failing on a lock upgrade.
   */
  write<T>(fn: (trx: Db) => Promise<T>): Promise<T>;
  close(): Promise<void>;
};

export function openStore(config: DatabaseConfig): Store {
  return openSqlite(config.path);
}

function openSqlite(path: string): Store {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const database = new Sqlite(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL'); // durability: an acknowledged write survives power loss
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  const db: Db = new Kysely({ dialect: new SqliteDialect({ database }) });

  return {
    dialect: 'sqlite',
    db,
    // Kysely's SQLite driver has one connection guarded by a mutex: holding it for the whole
    // transaction keeps other queries of this process out until we commit.
    write: (fn) =>
      db.connection().execute(async (conn) => {
        await sql`BEGIN IMMEDIATE`.execute(conn);
        try {
          const result = await fn(conn);
          await sql`COMMIT`.execute(conn);
          return result;
        } catch (error) {
          if (database.inTransaction) await sql`ROLLBACK`.execute(conn);
          throw error;
        }
      }),
    close: () => db.destroy(),
  };
}

/** Database constraint failures, told apart without leaking the driver's message. */
export type ConstraintKind = 'unique' | 'check' | 'trigger' | 'foreign_key';

export function constraintViolation(error: unknown): { kind: ConstraintKind; message: string } | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return undefined;
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return { kind: 'unique', message: error.message };
  if (code === 'SQLITE_CONSTRAINT_CHECK') return { kind: 'check', message: error.message };
  if (code === 'SQLITE_CONSTRAINT_TRIGGER') return { kind: 'trigger', message: error.message };
  if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') return { kind: 'foreign_key', message: error.message };
  return undefined;
}
