// The Authorization header: HTTP Basic (RFC 7617) and Bearer (RFC 6750).
import type { Attempt } from './login-throttle.ts';
import { isWellFormedToken } from './token-format.ts';

export const REALM = 'accounts';

/** RFC 7617 §2 and RFC 6750 §3: both schemes are offered on every 401. */
export function challenges(invalidBearer: boolean): string[] {
  return [`Basic realm="${REALM}", charset="UTF-8"`, invalidBearer ? `Bearer realm="${REALM}", error="invalid_token"` : `Bearer realm="${REALM}"`];
}

export type Credentials = { scheme: 'basic'; username: string; secret: string } | { scheme: 'bearer'; token: string };

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

/** With Basic, a secret shaped like a personal access token is a token, anything else a password. */
export function isPasswordTry(credentials: Credentials): boolean {
  return credentials.scheme === 'basic' && !isWellFormedToken(credentials.secret);
}

/**
 * What the brute-force counters key on: the account only when a password is being tried;
 * undefined when nothing that could be guessed was sent (no header, or one that is not a
 * credential at all).
 */
export function attemptOf(credentials: Credentials | undefined, ip: string): Attempt | undefined {
  if (!credentials) return undefined;
  return { ip, username: credentials.scheme === 'basic' && isPasswordTry(credentials) ? credentials.username : undefined };
}
