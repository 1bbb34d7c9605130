// Global setup of the PostgreSQL test project: PostgreSQL must be there (it runs on every machine
// of this project, CI's included; .ci/run starts it if it is down). A run that cannot reach it
// fails: quietly testing one database only would hide a broken one.
import { randomBytes } from 'node:crypto';
import { POSTGRES_ADMIN_URL, withAdminClient } from './database.ts';

export async function setup(): Promise<void> {
  process.env.ACCOUNTS_TEST_RUN = `accounts_test_${randomBytes(3).toString('hex')}`;
  try {
    await withAdminClient((client) => client.query('SELECT 1'));
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable at ${POSTGRES_ADMIN_URL} (${(error as Error).message}). ` +
        'Start it (pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) or set TEST_POSTGRES_URL.',
      { cause: error },
    );
  }
}

/** Drops what this run's test files left behind (a file that crashed before its afterAll). */
export async function teardown(): Promise<void> {
  const prefix = process.env.ACCOUNTS_TEST_RUN;
  if (!prefix) return;
  await withAdminClient(async (client) => {
    const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${prefix}\\_%`]);
    for (const { datname } of rows) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  });
}
