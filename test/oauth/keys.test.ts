// The provider's keys: made once, by whichever process starts first, and said in the log while
// it happens. A first start used to be silent for as long as the RSA key took to generate.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/kernel/clock.ts';
import { loadConfig } from '../../src/kernel/config.ts';
import { openStore } from '../../src/kernel/db/connect.ts';
import type { Store } from '../../src/kernel/db/store.ts';
import { migrateToLatest } from '../../src/kernel/db/migrate.ts';
import { loadProviderSecrets } from '../../src/oauth/keys.ts';
import { makeTempDir } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let database: TestDatabase;
const stores: Store[] = [];

beforeAll(async () => {
  database = await createTestDatabase(makeTempDir('accounts-keys-'));
});

afterAll(async () => {
  for (const store of stores) await store.close();
  await database?.drop();
});

/** A process of its own on the shared database: its own store. */
async function instance(): Promise<Parameters<typeof loadProviderSecrets>[0]> {
  const config = loadConfig({ DATABASE_URL: database.url });
  const store = openStore(config.database);
  stores.push(store);
  await migrateToLatest(store);
  return { store, clock: systemClock };
}

describe('loadProviderSecrets', () => {
  it('says in the log that it makes the signing key on a first start, and only then; every instance gets the same keys', async () => {
    const [a, b, later] = [await instance(), await instance(), await instance()];
    const said: string[][] = [[], [], []];
    const log = (i: number) => ({ info: (message: string) => said[i]!.push(message) });

    // Two instances starting at once on an empty database.
    const [first, second] = await Promise.all([loadProviderSecrets(a, log(0)), loadProviderSecrets(b, log(1))]);
    expect([...said[0]!, ...said[1]!]).toContain('making the OAuth signing key (first start only)');
    expect(second).toEqual(first);
    expect(first.jwks.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });

    // A restart finds them.
    expect(await loadProviderSecrets(later, log(2))).toEqual(first);
    expect(said[2]).toEqual([]);
  });
});
