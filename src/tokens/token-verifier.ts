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

function principalOf(token: CachedToken): Principal {
  const scopes = new Set(token.scopes.split(' ').filter(isTokenScope));
  return { userId: token.user_id, username: token.username, scopes, method: 'token', tokenId: token.id };
}

/** Answers for tokens of their shape (src/auth/token-format.ts); others are not theirs to judge. */
export function personalTokenVerifier(deps: Deps, cache: AuthCache): TokenVerifier {
  return async (token) => {
    if (!isWellFormedToken(token)) return undefined;
    const digest = sha256Hex(token);
    let row = cache.getToken(digest);
    if (!row) {
      row = await findTokenByDigest(deps.store.db, digest);
      if (row) cache.setToken(digest, row);
    }
    const now = deps.clock.nowIso();
    if (!row) return { reason: 'invalid_token' };
    if (row.revoked_at !== null) return { reason: 'revoked_token' };
    if (row.expires_at !== null && row.expires_at <= now) return { reason: 'expired_token' };
    if (row.is_active !== 1) return { reason: 'inactive' };
    if (row.last_used_at === null || Date.parse(row.last_used_at) < deps.clock.nowMs() - LAST_USED_RESOLUTION_MS) {
      const id = row.id;
      await deps.store.write((trx) => touchTokenLastUsed(trx, id, now));
      row.last_used_at = now; // the cached copy too, so the next request does not write again
    }
    return principalOf(row);
  };
}
