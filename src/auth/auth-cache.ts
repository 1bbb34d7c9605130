// Caches of what authentication looks up on every request:
// - verified Basic credentials, keyed by an HMAC of the whole credential under a secret made
//   fresh by each process (so a memory dump holds no password and keys cannot be precomputed);
// - token lookups, by the token's digest;
// - username → user for the path, which never changes (usernames are never renamed or reused).
// Credential entries live AUTH_CACHE_TTL_MS (3 s): a password change, deactivation or revocation
// made anywhere — another instance, the CLI — is seen within that time even with no message at
// all; changes announced through `invalidateUser`/`invalidateToken` (locally, or over Redis from
// other processes) are seen at once. Failures are never cached.
import { createHmac, createSecretKey, randomBytes } from 'node:crypto';
import type { TokenWithOwner } from '../tokens/tokens.repository.ts';
import type { User } from '../users/users.repository.ts';
import type { Principal } from './authenticate.ts';
import { createTtlCache } from './ttl-cache.ts';

export const AUTH_CACHE_TTL_MS = 3_000;

export type AuthCache = {
  getPassword(username: string, password: string): Principal | undefined;
  setPassword(username: string, password: string, principal: Principal): void;
  getToken(digest: string): TokenWithOwner | undefined;
  setToken(digest: string, token: TokenWithOwner): void;
  getUser(username: string): User | undefined;
  setUser(user: User): void;
  /** Forget every credential of this user (password changed, account (de)activated). */
  invalidateUser(userId: number): void;
  /** Forget one token (revoked). */
  invalidateToken(tokenId: number): void;
};

export function createAuthCache(options: { ttlMs?: number; now?: () => number } = {}): AuthCache {
  // A KeyObject made once: createHmac would otherwise import the raw key on every call.
  const secret = createSecretKey(randomBytes(32));
  const ttlMs = options.ttlMs ?? AUTH_CACHE_TTL_MS;
  const now = options.now ?? Date.now;
  const passwords = createTtlCache<string, Principal>({ maxEntries: 10_000, ttlMs, now });
  const tokens = createTtlCache<string, TokenWithOwner>({ maxEntries: 50_000, ttlMs, now });
  // Immutable facts: kept until pushed out. is_active is not read from these entries.
  const users = createTtlCache<string, User>({ maxEntries: 100_000, ttlMs: Number.MAX_SAFE_INTEGER, now });
  const credentialKey = (username: string, password: string) =>
    createHmac('sha256', secret).update(username.toLowerCase()).update('\0').update(password).digest('base64');

  return {
    getPassword: (username, password) => passwords.get(credentialKey(username, password)),
    setPassword: (username, password, principal) => passwords.set(credentialKey(username, password), principal),
    getToken: (digest) => tokens.get(digest),
    setToken: (digest, token) => tokens.set(digest, token),
    getUser: (username) => users.get(username),
    setUser: (user) => users.set(user.username, user),
    invalidateUser(userId) {
      passwords.deleteWhere((p) => p.userId === userId);
      tokens.deleteWhere((t) => t.user_id === userId);
    },
    invalidateToken(tokenId) {
      tokens.deleteWhere((t) => t.id === tokenId);
    },
  };
}
