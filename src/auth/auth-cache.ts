// Caches of what authentication looks up on every request:
// - verified Basic credentials, keyed by an HMAC of the whole credential under a secret made
//   fresh by each process (so a memory dump holds no password and keys cannot be precomputed);
// - token lookups, by the token's digest: personal access tokens, and the authorization server's
//   access tokens once verified (with the moment they expire, checked on every use);
// - username → account for the path (usernames are never renamed or reused, but an account can be
//   deleted: the entry goes with the user's credentials, and expires like them).
// Entries live AUTH_CACHE_TTL_MS (3 s): a password change, deactivation, revocation or deletion
// made anywhere — another instance, the CLI — is seen within that time even with no message at
// all; changes announced through `invalidateUser`/`invalidateToken` (locally, or over Redis from
// other processes) are seen at once. Failures are never cached.
// A verified password is the exception, as re-hashing it every 3 s is the dearest thing a
// request can do: its entry stays (up to PASSWORD_ENTRY_IDLE_MS unused) with the hash it was
// verified against, and once 3 s old is `fresh: false`: the sign-in core then re-reads the
// account (one cheap query) and, if the stored hash, the account's state and its address are as
// they were, renews the entry without hashing (src/auth/sign-in.ts). The promise is the same.
import { createHmac, createSecretKey, randomBytes } from 'node:crypto';
import type { AccountRef, Principal } from './principal.ts';
import { createTtlCache } from './ttl-cache.ts';

export const AUTH_CACHE_TTL_MS = 3_000;
/** A verified password not used for this long is forgotten (and hashed again when next used). */
export const PASSWORD_ENTRY_IDLE_MS = 10 * 60_000;

/** A password verified against `passwordHash`; `fresh` while that was less than AUTH_CACHE_TTL_MS ago. */
export type CachedPassword = {
  principal: Principal;
  passwordHash: string;
  fresh: boolean;
  /** Fresh, and the API's second-factor rule let it through (the account has none): no need to ask again. */
  allowedOnApi: boolean;
};

/** A personal access token and its owner, as looked up by its digest (src/tokens fills it). */
export type CachedToken = {
  id: number;
  user_id: number;
  username: string;
  scopes: string;
  revoked_at: string | null;
  expires_at: string | null;
  last_used_at: string | null;
  is_active: number;
};

/** An OAuth access token verified against the database (src/oauth fills it). */
export type CachedOAuthToken = { principal: Principal; /** The token's own expiry, epoch ms. */ expiresAtMs: number };

export type AuthCache = {
  getPassword(username: string, password: string): CachedPassword | undefined;
  /**
   * The API's second-factor rule let this password through: remembered while its entry is fresh
   * (a second factor turned on is announced: the entry goes). Kept only if nothing was
   * invalidated since `generation` (read before the rule was asked).
   */
  allowPasswordOnApi(username: string, password: string, generation: number): void;
  /**
   * The password was verified against `passwordHash` (or that hash was found unchanged) just now.
   * Like setOAuthToken: kept only if nothing was invalidated since `generation`.
   */
  setPassword(username: string, password: string, principal: Principal, passwordHash: string, generation: number): void;
  /**
   * Runs `check` once for all the concurrent callers with the same credentials (single flight):
   * when a cached password expires, the requests in flight for it share one hash verification
   * instead of each running its own (and queueing for the hashing slots). Results are not kept
   * beyond the flight; success or failure, every caller gets the same one.
   */
  sharePasswordCheck(username: string, password: string, check: () => Promise<Principal>): Promise<Principal>;
  getToken(digest: string): CachedToken | undefined;
  /** Like setOAuthToken: kept only if nothing was invalidated since `generation`. */
  setToken(digest: string, token: CachedToken, generation: number): void;
  getOAuthToken(digest: string): CachedOAuthToken | undefined;
  /**
   * Kept only if nothing was invalidated since `generation` (read before the lookup began): a
   * lookup that raced a revocation must not put back what the revocation took out.
   */
  setOAuthToken(digest: string, token: CachedOAuthToken, generation: number): void;
  /** Changes on every invalidation; read it before a lookup whose result is to be kept. */
  generation(): number;
  getAccount(username: string): AccountRef | undefined;
  setAccount(account: AccountRef): void;
  /** Forget every credential of this user (password changed, account (de)activated or deleted), and its path entry. */
  invalidateUser(userId: number): void;
  /** Forget one token (revoked). */
  invalidateToken(tokenId: number): void;
  /** Forget every OAuth access token (a grant, token or client ended: rare, so all of them). */
  invalidateOAuthTokens(): void;
};

