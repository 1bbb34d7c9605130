// Who is calling: HTTP Basic (RFC 7617) with a password or a token, or Bearer (RFC 6750) with a
// personal access token or an OAuth access token. Every failure is the same 401, whatever went wrong (docs/reference/api.md).
import { sha256Hex } from '../kernel/crypto.ts';
import { ApiError } from '../kernel/errors.ts';
import type { Deps } from '../kernel/deps.ts';
import { findUserByUsername, replacePasswordHash } from '../users/users.repository.ts';
import { SCOPES, isScope, type Scope } from './scopes.ts';
import { isWellFormedToken } from './token-format.ts';
import { findTokenByDigest, touchTokenLastUsed, type TokenWithOwner } from '../tokens/tokens.repository.ts';
import { hashPassword, needsRehash, verifyPassword } from './passwords.ts';
import type { Attempt, LoginThrottle } from './login-throttle.ts';
import { recordAuditEvent } from '../audit/audit.service.ts';
import { findOAuthAccessToken, looksLikeOAuthToken } from '../oauth/access-tokens.ts';

export type Principal = {
  userId: number;
  username: string;
  scopes: ReadonlySet<Scope>;
  method: 'password' | 'token';
  /** Answered from the cache of verified credentials, without checking the password again. */
  cached?: boolean;
};

export const REALM = 'accounts';

/** Why an authentication failed: for logs and metrics, never for the client. */
export type AuthFailureReason =
  | 'missing'
  | 'malformed'
  | 'unknown_user'
  | 'bad_password'
  | 'no_password'
  | 'inactive'
  | 'invalid_token'
  | 'expired_token'
  | 'revoked_token'
  | 'token_user_mismatch';

/** RFC 7617 §2 and RFC 6750 §3: both schemes are offered on every 401. */
export function challenges(invalidBearer: boolean): string[] {
  return [`Basic realm="${REALM}", charset="UTF-8"`, invalidBearer ? `Bearer realm="${REALM}", error="invalid_token"` : `Bearer realm="${REALM}"`];
}

function unauthenticated(reason: AuthFailureReason, invalidBearer = false): ApiError {
  return new ApiError('not_authenticated', { headers: { 'www-authenticate': challenges(invalidBearer) }, internal: reason });
}

// last_used_at is written at most once a minute per token, so reads do not become writes.
const LAST_USED_RESOLUTION_MS = 60_000;

type Credentials = { scheme: 'basic'; username: string; secret: string } | { scheme: 'bearer'; token: string };

