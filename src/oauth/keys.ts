// Secrets the provider needs that every instance must share and that must outlive restarts: the
// key that signs ID tokens (RS256) and the keys that sign its cookies. Made by the first process
// that needs them and stored in the database (insert-if-absent, so concurrent first starts agree).
import { generateKeyPair, randomBytes, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import type { JWK } from 'oidc-provider';
import type { Deps } from '../kernel/deps.ts';
import { STARTUP_LOCK_WAIT_MS } from '../kernel/db/store.ts';

const generateKeyPairAsync = promisify(generateKeyPair);

/** All the keys need: the cluster's primary has no more than this. */
type KeyDeps = Pick<Deps, 'store' | 'clock'>;

const SIGNING_KEY = 'oidc_signing_key';
const COOKIE_KEY = 'oidc_cookie_key';

async function loadOrCreate(deps: KeyDeps, name: string, make: () => Promise<string>): Promise<string> {
  const found = await deps.store.db.selectFrom('oauth_secrets').select('value').where('name', '=', name).executeTakeFirst();
  if (found) return found.value;
  // Made before the write transaction: an RSA key takes a while to generate, and the write lock
  // must not be held meanwhile (other processes starting on the same SQLite file wait for it).
  const value = await make();
  await deps.store.write((trx) =>
    trx
      .insertInto('oauth_secrets')
      .values({ name, value, created_at: deps.clock.nowIso() })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute(),
    { waitForLockMs: STARTUP_LOCK_WAIT_MS },
  );
  const stored = await deps.store.db.selectFrom('oauth_secrets').select('value').where('name', '=', name).executeTakeFirstOrThrow();
  return stored.value;
}

export type ProviderSecrets = { jwks: { keys: JWK[] }; cookieKeys: string[] };

/**
 * The keys, made on the first start. RS256 stays the ID tokens' algorithm: OpenID Connect makes
 * it the one every provider must offer and the default a client gets. An RSA key takes from a
 * tenth of a second to seconds (small machines) to generate: the log says so, and it is made in
 * libuv's thread pool, so the caller can set up the rest of the server meanwhile.
 */
export async function loadProviderSecrets(deps: KeyDeps, log?: { info(message: string): void }): Promise<ProviderSecrets> {
  const jwk = await loadOrCreate(deps, SIGNING_KEY, async () => {
    log?.info('making the OAuth signing key (first start only)');
    const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048 });
    return JSON.stringify({ ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' });
  });
  const cookieKey = await loadOrCreate(deps, COOKIE_KEY, async () => randomBytes(32).toString('base64url'));
  return { jwks: { keys: [JSON.parse(jwk) as JWK] }, cookieKeys: [cookieKey] };
}
