// One database per test file, of the dialect this test project runs on (vitest.config.ts runs
// the suite once on SQLite and once on PostgreSQL). PostgreSQL databases are named after the run
// (set by test/support/postgres-setup.ts) so that concurrent runs never touch each other's.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';

export type TestDialect = 'sqlite' | 'postgres';
export const TEST_DIALECT: TestDialect = process.env.TEST_DATABASE === 'postgres' ? 'postgres' : 'sqlite';

/** The server that test databases are created on; trust auth on this project's machines. */
export const POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function testRunPrefix(): string {
  return process.env.ACCOUNTS_TEST_RUN ?? `accounts_test_${process.pid}`;
}

export type TestDatabase = { dialect: TestDialect; url: string; drop(): Promise<void> };

export function postgresUrl(database: string): string {
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function withAdminClient<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fresh, empty database: a file in `dir` for SQLite, a new database for PostgreSQL. */
export async function createTestDatabase(dir: string, dialect: TestDialect = TEST_DIALECT): Promise<TestDatabase> {
  if (dialect === 'sqlite') return { dialect, url: `sqlite:${join(dir, 'accounts.db')}`, drop: async () => undefined };
  const name = `${testRunPrefix()}_${randomBytes(5).toString('hex')}`;
  await withAdminClient((client) => client.query(`CREATE DATABASE "${name}"`));
  return {
    dialect,
    url: postgresUrl(name),
    drop: () => withAdminClient((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}
