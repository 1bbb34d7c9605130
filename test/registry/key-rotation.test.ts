// `accounts registry rotate-key`: the new key's certificate is in the bundle before the key signs;
// the old key signs until the new one's time has come, in a running server too (no restart); the
// old certificate leaves the bundle once no token it signed can still be valid. Both stores.
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatMicros, type Clock } from '../../src/kernel/clock.ts';
import { createRegistryTokens } from '../../src/registry/registry-token.service.ts';
import { buildTestApp, type TestApp } from '../support/app.ts';
import { runCliInProcess } from '../support/cli-in-process.ts';

let offsetMs = 0;
const clock: Clock = { nowMs: () => Date.now() + offsetMs, nowIso: () => formatMicros((Date.now() + offsetMs) * 1000) };
const TOKEN_SECONDS = 300;
let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({ clock, env: { REGISTRY_SERVICES: 'registry.example', REGISTRY_TOKEN_SECONDS: String(TOKEN_SECONDS) } });
});
afterAll(() => t?.close());

const certificatesIn = (bundle: string) => bundle.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g)!.map((pem) => new X509Certificate(pem).fingerprint256);
const signer = async (tokens: ReturnType<typeof createRegistryTokens>) => {
  const { token } = await tokens.issue({ service: 'registry.example', subject: '', access: [] });
  const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { x5c: string[] };
  return new X509Certificate(Buffer.from(header.x5c[0]!, 'base64')).fingerprint256;
};

describe('accounts registry rotate-key', () => {
  it('adds a key that signs from --activate-in on; the old certificate stays in the bundle until its tokens have expired', async () => {
    const tokens = createRegistryTokens(t.deps); // as a running server holds it
    const env = { DATABASE_URL: t.config.databaseUrl, PUBLIC_URL: t.config.publicUrl, REGISTRY_SERVICES: 'registry.example', REGISTRY_TOKEN_SECONDS: String(TOKEN_SECONDS) };
    const first = await runCliInProcess(['registry', 'certificate'], { env });
    expect(first.code, first.stderr).toBe(0);
    const [oldKey] = certificatesIn(first.stdout);
    expect(certificatesIn(first.stdout)).toHaveLength(1);
    expect(await signer(tokens)).toBe(oldKey);

    const rotated = await runCliInProcess(['registry', 'rotate-key', '--activate-in', '1h'], { env });
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stderr).toContain('Made a new registry signing key');
    const during = await runCliInProcess(['registry', 'certificate'], { env });
    const bundle = certificatesIn(during.stdout);
    expect(bundle).toHaveLength(2);
    expect(bundle[1]).toBe(oldKey);
    const newKey = bundle[0];

    // Before --activate-in: the old key still signs, for the server that had it and for a new one.
    offsetMs = 59 * 60_000;
    expect(await signer(tokens)).toBe(oldKey);
    expect(await signer(createRegistryTokens(t.deps))).toBe(oldKey);
    // After: the new key, at once (the running server knew when it would take over).
    offsetMs = 60 * 60_000 + 1000;
    expect(await signer(tokens)).toBe(newKey);
    expect(certificatesIn(await tokens.certificate())).toEqual([newKey, oldKey]);
    // Once the last token the old key signed has expired, the bundle holds the new one only.
    offsetMs = 60 * 60_000 + TOKEN_SECONDS * 1000 + 1000;
    expect(certificatesIn(await tokens.certificate())).toEqual([newKey]);
    expect(await signer(tokens)).toBe(newKey);
    offsetMs = 0;
  });

  it('--activate-in now (a key that leaked): the new key signs at once and the old certificates leave the bundle', async () => {
    const env = { DATABASE_URL: t.config.databaseUrl, PUBLIC_URL: t.config.publicUrl };
    const now = await runCliInProcess(['registry', 'rotate-key', '--activate-in', 'now'], { env });
    expect(now.code, now.stderr).toBe(0);
    const bundle = certificatesIn((await runCliInProcess(['registry', 'certificate'], { env })).stdout);
    expect(bundle).toHaveLength(1);
    expect(await signer(createRegistryTokens(t.deps))).toBe(bundle[0]);
  });

  it('refuses a duration it cannot read, and changes nothing', async () => {
    const env = { DATABASE_URL: t.config.databaseUrl, PUBLIC_URL: t.config.publicUrl };
    const before = await t.store.db.selectFrom('registry_keys').select('id').execute();
    const bad = await runCliInProcess(['registry', 'rotate-key', '--activate-in', 'soon'], { env });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/duration/i);
    expect(await t.store.db.selectFrom('registry_keys').select('id').execute()).toEqual(before);
  });
});
