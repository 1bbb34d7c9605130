// Who is calling: HTTP Basic (RFC 7617) with a password or a token, or Bearer (RFC 6750) with a
// token. Every failure is the same 401, whatever went wrong (../shared/spec/accounts-api.md).
import { ApiError } from '../errors.ts';
import type { Deps } from '../deps.ts';
import { findUserByUsername } from '../users/users.repository.ts';
import { SCOPES, isScope, type Scope } from '../tokens/scopes.ts';
import { isWellFormedToken, tokenDigest } from '../tokens/token-format.ts';
import { findTokenByDigest, touchTokenLastUsed, type TokenWithOwner } from '../tokens/tokens.repository.ts';
import { verifyPassword } from './passwords.ts';

export type Principal = {
  userId: number;
  username: string;
  scopes: ReadonlySet<Scope>;
  method: 'password' | 'token';
};

export const REALM = 'accounts';

/** RFC 7617 §2 and RFC 6750 §3: both schemes are offered on every 401. */
export function challenges(invalidBearer: boolean): string[] {
  return [`Basic realm="${REALM}", charset="UTF-8"`, invalidBearer ? `Bearer realm="${REALM}", error="invalid_token"` : `Bearer realm="${REALM}"`];
}

function unauthenticated(invalidBearer = false): ApiError {
  return new ApiError('not_authenticated', { headers: { 'www-authenticate': challenges(invalidBearer) } });
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

export async function authenticate(deps: Deps, header: string | undefined): Promise<Principal> {
  const credentials = parseAuthorization(header);
  if (!credentials) throw unauthenticated(false);
  if (credentials.scheme === 'bearer') {
    const token = await findUsableToken(deps, credentials.token);
    if (!token) throw unauthenticated(true);
    return principalFromToken(token);
  }
  const username = credentials.username.toLowerCase();
  if (isWellFormedToken(credentials.secret)) {
    // Basic with a token as the password: only that user's token, with only its scopes.
    const token = await findUsableToken(deps, credentials.secret);
    if (!token || token.username !== username) throw unauthenticated(false);
    return principalFromToken(token);
  }
  const user = await findUserByUsername(deps.store.db, username);
  // Always verify, against a dummy hash when there is no user, so timing tells nothing.
  const ok = await verifyPassword(user?.password_hash, credentials.secret);
  if (!ok || !user || user.is_active !== 1) throw unauthenticated(false);
  return { userId: user.id, username: user.username, scopes: new Set(SCOPES), method: 'password' };
}

async function findUsableToken(deps: Deps, token: string): Promise<TokenWithOwner | undefined> {
  if (!isWellFormedToken(token)) return undefined; // refused without a database lookup
  const row = await findTokenByDigest(deps.store.db, tokenDigest(token));
  const now = deps.clock.nowIso();
  if (!row || row.revoked_at !== null || row.is_active !== 1) return undefined;
  if (row.expires_at !== null && row.expires_at <= now) return undefined;
  if (row.last_used_at === null || Date.parse(row.last_used_at) < deps.clock.nowMs() - LAST_USED_RESOLUTION_MS) {
    await deps.store.write((trx) => touchTokenLastUsed(trx, row.id, now));
  }
  return row;
}

function principalFromToken(token: TokenWithOwner): Principal {
  const scopes = new Set(token.scopes.split(' ').filter(isScope));
  return { userId: token.user_id, username: token.username, scopes, method: 'token' };
}