export function createAuthCache(options: { ttlMs?: number; now?: () => number } = {}): AuthCache {
  // A KeyObject made once: createHmac would otherwise import the raw key on every call.
  const secret = createSecretKey(randomBytes(32));
  const ttlMs = options.ttlMs ?? AUTH_CACHE_TTL_MS;
  const now = options.now ?? Date.now;
  const passwords = createTtlCache<string, { principal: Principal; passwordHash: string; checkedAtMs: number; allowedOnApi: boolean }>({ maxEntries: 10_000, ttlMs: PASSWORD_ENTRY_IDLE_MS, now });
  const tokens = createTtlCache<string, CachedToken>({ maxEntries: 50_000, ttlMs, now });
  const oauthTokens = createTtlCache<string, CachedOAuthToken>({ maxEntries: 50_000, ttlMs, now });
  let generation = 0;
  // Path users for as long as credentials: a deletion announced nowhere (the CLI without Redis)
  // must end here too, and a lookup by username every 3 s costs next to nothing.
  const accounts = createTtlCache<string, AccountRef>({ maxEntries: 100_000, ttlMs, now });
  const inFlight = new Map<string, Promise<Principal>>();
  const credentialKey = (username: string, password: string) =>
    createHmac('sha256', secret).update(username.toLowerCase()).update('\0').update(password).digest('base64');

  return {
    getPassword(username, password) {
      const entry = passwords.get(credentialKey(username, password));
      if (!entry) return undefined;
      const fresh = now() - entry.checkedAtMs < ttlMs;
      return { principal: entry.principal, passwordHash: entry.passwordHash, fresh, allowedOnApi: fresh && entry.allowedOnApi };
    },
    allowPasswordOnApi(username, password, at) {
      const entry = passwords.get(credentialKey(username, password));
      if (entry && at === generation) entry.allowedOnApi = true;
    },
    setPassword(username, password, principal, passwordHash, at) {
      if (at === generation) passwords.set(credentialKey(username, password), { principal, passwordHash, checkedAtMs: now(), allowedOnApi: false });
    },
    sharePasswordCheck(username, password, check) {
      const key = credentialKey(username, password);
      const running = inFlight.get(key);
      if (running) return running;
      const flight = check().finally(() => inFlight.delete(key));
      inFlight.set(key, flight);
      return flight;
    },
    getToken: (digest) => tokens.get(digest),
    setToken(digest, token, at) {
      if (at === generation) tokens.set(digest, token);
    },
    getOAuthToken: (digest) => oauthTokens.get(digest),
    setOAuthToken(digest, token, at) {
      if (at === generation) oauthTokens.set(digest, token);
    },
    generation: () => generation,
    getAccount: (username) => accounts.get(username),
    setAccount: (account) => accounts.set(account.username, { id: account.id, username: account.username }),
    invalidateUser(userId) {
      generation += 1;
      passwords.deleteWhere((p) => p.principal.userId === userId);
      tokens.deleteWhere((t) => t.user_id === userId);
      oauthTokens.deleteWhere((t) => t.principal.userId === userId);
      // A deleted account's path entry would otherwise answer for it for ever. Dropped on any
      // change of the user's (the message does not say which): one lookup to make it again.
      accounts.deleteWhere((a) => a.id === userId);
    },
    invalidateToken(tokenId) {
      generation += 1;
      tokens.deleteWhere((t) => t.id === tokenId);
    },
    invalidateOAuthTokens() {
      generation += 1;
      oauthTokens.deleteWhere(() => true);
    },
  };
}