/** Parses an Authorization header; undefined when it is absent or malformed. */
export function parseAuthorization(header: string | undefined): Credentials | undefined {
  if (!header) return undefined;
  const match = /^([A-Za-z]+)(?: +(.*))?$/s.exec(header);
  if (!match) return undefined;
  const scheme = match[1]!.toLowerCase(); // auth-scheme is case-insensitive (RFC 9110 §11.1)
  const value = (match[2] ?? '').trim();
  // Any Bearer value counts as a token sent; a malformed one is then rejected as invalid_token.
  if (scheme === 'bearer') return { scheme: 'bearer', token: value };
  if (scheme !== 'basic' || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return undefined;
  let decoded: string;
  try {
    decoded = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(value, 'base64'));
  } catch {
    return undefined;
  }
  const colon = decoded.indexOf(':'); // the user-id ends at the first colon; passwords may hold colons
  if (colon < 0) return undefined;
  return { scheme: 'basic', username: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

/**
 * Who the credentials belong to, or a 401 (ApiError not_authenticated) whose `internal` says
 * why, for logs and metrics; the response is the same whatever the reason.
 */
export async function authenticate(deps: Deps, header: string | undefined): Promise<Principal> {
  if (!header) throw unauthenticated('missing');
  const credentials = parseAuthorization(header);
  if (!credentials) throw unauthenticated('malformed');
  if (credentials.scheme === 'bearer') {
    if (!isWellFormedToken(credentials.token) && looksLikeOAuthToken(credentials.token)) {
      // An access token issued by the authorization server (src/oauth/), with exactly its scopes.
      const owner = await findOAuthAccessToken(deps, credentials.token);
      if ('reason' in owner) throw unauthenticated(owner.reason, true);
      return { userId: owner.userId, username: owner.username, scopes: owner.scopes, method: 'token' };
    }
    const token = await findUsableToken(deps, credentials.token);
    if ('reason' in token) throw unauthenticated(token.reason, true);
    return principalFromToken(token);
  }
  const username = credentials.username.toLowerCase();
  if (isWellFormedToken(credentials.secret)) {
    // Basic with a token as the password: only that user's token, with only its scopes.
    const token = await findUsableToken(deps, credentials.secret);
    if ('reason' in token) throw unauthenticated(token.reason);
    if (token.username !== username) throw unauthenticated('token_user_mismatch');
    return principalFromToken(token);
  }
  const cached = deps.authCache?.getPassword(username, credentials.secret);
  if (cached) return { ...cached, cached: true };
  const user = await findUserByUsername(deps.store.db, username);
  // Always verify, against a dummy hash when there is no user, so timing tells nothing.
  const ok = await verifyPassword(user?.password_hash, credentials.secret);
  if (!user) throw unauthenticated('unknown_user');
  if (user.password_hash === null) throw unauthenticated('no_password');
  if (!ok) throw unauthenticated('bad_password');
  if (user.is_active !== 1) throw unauthenticated('inactive');
  if (needsRehash(user.password_hash)) {
    // The hashing parameters were raised since this hash was made: upgrade it now that we
    // have the password (OWASP Password Storage Cheat Sheet, "Upgrading legacy hashes").
    const previous = user.password_hash;
    const upgraded = await hashPassword(credentials.secret);
    await deps.store.write((trx) => replacePasswordHash(trx, user.id, previous, upgraded));
  }
  const principal: Principal = { userId: user.id, username: user.username, scopes: new Set(SCOPES), method: 'password' };
  deps.authCache?.setPassword(username, credentials.secret, principal);
  return principal;
}

/**
 * What the brute-force counters key on: the account only when a password is being tried;
 * undefined when nothing that could be guessed was sent (no header, or one that is not a
 * credential at all).
 */
export function attemptOf(header: string | undefined, ip: string): Attempt | undefined {
  const credentials = parseAuthorization(header);
  if (!credentials) return undefined;
  const passwordTry = credentials.scheme === 'basic' && !isWellFormedToken(credentials.secret);
  return { ip, username: passwordTry ? credentials.username : undefined };
}

/**
 * The label a failure is counted under in metrics, which anyone who can reach /metrics reads:
 * every "these credentials are wrong" reason is one label, or the counters would tell whether
 * a username exists (or is deactivated). Logs and the audit trail keep the precise reason.
 */
export function publicFailureReason(reason: string | undefined): string {
  switch (reason) {
    case 'unknown_user':
    case 'bad_password':
    case 'no_password':
    case 'inactive':
    case 'token_user_mismatch':
      return 'bad_credentials';
    case undefined:
      return 'unknown';
    default:
      return reason;
  }
}

/** authenticate(), behind the brute-force limits: a 429 before anything is checked when over them. */
export async function authenticateThrottled(deps: Deps, throttle: LoginThrottle, header: string | undefined, ip: string): Promise<Principal> {
  const attempt = attemptOf(header, ip);
  // Only wrong credentials spend the per-IP budget. A request without any (a client waiting for
  // the challenge, as curl --anyauth does; an <img> on another site) is a plain 401: counting it
  // would let anyone lock out everyone behind one address, valid tokens included.
  if (!attempt) return authenticate(deps, header);
  await throttle.check(attempt);
  try {
    const principal = await authenticate(deps, header);
    // A cache hit is a success already counted: no need to reset the counters on every request.
    if (!principal.cached) await throttle.succeeded(attempt);
    return principal;
  } catch (error) {
    if (error instanceof ApiError && error.code === 'not_authenticated') {
      const wait = await throttle.failed(attempt);
      // Password attempts are audited under the name tried; a throttle is audited when it
      // engages (not on every 429 after, which would let an attacker write without limit).
      if (attempt.username !== undefined) {
        const base = { actor: 'self' as const, clientIp: ip, userId: null, username: attempt.username };
        await recordAuditEvent(deps, { ...base, event: 'login_failed', outcome: 'failure', detail: { reason: error.internal ?? 'unknown' } });
        if (wait > 0) await recordAuditEvent(deps, { ...base, event: 'login_throttled', outcome: 'denied', detail: { wait_seconds: wait } });
      }
    }
    throw error;
  }
}

async function findUsableToken(deps: Deps, token: string): Promise<TokenWithOwner | { reason: AuthFailureReason }> {
  if (!isWellFormedToken(token)) return { reason: 'invalid_token' }; // refused without a database lookup
  const digest = sha256Hex(token);
  let row = deps.authCache?.getToken(digest);
  if (!row) {
    row = await findTokenByDigest(deps.store.db, digest);
    if (row) deps.authCache?.setToken(digest, row);
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
  return row;
}

function principalFromToken(token: TokenWithOwner): Principal {
  const scopes = new Set(token.scopes.split(' ').filter(isScope));
  return { userId: token.user_id, username: token.username, scopes, method: 'token' };
}
