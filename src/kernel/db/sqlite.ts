// SQLite through better-sqlite3: one connection per process, WAL, synchronous=FULL.
import Sqlite from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { prepareSqlitePath, unusableSqlitePath } from './sqlite-path.ts';
import { STARTUP_LOCK_WAIT_MS, type Store } from './store.ts';
import type { Db } from './database.ts';
import { registerDirectReader } from './prepared.ts';
import { createGroupCommit } from './group-commit.ts';

// Kysely's SQLite driver prepares every query anew; preparing is a large share of a simple
// request's CPU (see docs/BENCHMARKS.md). The application's queries are a small, fixed set of
// SQL texts, so their prepared statements are kept and reused. Bounded, for SQL built with a
// varying number of parameters.
const STATEMENT_CACHE_SIZE = 500;

function statementCache(database: Sqlite.Database): (sqlText: string) => Sqlite.Statement {
  const statements = new Map<string, Sqlite.Statement>();
  return (sqlText) => {
    let statement = statements.get(sqlText);
    if (!statement) {
      statement = database.prepare(sqlText);
      statements.set(sqlText, statement);
      if (statements.size > STATEMENT_CACHE_SIZE) statements.delete(statements.keys().next().value as string);
    }
    return statement;
  };
}

/** Opens the file and sets up the connection, saying which path failed and why. */
function openDatabase(path: string): Sqlite.Database {
  if (path === ':memory:') return configure(new Sqlite(path));
  const file = prepareSqlitePath(path);
  let database: Sqlite.Database | undefined;
  try {
    database = new Sqlite(file);
    return configure(database);
  } catch (error) {
    database?.close();
    const code = (error as { code?: unknown }).code;
    if (code === 'SQLITE_BUSY') throw error; // another process holds it: not a path problem
    throw unusableSqlitePath(`cannot use ${file} as the SQLite database (${error instanceof Error ? error.message : String(error)})`);
  }
}

// While serving, a write waits at most this long for another process's lock. better-sqlite3
// waits synchronously, so this is also how long the event loop can stall.
const BUSY_TIMEOUT_MS = 5_000;

function configure(database: Sqlite.Database): Sqlite.Database {
  // First, so that even the switch to WAL below waits for a lock (processes that open a new
  // database at once race for it) rather than failing at once with "database is locked"; as
  // long as start-up writes may wait, since the process is starting too.
  database.pragma(`busy_timeout = ${STARTUP_LOCK_WAIT_MS}`);
  database.pragma('journal_mode = WAL');
  database.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  database.pragma('synchronous = FULL'); // durability: an acknowledged write survives power loss
  database.pragma('foreign_keys = ON');
  return database;
}

/**
 * BEGIN IMMEDIATE that does not wait for another process's write lock (false when it is held):
 * SQLite's busy handler would sleep in this thread, so group-commit.ts waits instead. The busy
 * timeout is `restoreMs` again afterwards.
 */
export function beginWithoutWaiting(database: Sqlite.Database, restoreMs: number): (conn: Db) => Promise<boolean> {
  return async (conn) => {
    database.pragma('busy_timeout = 0');
    try {
      await sql`BEGIN IMMEDIATE`.execute(conn);
      return true;
    } catch (error) {
      if ((error as { code?: unknown }).code === 'SQLITE_BUSY') return false;
      throw error;
    } finally {
      database.pragma(`busy_timeout = ${restoreMs}`);
    }
  };
}

export function openSqlite(path: string): Store {
  const database = openDatabase(path);
  const statement = statementCache(database);
  const db: Db = new Kysely({ dialect: new SqliteDialect({ database: { close: () => database.close(), prepare: statement } }) });
  // Prepared reads (prepared.ts) run on the connection directly unless a write transaction is open
  // on it: then they go through Kysely and wait for it, as they must not see its uncommitted rows.
  registerDirectReader(db, (_name, sqlText, parameters) => (database.inTransaction ? undefined : statement(sqlText).all(parameters)));
  let inUse = 0;
  const holding = <T>(fn: (conn: Db) => Promise<T>): Promise<T> =>
    db.connection().execute(async (conn) => {
      inUse = 1;
      try {
        return await fn(conn);
      } finally {
        inUse = 0;
      }
    });
  // The writes of concurrent requests share one transaction and one fsync (group-commit.ts).
  const grouped = createGroupCommit({
    withConnection: holding,
    inTransaction: () => database.inTransaction,
    busyTimeoutMs: BUSY_TIMEOUT_MS,
    tryBegin: beginWithoutWaiting(database, BUSY_TIMEOUT_MS),
  });

  /** A write alone in its transaction: start-up writes, which may wait longer for the lock. */
  const soloWrite = <T>(fn: (trx: Db) => Promise<T>, waitMs: number): Promise<T> =>
    holding(async (conn) => {
      database.pragma(`busy_timeout = ${waitMs}`);
      try {
        await sql`BEGIN IMMEDIATE`.execute(conn);
      } finally {
        database.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      }
      try {
        const result = await fn(conn);
        await sql`COMMIT`.execute(conn);
        return result;
      } catch (error) {
        if (database.inTransaction) await sql`ROLLBACK`.execute(conn);
        throw error;
      }
    });

  return {
    dialect: 'sqlite',
    db,
    // Kysely's SQLite driver has one connection guarded by a mutex: holding it for the whole
    // transaction keeps this process's other queries out until we commit.
    write: (fn, options = {}) =>
      options.waitForLockMs === undefined || options.waitForLockMs === BUSY_TIMEOUT_MS ? grouped.write(fn) : soloWrite(fn, options.waitForLockMs),
    // BEGIN IMMEDIATE already excludes every other writer.
    lockForMigrations: async () => undefined,
    ping: async () => {
      await sql`SELECT 1`.execute(db);
    },
    poolStats: () => ({ inUse, idle: 1 - inUse, waiting: 0 }),
    close: () => db.destroy(),
  };
}
