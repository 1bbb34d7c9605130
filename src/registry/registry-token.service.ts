// Registry tokens (Distribution's token specification, spec/auth/jwt.md in its repository): a JWT signed ES256 with the service's
// registry key, whose certificate travels in the `x5c` header (Distribution 2.8 trusts a token by
// it, chained to its rootcertbundle). Claims: iss (REGISTRY_ISSUER), sub (the username; "" when
// anonymous), aud (the service, a string: 2.8 refuses an array), exp, nbf, iat, jti, access.
import { randomBytes, sign } from 'node:crypto';
import type { Deps } from '../kernel/deps.ts';
import type { Grant } from './access.ts';
import { certificateBundle, loadSigningKey, type SigningKey } from './keys.ts';

export type RegistryToken = { token: string; access_token: string; expires_in: number; issued_at: string };

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * How long a process keeps the signing key before looking again: a rotation made by the CLI is seen
 * within this, and its key is then taken up exactly at its active_from.
 */
const KEY_RECHECK_MS = 60_000;

export function createRegistryTokens(deps: Deps) {
  let key: { value: Promise<SigningKey>; until: number } | undefined;
  const signingKey = () => {
    if (!key || key.until <= deps.clock.nowMs()) {
      const value = loadSigningKey(deps);
      const entry = { value, until: deps.clock.nowMs() + KEY_RECHECK_MS };
      key = entry;
      value.then(
        (loaded) => {
          if (loaded.nextKeyAtMs !== undefined) entry.until = Math.min(entry.until, loaded.nextKeyAtMs);
        },
        () => {
          if (key === entry) key = undefined; // a failed read is tried again next time
        },
      );
    }
    return key.value;
  };

  return {
    /** The PEM certificates a registry's rootcertbundle needs (more than one during a rotation). */
    certificate(): Promise<string> {
      return certificateBundle(deps);
    },

    async issue(input: { service: string; subject: string; access: Grant[] }): Promise<RegistryToken> {
      const { privateKey, certificate } = await signingKey();
      const nowMs = deps.clock.nowMs();
      const iat = Math.floor(nowMs / 1000);
      const lifetime = deps.config.registryTokenSeconds;
      const header = { alg: 'ES256', typ: 'JWT', x5c: [certificate.raw.toString('base64')] };
      const claims = { iss: deps.config.registryIssuer, sub: input.subject, aud: input.service, exp: iat + lifetime, nbf: iat, iat, jti: randomBytes(16).toString('base64url'), access: input.access };
      const signingInput = `${base64url(header)}.${base64url(claims)}`;
      // JWS ES256 (RFC 7518 §3.4): the signature is r‖s, 64 bytes, not DER.
      const signature = sign('sha256', Buffer.from(signingInput), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
      const jwt = `${signingInput}.${signature}`;
      return { token: jwt, access_token: jwt, expires_in: lifetime, issued_at: new Date(iat * 1000).toISOString() };
    },
  };
}

export type RegistryTokens = ReturnType<typeof createRegistryTokens>;
