// PostgreSQL through pg's pool. TLS follows the connection string's `sslmode`.
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Store } from './store.ts';
import type { Db } from './database.ts';
import { registerDirectReader } from './prepared.ts';

// BIGINT ids and counts arrive as strings by default; every one of ours is far below 2^53.
const INT8_OID = 20;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

// Any constant serves; it only has to be the same in every instance.
const MIGRATION_LOCK_KEY = 0x61636374; // "acct"

export function openPostgres(config: { url: string; poolSize: number; statementTimeoutMs: number }): Store {
  const pool = new pg.Pool({
    connectionString: config.url,
    max: config.poolSize,
    types,
    ...(config.statementTimeoutMs > 0 ? { statement_timeout: config.statementTimeoutMs } : {}),
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    application_name: 'accounts',
  });
  // An idle client that loses its connection emits here; without a listener it would crash the process.
  pool.on('error', () => undefined);
  const db: Db = new Kysely({ dialect: new PostgresDialect({ pool }) });
  // Prepared reads (prepared.ts) as named statements: parsed and planned once per connection.
  registerDirectReader(db, async (name, text, values) => (await pool.query({ name, text, values: values as unknown[] })).rows);

  return {
    dialect: 'postgres',
    db,
    write: (fn, options = {}) => (options.oneStatement ? fn(db) : db.transaction().execute(fn)),
    lockForMigrations: async (trx) => {
      await sql`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`.execute(trx);
    },
    ping: async () => {
      await sql`SELECT 1`.execute(db);
    },
    poolStats: () => ({ inUse: pool.totalCount - pool.idleCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    close: () => db.destroy(),
  };
}
