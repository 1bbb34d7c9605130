// The store seam: everything above this folder sees a Kysely handle and `write()`, never a driver.
// SQLite (embedded, the default) and PostgreSQL (production, many instances) live behind it
// (sqlite.ts, postgres.ts; connect.ts picks one).
import type { DatabaseConfig } from '../config.ts';
import type { Db } from './database.ts';

export type Dialect = DatabaseConfig['dialect'];

export type WriteOptions = {
  /**
   * SQLite: how long to wait for another process's write lock (5 s by default). Writes made while
   * a process starts (migrations, shared secrets) wait longer: several processes starting at once
   * on a busy machine queue behind each other's migrations, and nothing is being served yet.
   */
  waitForLockMs?: number;
  /**
   * `fn` runs exactly one statement: PostgreSQL then runs it on its own (autocommit, atomic by
   * itself) rather than between BEGIN and COMMIT, one round trip instead of three. SQLite groups
   * it with the other writes as any write.
   */
  oneStatement?: boolean;
};

/** What start-up writes wait for the write lock, at most. */
export const STARTUP_LOCK_WAIT_MS = 60_000;

export type PoolStats = { inUse: number; idle: number; waiting: number };

export type Store = {
  readonly dialect: Dialect;
  /** For reads. */
  readonly db: Db;
  /**
   * Runs `fn` as one write: all of it commits or none of it does, and the promise resolves only
   * once it is committed. SQLite: concurrent writes share a transaction (BEGIN IMMEDIATE, taking
   * the write lock up front so that writers in other processes wait (busy_timeout) instead of
   * failing on a lock upgrade), each in its own savepoint, and one COMMIT (group-commit.ts).
   * PostgreSQL: a transaction of its own, READ COMMITTED; the invariants are held by constraints
   * and row locks, not by what a transaction read (the server groups commits itself).
   */
  write<T>(fn: (trx: Db) => Promise<T>, options?: WriteOptions): Promise<T>;
  /** Serialises migrations across processes; call first inside `write`. */
  lockForMigrations(trx: Db): Promise<void>;
  /** Cheap round trip, for readiness checks. */
  ping(): Promise<void>;
  poolStats(): PoolStats;
  close(): Promise<void>;
};

/** Database constraint failures, told apart without leaking the driver's message. */
export type ConstraintKind = 'unique' | 'check' | 'trigger' | 'foreign_key';

const CONSTRAINT_CODES: Record<string, ConstraintKind> = {
  // SQLite extended result codes
  SQLITE_CONSTRAINT_UNIQUE: 'unique',
  SQLITE_CONSTRAINT_PRIMARYKEY: 'unique',
  SQLITE_CONSTRAINT_CHECK: 'check',
  SQLITE_CONSTRAINT_TRIGGER: 'trigger',
  SQLITE_CONSTRAINT_FOREIGNKEY: 'foreign_key',
  // PostgreSQL SQLSTATEs (Appendix A); P0001 is RAISE EXCEPTION in our triggers
  '23505': 'unique',
  '23514': 'check',
  '23503': 'foreign_key',
  P0001: 'trigger',
};

export function constraintViolation(error: unknown): { kind: ConstraintKind; message: string } | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  const kind = typeof code === 'string' ? CONSTRAINT_CODES[code] : undefined;
  return kind ? { kind, message: error.message } : undefined;
}
