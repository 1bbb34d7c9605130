// The registry token server's signing keys and certificates, kept in the database so that every
// instance signs with the same key and the registry's rootcertbundle names them all. The first key
// is made on first use (in the thread pool, by whichever process gets there first). A rotation
// (`accounts registry rotate-key`) adds a key that begins to sign later (`active_from`), so that
// the operator can put its certificate in the registry's bundle first, and retires the old one once
// no token it signed can still be valid (`retired_at`); `accounts registry certificate` prints the
// bundle: every certificate not yet retired.
import { createPrivateKey, generateKeyPair, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { formatDate } from '../kernel/clock.ts';
import type { Deps } from '../kernel/deps.ts';
import type { Db } from '../kernel/db/database.ts';
import { selfSignedCertificate } from './certificate.ts';

const generateKeyPairAsync = promisify(generateKeyPair);
/** Long: the registry's operator puts it in a file; keys are replaced by rotation, not expiry. */
const CERTIFICATE_YEARS = 10;

export type SigningKey = {
  id: number;
  privateKey: KeyObject;
  certificate: X509Certificate;
  certificatePem: string;
  /** When a rotated key takes over (epoch ms), if one is waiting: a process switches then, not later. */
  nextKeyAtMs: number | undefined;
};

async function makeKey(deps: Deps): Promise<{ privateKey: string; certificate: string }> {
  const { privateKey } = await generateKeyPairAsync('ec', { namedCurve: 'P-256' });
  const now = new Date(deps.clock.nowMs());
  const der = selfSignedCertificate(privateKey, {
    commonName: `${deps.config.serviceName} registry tokens`,
    serial: randomBytes(16),
    // An hour back: a registry whose clock is a little behind still takes it.
    notBefore: new Date(now.getTime() - 3600_000),
    notAfter: new Date(now.getTime() + CERTIFICATE_YEARS * 365 * 86_400_000),
  });
  return { privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, certificate: new X509Certificate(der).toString() };
}

/** The key that signs now: the newest one whose time has come. Made on first use. */
export async function loadSigningKey(deps: Deps): Promise<SigningKey> {
  const stored = await signingKeyAt(deps.store.db, deps.clock.nowIso());
  if (stored) return stored;
  const made = await makeKey(deps);
  await deps.store.write(async (trx) => {
    // Another process may have made one meanwhile: the first one stays the key.
    const existing = await trx.selectFrom('registry_keys').select('id').executeTakeFirst();
    const now = deps.clock.nowIso();
    if (!existing) await trx.insertInto('registry_keys').values({ private_key: made.privateKey, certificate: made.certificate, created_at: now, active_from: now, retired_at: null }).execute();
  });
  return (await signingKeyAt(deps.store.db, deps.clock.nowIso()))!;
}

async function signingKeyAt(db: Db, now: string): Promise<SigningKey | undefined> {
  const row = await db.selectFrom('registry_keys').select(['id', 'private_key', 'certificate']).where('active_from', '<=', now).orderBy('active_from', 'desc').orderBy('id', 'desc').executeTakeFirst();
  if (!row) return undefined;
  const next = await db.selectFrom('registry_keys').select('active_from').where('active_from', '>', now).orderBy('active_from').executeTakeFirst();
  return {
    id: row.id,
    privateKey: createPrivateKey(row.private_key),
    certificate: new X509Certificate(row.certificate),
    certificatePem: row.certificate,
    nextKeyAtMs: next ? Date.parse(next.active_from) : undefined,
  };
}

/** Every certificate a registry must trust now and until the next change: the keys not retired, newest first. */
export async function certificateBundle(deps: Deps): Promise<string> {
  await loadSigningKey(deps);
  const rows = await deps.store.db
    .selectFrom('registry_keys')
    .select('certificate')
    .where((eb) => eb.or([eb('retired_at', 'is', null), eb('retired_at', '>', deps.clock.nowIso())]))
    .orderBy('id', 'desc')
    .execute();
  return rows.map((r) => r.certificate.trimEnd()).join('\n') + '\n';
}

/**
 * Adds a key that signs from `activateInMs` from now; the keys before it retire once the last
 * token they can have signed by then has expired — or at once when `activateInMs` is 0 (a key that
 * leaked: its tokens are to be refused). When the new key signs and when the old retire.
 */
export async function rotateSigningKey(deps: Deps, activateInMs: number): Promise<{ activeFrom: string; retiredAt: string }> {
  await loadSigningKey(deps);
  const made = await makeKey(deps);
  const nowMs = deps.clock.nowMs();
  const activeFrom = formatDate(new Date(nowMs + activateInMs));
  const retiredAt = formatDate(new Date(activateInMs === 0 ? nowMs : nowMs + activateInMs + deps.config.registryTokenSeconds * 1000));
  await deps.store.write(async (trx) => {
    // Now: every key still in the bundle goes, those already retiring later too.
    const retiring = trx.updateTable('registry_keys').set({ retired_at: retiredAt });
    await (activateInMs === 0 ? retiring.where((eb) => eb.or([eb('retired_at', 'is', null), eb('retired_at', '>', retiredAt)])) : retiring.where('retired_at', 'is', null)).execute();
    await trx.insertInto('registry_keys').values({ private_key: made.privateKey, certificate: made.certificate, created_at: deps.clock.nowIso(), active_from: activeFrom, retired_at: null }).execute();
  });
  return { activeFrom, retiredAt };
}
