// OAuth access tokens as API credentials: verified against the database, then kept in the auth
// cache (src/auth/auth-cache.ts) for a few seconds, as personal access tokens are. One that
// expires is refused at its expiry (checked on every use); one revoked (RFC 7009), or whose grant
// or client ends, is forgotten at once by this process and, over Redis, by every other one (the
// 'oauth' credential change, announced by whoever ends it: announceOAuthEnded).
import { sha256Hex } from '../kernel/crypto.ts';
import type { Deps } from '../kernel/deps.ts';
import type { AuthCache } from '../auth/auth-cache.ts';
import type { Principal, TokenVerifier } from '../auth/principal.ts';
import { isScope, type Scope } from '../auth/scopes.ts';
import { isWellFormedToken } from '../auth/token-format.ts';
import { findAccessTokenRow } from './artifacts.repository.ts';
import { apiResource } from './paths.ts';

/** oidc-provider's opaque tokens: 256 bits in base64url (43 characters). */
const OPAQUE_TOKEN = /^[A-Za-z0-9_-]{43}$/;

export function looksLikeOAuthToken(token: string): boolean {
  return OPAQUE_TOKEN.test(token);
}

export type OAuthTokenOwner = { userId: number; username: string; scopes: Set<Scope>; /** epoch ms; Infinity when none */ expiresAtMs: number };
export type OAuthTokenRefusal = { reason: 'invalid_token' | 'expired_token' | 'inactive' };

type AccessTokenPayload = { aud?: string | string[]; scope?: string; exp?: number };

export async function findOAuthAccessToken(deps: Deps, token: string): Promise<OAuthTokenOwner | OAuthTokenRefusal> {
  if (!looksLikeOAuthToken(token)) return { reason: 'invalid_token' };
  const row = await findAccessTokenRow(deps.store.db, sha256Hex(token));
  // Its grant revoked (by a replay detected while this token was being issued, say): refused.
  if (!row || row.grant_alive !== 1) return { reason: 'invalid_token' };
  const payload = JSON.parse(row.payload) as AccessTokenPayload;
  const expiresAtMs = Math.min(payload.exp === undefined ? Infinity : payload.exp * 1000, row.expires_at === null ? Infinity : Date.parse(row.expires_at));
  if (expiresAtMs <= deps.clock.nowMs()) return { reason: 'expired_token' };
  // Only tokens issued for the API (RFC 8707 audience), not e.g. for the userinfo endpoint.
  const audience = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (!audience.includes(apiResource(deps.config.publicUrl))) return { reason: 'invalid_token' };
  if (row.user_id === null || row.username === null) return { reason: 'invalid_token' };
  if (row.is_active !== 1) return { reason: 'inactive' };
  const scopes = new Set((payload.scope ?? '').split(' ').filter(isScope));
  return { userId: Number(row.user_id), username: row.username, scopes, expiresAtMs };
}

/** Tells every process's cache that authorization-server access ended (after the commit). */
export function announceOAuthEnded(deps: Deps, userId = 0): void {
  deps.credentialEvents.changed({ userId, kind: 'oauth' });
}

/**
 * The authorization server's access tokens as credentials of the API, for the sign-in core: it
 * answers only for tokens of their shape that are not personal access tokens.
 */
export function oauthTokenVerifier(deps: Deps, cache: AuthCache): TokenVerifier {
  return async (token) => {
    if (isWellFormedToken(token) || !looksLikeOAuthToken(token)) return undefined;
    const digest = sha256Hex(token);
    const cached = cache.getOAuthToken(digest);
    if (cached) return cached.expiresAtMs > deps.clock.nowMs() ? cached.principal : { reason: 'expired_token' };
    const generation = cache.generation();
    const owner = await findOAuthAccessToken(deps, token);
    if ('reason' in owner) return owner;
    const principal: Principal = { userId: owner.userId, username: owner.username, scopes: owner.scopes, method: 'token' };
    cache.setOAuthToken(digest, { principal, expiresAtMs: owner.expiresAtMs }, generation);
    return principal;
  };
}
