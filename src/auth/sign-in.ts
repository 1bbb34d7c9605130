// The sign-in core: the one place that decides "these credentials are this user", for every
// entry point — HTTP Basic and Bearer on the API, the account page's login form, the
// authorization server's login page. Each attempt goes through the same steps, in this order:
//   parse → throttle (per account and per client IP) → verify (a password against its hash,
//   which is upgraded and cached when right; or a token, through the verifier of the feature
//   that issued it) → second factor (asked for every right password, cached ones included) →
//   count and audit the outcome.
// A second factor (src/two-factor) is a step of its own on the pages: a right password answers
// "second factor needed", and `secondFactor()` checks the code behind the same brute-force
// limits; the counters are reset only once both steps succeeded, so knowing the password does
// not buy unlimited guesses at the code.
// Every failure of the credentials themselves is the same 401 (docs/reference/api.md), whatever
// went wrong; the precise reason travels in `internal`, for logs, metrics and the audit trail.
import { ApiError } from '../kernel/errors.ts';
import type { RateLimitReport } from '../kernel/rate-limit-fields.ts';
import type { Deps } from '../kernel/deps.ts';
import type { AuthCache } from './auth-cache.ts';
import { attemptOf, challenges, isPasswordTry, parseAuthorization, type Credentials } from './authorization-header.ts';
import type { Attempt, LoginThrottle } from './login-throttle.ts';
import { needsRehash } from './passwords.ts';
import type { AccountRef, AuthFailureReason, Principal, TokenCheck, TokenVerifier } from './principal.ts';
import { SCOPES } from './scopes.ts';
import { findSignInAccount, replacePasswordHash } from './sign-in.repository.ts';

/**
 * Where an attempt came from: the second-factor seam and the audit trail tell them apart.
 * 'password_check': someone already signed in retypes the password (to change it, to delete the
 * account); the session they are in already passed its second factor.
 */
export type SignInVia = 'api' | 'account_page' | 'oauth_login' | 'password_check';

/**
 * The seam where a second factor plugs in: asked each time a password was right (from the cache
 * too), before anyone is signed in. 'none': the password is enough; 'refused': this entry point
 * may not sign this account in with a password (counted as a failure of its own reason);
 * 'required': a second factor must follow (the login pages ask for it); 'enroll': the password
 * is enough this time, but the account must set a second factor up before it goes on (REQUIRE_2FA).
 */
export type SecondFactorDecision = 'none' | 'refused' | 'required' | 'enroll';
export type SecondFactorGate = (account: AccountRef, via: SignInVia) => Promise<SecondFactorDecision>;

/** What the API tells a caller whose password was right but whose account has two-factor on. */
export const USE_A_TOKEN_DETAIL = 'Two-factor authentication is on for this account: sign in with a personal access token instead of the password.';

/** What the audit trail hears of a password attempt that failed (or engaged the throttle). */
export type SignInAuditEvent =
  | { event: 'login_failed'; username: string; ip: string; reason: string }
  | { event: 'login_throttled'; username: string; ip: string; waitSeconds: number };

export type SignInOptions = {
  throttle: LoginThrottle;
  cache: AuthCache;
  /** Personal access tokens: accepted as a Bearer token and as the password of HTTP Basic. */
  personalTokens: TokenVerifier;
  /** Other Bearer tokens, asked in order (the authorization server's access tokens). */
  bearerTokens: readonly TokenVerifier[];
  audit(event: SignInAuditEvent): Promise<void>;
  secondFactor?: SecondFactorGate;
};

/** A form's password check, as the login pages show it. */
export type PasswordSignIn =
  | { ok: true; account: AccountRef; /** REQUIRE_2FA: set a second factor up before going on. */ mustEnroll?: true }
  /** The password was right; the second factor must follow (`SignIn.secondFactor`). Nobody is signed in yet. */
  | { ok: false; reason: 'second_factor'; account: AccountRef }
  | { ok: false; reason: 'invalid' }
  /** The password was right, but the primary address must be verified first (a self-made account). */
  | { ok: false; reason: 'unverified'; account: AccountRef }
  | { ok: false; reason: 'throttled'; retryAfterSeconds: number }
  /** Password hashing is at capacity (HASH_QUEUE full): nothing was checked; try again shortly. */
  | { ok: false; reason: 'busy'; retryAfterSeconds: number };

