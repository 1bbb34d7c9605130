// Personal access tokens as credentials: the verifier the sign-in core (src/auth/sign-in.ts) asks
// for a Bearer token or the password of HTTP Basic. Lookups are cached by the token's digest for a
// few seconds; a revocation empties the entry at once through the credential-change events.
import { sha256Hex } from '../kernel/crypto.ts';
import type { Deps } from '../kernel/deps.ts';
import type { AuthCache, CachedToken } from '../auth/auth-cache.ts';
import type { Principal, TokenVerifier } from '../auth/principal.ts';
import { isTokenScope } from '../auth/scopes.ts';
import { isWellFormedToken } from '../auth/token-format.ts';
import { findTokenByDigest, touchTokenLastUsed } from './tokens.repository.ts';

// last_used_at is written at most once a minute per token, so reads do not become writes.
const LAST_USED_RESOLUTION_MS = 60_000;

// What a cached row means, worked out once per row rather than once per request.
const derived = new WeakMap<CachedToken, { principal: Principal; lastUsedMs: number }>();

function derivedOf(token: CachedToken): { principal: Principal; lastUsedMs: number } {
  let known = derived.get(token);
  if (!known) {
    const scopes = new Set(token.scopes.split(' ').filter(isTokenScope));
    const principal: Principal = { userId: token.user_id, username: token.username, scopes, method: 'token', tokenId: token.id };
    known = { principal, lastUsedMs: token.last_used_at === null ? -Infinity : Date.parse(token.last_used_at) };
    derived.set(token, known);
  }
  return known;
}

/** Answers for tokens of their shape (src/auth/token-format.ts); others are not theirs to judge. */
export function personalTokenVerifier(deps: Deps, cache: AuthCache): TokenVerifier {
  return async (token) => {
    if (!isWellFormedToken(token)) return undefined;
    const digest = sha256Hex(token);
    let row = cache.getToken(digest);
    if (!row) {
      const generation = cache.generation();
      row = await findTokenByDigest(deps.store.db, digest);
      if (row) cache.setToken(digest, row, generation);
    }
    if (!row) return { reason: 'invalid_token' };
    if (row.revoked_at !== null) return { reason: 'revoked_token' };
    if (row.expires_at !== null && row.expires_at <= deps.clock.nowIso()) return { reason: 'expired_token' };
    if (row.is_active !== 1) return { reason: 'inactive' };
    const known = derivedOf(row);
    const nowMs = deps.clock.nowMs();
    if (known.lastUsedMs < nowMs - LAST_USED_RESOLUTION_MS) {
      const id = row.id;
      const now = deps.clock.nowIso();
      await deps.store.write((trx) => touchTokenLastUsed(trx, id, now), { oneStatement: true });
      // The cached copy too, so the next request does not write again.
      row.last_used_at = now;
      known.lastUsedMs = nowMs;
    }
    return known.principal;
  };
}
