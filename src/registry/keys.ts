// The registry token server's signing key and certificate: made on first use (in the thread pool,
// like the OAuth keys, by whichever process gets there first; the others read that one) and kept in
// the database, so every instance signs with the same key and the registry's rootcertbundle holds
// one certificate.
import { createPrivateKey, generateKeyPair, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { Deps } from '../kernel/deps.ts';
import { selfSignedCertificate } from './certificate.ts';

const generateKeyPairAsync = promisify(generateKeyPair);
/** Long: the registry's operator puts it in a file once; the key is replaced by making a new one. */
const CERTIFICATE_YEARS = 10;

export type SigningKey = { privateKey: KeyObject; certificate: X509Certificate; certificatePem: string };

export async function loadSigningKey(deps: Deps): Promise<SigningKey> {
  const stored = await newestKey(deps);
  if (stored) return stored;
  const { privateKey } = await generateKeyPairAsync('ec', { namedCurve: 'P-256' });
  const now = new Date(deps.clock.nowMs());
  const der = selfSignedCertificate(privateKey, {
    commonName: `${deps.config.serviceName} registry tokens`,
    serial: randomBytes(16),
    // An hour back: a registry whose clock is a little behind still takes it.
    notBefore: new Date(now.getTime() - 3600_000),
    notAfter: new Date(now.getTime() + CERTIFICATE_YEARS * 365 * 86_400_000),
  });
  const certificatePem = new X509Certificate(der).toString();
  await deps.store.write(async (trx) => {
    // Another process may have made one meanwhile: the first one stays the key.
    const existing = await trx.selectFrom('registry_keys').select('id').executeTakeFirst();
    if (!existing) await trx.insertInto('registry_keys').values({ private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, certificate: certificatePem, created_at: deps.clock.nowIso() }).execute();
  });
  return (await newestKey(deps))!;
}

async function newestKey(deps: Deps): Promise<SigningKey | undefined> {
  const row = await deps.store.db.selectFrom('registry_keys').select(['private_key', 'certificate']).orderBy('id', 'desc').executeTakeFirst();
  if (!row) return undefined;
  return { privateKey: createPrivateKey(row.private_key), certificate: new X509Certificate(row.certificate), certificatePem: row.certificate };
}