export type SignIn = {
  /**
   * The caller of an API request, from its Authorization header; or the 401, 429 or 503 to answer.
   * `report` hears the client IP's budget of failed authentications (the RateLimit headers).
   */
  authorization(header: string | undefined, ip: string, report?: RateLimitReport): Promise<Principal>;
  /**
   * A username and a password or personal access token given other than in a header (the registry
   * token endpoint's form, `grant_type=password`): exactly what HTTP Basic with them would be.
   */
  basic(input: { username: string; secret: string; ip: string }): Promise<Principal>;
  /**
   * A token of a kind one entry point issues and takes (the registry's refresh tokens), checked by
   * `verifier` behind the per-IP limits. One that stands for a password (method 'password') passes
   * the second-factor gate as the password would: with two-factor on, it is refused.
   */
  token(input: { token: string; ip: string; verifier: TokenVerifier }): Promise<Principal>;
  /** A username and a password typed into a login form (a token is never a password here). */
  password(input: { username: string; password: string; ip: string; via: SignInVia }): Promise<PasswordSignIn>;
  /** The account a path names, case-insensitively (cached as credentials are: forgotten when the account changes or is deleted). */
  account(username: string): Promise<AccountRef | undefined>;
  /**
   * The second step of a sign-in whose password was right: `verify` checks what was given (a
   * code) and names the factor, or answers undefined. Behind the account's and the IP's
   * brute-force limits; a wrong code counts and is audited as a failed login.
   */
  secondFactor(input: { account: AccountRef; ip: string; verify: () => Promise<string | undefined> }): Promise<SecondFactorCheck>;
};

export type SecondFactorCheck = { ok: true; method: string } | { ok: false; reason: 'invalid' } | { ok: false; reason: 'throttled'; retryAfterSeconds: number };

export function unauthenticated(reason: AuthFailureReason, invalidBearer = false, detail?: string): ApiError {
  return new ApiError('not_authenticated', { headers: { 'www-authenticate': challenges(invalidBearer) }, internal: reason, ...(detail ? { detail } : {}) });
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
    case 'unverified':
    case 'token_user_mismatch':
    case 'second_factor_required':
    case 'bad_second_factor':
      return 'bad_credentials';
    case undefined:
      return 'unknown';
    default:
      return reason;
  }
}

const PASSWORD_ENOUGH: SecondFactorGate = async () => 'none';

export function createSignIn(deps: Deps, options: SignInOptions): SignIn {
  const { throttle, cache } = options;
  const secondFactor = options.secondFactor ?? PASSWORD_ENOUGH;

  const refusedToken = (check: TokenCheck, bearer: boolean): Principal => {
    if ('reason' in check) throw unauthenticated(check.reason, bearer);
    return check;
  };

  /** Verifies a password; the Principal and what the second-factor seam said, or the 401 (ApiError) saying why in `internal`. */
  const verifyPassword = async (name: string, password: string, via: SignInVia): Promise<{ principal: Principal; decision: SecondFactorDecision }> => {
    const username = name.toLowerCase();
    const cached = await cachedPassword(username, password);
    const checked = cached?.principal ?? (await cache.sharePasswordCheck(username, password, () => checkPasswordOnce(username, password)));
    // The API's rule, remembered for a fresh entry that it let through (the hot path of Basic);
    // asked otherwise, from the cache too: the cache knows the password, not the entry point.
    if (via === 'api' && cached?.allowedOnApi) return { principal: checked, decision: 'none' };
    const generation = cache.generation();
    const decision = await secondFactor({ id: checked.userId, username: checked.username }, via);
    if (via === 'api' && decision === 'none') cache.allowPasswordOnApi(username, password, generation);
    // Docker Hub's and GitHub's rule: with two-factor on, the API takes tokens, not the password.
    // Saying so tells the caller the password was right (docs/explanation/security-model.md).
    if (decision === 'refused') throw unauthenticated('second_factor_required', false, via === 'api' ? USE_A_TOKEN_DETAIL : undefined);
    return { principal: checked, decision };
  };

  /**
   * A password verified before, without hashing it again: as cached while the entry is fresh;
   * after that, still right if the account's stored hash is the one it was verified against and the
   * account may still sign in (one query), and the entry is renewed. Otherwise undefined: check it.
   */
  const cachedPassword = async (username: string, password: string): Promise<{ principal: Principal; allowedOnApi: boolean } | undefined> => {
    const entry = cache.getPassword(username, password);
    if (!entry) return undefined;
    if (!entry.fresh) {
      const generation = cache.generation();
      const account = await findSignInAccount(deps.store.db, username);
      if (!account || account.password_hash !== entry.passwordHash || account.is_active !== 1 || account.primary_verified !== 1) return undefined;
      cache.setPassword(username, password, entry.principal, entry.passwordHash, generation);
    }
    return { principal: { ...entry.principal, cached: true }, allowedOnApi: entry.allowedOnApi };
  };

  /** The password against the stored hash (upgraded when weaker than today's); cached when right. */
  const checkPasswordOnce = async (username: string, password: string): Promise<Principal> => {
    const generation = cache.generation();
    const account = await findSignInAccount(deps.store.db, username);
    // Always verify, against a dummy hash when there is no user, so timing tells nothing.
    const ok = await deps.passwords.verify(account?.password_hash, password);
    if (!account) throw unauthenticated('unknown_user');
    if (account.password_hash === null) throw unauthenticated('no_password');
    if (!ok) throw unauthenticated('bad_password');
    if (account.is_active !== 1) throw unauthenticated('inactive');
    // An account made on the sign-up page proves its address before it is used: told only to
    // whoever knows the password. Accounts the CLI makes have a verified address from the start.
    if (account.primary_verified !== 1) throw unauthenticated('unverified');
    let stored = account.password_hash;
    if (needsRehash(stored)) {
      // The hashing parameters were raised since this hash was made: upgrade it now that we
      // have the password (OWASP Password Storage Cheat Sheet, "Upgrading legacy hashes").
      const previous = stored;
      const upgraded = await deps.passwords.hash(password);
      await deps.store.write((trx) => replacePasswordHash(trx, account.id, previous, upgraded));
      stored = upgraded;
    }
    const principal: Principal = { userId: account.id, username: account.username, scopes: new Set(SCOPES), method: 'password' };
    cache.setPassword(username, password, principal, stored, generation);
    return principal;
  };

  /**
   * `check` behind the brute-force limits: a 429 before anything is checked when over them. The
   * counters are reset on success, unless `complete` says a second step is still to come.
   */
  const throttled = async <T extends Principal>(attempt: Attempt, check: () => Promise<T>, complete: (result: T) => boolean = () => true, report?: RateLimitReport): Promise<T> => {
    const budget = await throttle.check(attempt); // not inside report?.(…): that would skip the check when there is no report
    report?.(budget);
    try {
      const principal = await check();
      // A cache hit is a success already counted: no need to reset the counters on every request.
      if (!principal.cached && complete(principal)) await throttle.succeeded(attempt);
      return principal;
    } catch (error) {
      if (error instanceof ApiError && error.code === 'not_authenticated') {
        const { wait, ip } = await throttle.failed(attempt);
        report?.(ip);
        // Password attempts are audited under the name tried; a throttle is audited when it
        // engages (not on every 429 after, which would let an attacker write without limit).
        if (attempt.username !== undefined) {
          const base = { username: attempt.username, ip: attempt.ip };
          await options.audit({ ...base, event: 'login_failed', reason: error.internal ?? 'unknown' });
          if (wait > 0) await options.audit({ ...base, event: 'login_throttled', waitSeconds: wait });
        }
      }
      throw error;
    }
  };

  const fromCredentials = async (header: string | undefined, credentials: Credentials | undefined): Promise<Principal> => {
    if (!header) throw unauthenticated('missing');
    if (!credentials) throw unauthenticated('malformed');
    if (credentials.scheme === 'bearer') {
      for (const verifier of [options.personalTokens, ...options.bearerTokens]) {
        const check = await verifier(credentials.token);
        if (check) return refusedToken(check, true);
      }
      throw unauthenticated('invalid_token', true);
    }
    if (isPasswordTry(credentials)) return (await verifyPassword(credentials.username, credentials.secret, 'api')).principal;
    // Basic with a token as the password: only that user's token, with only its scopes.
    const token = refusedToken((await options.personalTokens(credentials.secret)) ?? { reason: 'invalid_token' }, false);
    if (token.username !== credentials.username.toLowerCase()) throw unauthenticated('token_user_mismatch');
    return token;
  };

  return {
    async authorization(header, ip, report) {
      const credentials = parseAuthorization(header);
      const attempt = attemptOf(credentials, ip);
      // Only wrong credentials spend the per-IP budget. A request without any (a client waiting for
      // the challenge, as curl --anyauth does; an <img> on another site) is a plain 401: counting it
      // would let anyone lock out everyone behind one address, valid tokens included.
      if (!attempt) return fromCredentials(header, credentials);
      return throttled(attempt, () => fromCredentials(header, credentials), undefined, report);
    },

    async basic({ username, secret, ip }) {
      const credentials: Credentials = { scheme: 'basic', username, secret };
      return throttled(attemptOf(credentials, ip)!, () => fromCredentials('form', credentials));
    },

    async token({ token, ip, verifier }) {
      return throttled({ ip, username: undefined }, async () => {
        const principal = refusedToken((await verifier(token)) ?? { reason: 'invalid_token' }, false);
        if (principal.method === 'password' && (await secondFactor({ id: principal.userId, username: principal.username }, 'api')) === 'refused') {
          throw unauthenticated('second_factor_required', false, USE_A_TOKEN_DETAIL);
        }
        return principal;
      });
    },

    async password({ username, password, ip, via }) {
      try {
        const checked = await throttled(
          { ip, username },
          async () => {
            const { principal, decision } = await verifyPassword(username, password, via);
            return { ...principal, decision };
          },
          (result) => result.decision !== 'required',
        );
        const account = { id: checked.userId, username: checked.username };
        if (checked.decision === 'required') return { ok: false, reason: 'second_factor', account };
        return checked.decision === 'enroll' ? { ok: true, account, mustEnroll: true } : { ok: true, account };
      } catch (error) {
        if (error instanceof ApiError && error.code === 'not_authenticated') {
          if (error.internal !== 'unverified') return { ok: false, reason: 'invalid' };
          // Only a right password gets here: the form may say why, and who it was.
          const account = await findSignInAccount(deps.store.db, username.toLowerCase());
          if (account) return { ok: false, reason: 'unverified', account: { id: account.id, username: account.username } };
          return { ok: false, reason: 'invalid' };
        }
        if (error instanceof ApiError && (error.code === 'too_many_requests' || error.code === 'service_unavailable')) {
          const reason = error.code === 'too_many_requests' ? 'throttled' : 'busy';
          return { ok: false, reason, retryAfterSeconds: Number(error.headers['retry-after'] ?? 1) };
        }
        throw error;
      }
    },

    async secondFactor({ account, ip, verify }) {
      const attempt = { ip, username: account.username };
      let found: string | undefined;
      try {
        await throttled(attempt, async () => {
          const method = await verify();
          if (method === undefined) throw unauthenticated('bad_second_factor');
          found = method;
          return { userId: account.id, username: account.username, scopes: new Set(SCOPES), method: 'password' } satisfies Principal;
        });
        return { ok: true, method: found! };
      } catch (error) {
        if (error instanceof ApiError && error.code === 'not_authenticated') return { ok: false, reason: 'invalid' };
        if (error instanceof ApiError && error.code === 'too_many_requests') return { ok: false, reason: 'throttled', retryAfterSeconds: Number(error.headers['retry-after'] ?? 1) };
        throw error;
      }
    },

    async account(name) {
      const username = name.toLowerCase();
      const cachedAccount = cache.getAccount(username);
      if (cachedAccount) return cachedAccount;
      const row = await findSignInAccount(deps.store.db, username);
      if (!row) return undefined;
      const account = { id: row.id, username: row.username };
      cache.setAccount(account);
      return account;
    },
  };
}

/** What a login form says when the check did not succeed; the status and Retry-After to answer with. */
export function loginRefusal(result: Exclude<PasswordSignIn, { ok: true }>): { status: number; retryAfter?: string; message: string } {
  const seconds = result.reason === 'invalid' || result.reason === 'unverified' || result.reason === 'second_factor' ? 0 : result.retryAfterSeconds;
  const wait = `${seconds} second${seconds === 1 ? '' : 's'}`;
  switch (result.reason) {
    case 'invalid':
      return { status: 401, message: 'The username or password is not right.' };
    case 'second_factor':
      // The login pages go on to the second step instead; any other form has no second step.
      return { status: 401, message: 'A second factor is needed: log in on the login page.' };
    case 'unverified':
      return { status: 403, message: 'Verify your email address first: open the link we mailed you and press Confirm, then log in.' };
    case 'throttled':
      return { status: 429, retryAfter: String(seconds), message: `Too many failed attempts. Wait ${wait}, then try again.` };
    case 'busy':
      return { status: 503, retryAfter: String(seconds), message: `The service is too busy to check your password just now. Wait ${wait}, then try again.` };
  }
}
