// Brute-force protection (OWASP ASVS 5.0 §6.3, NIST SP 800-63B §5.2.2): consecutive failed
// password attempts per account, and failed authentications per client IP. Counters live in
// memory, or in Redis when REDIS_URL is set so that every instance shares them.
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Clock } from '../kernel/clock.ts';
import { ApiError } from '../kernel/errors.ts';
import { rateLimitHeaders, type RateLimitState } from '../kernel/rate-limit-fields.ts';
import { clientKey } from './client-key.ts';

export type LoginThrottleOptions = {
  /** Consecutive failures for one account after which every attempt waits (default 10). */
  maxFailures: number;
  /** Failed authentications one client IP may make in a minute (default 100). */
  ipFailuresPerMinute: number;
  redis?: Redis | undefined;
  /** Prefix of every Redis key, so that several services can share one Redis. */
  keyPrefix: string;
  /** Whose time decides when a lock-out ends: the app's, so that tests can move it. */
  clock: Clock;
};

export type Attempt = {
  /** The account tried with a password; absent for token attempts. */
  username?: string | undefined;
  ip: string;
};

export type LoginThrottle = {
  /**
   * Throws a 429 (with Retry-After) when this attempt must not even be checked; otherwise what is
   * left of the client IP's budget of failures (for the RateLimit headers).
   */
  check(attempt: Attempt): Promise<RateLimitState>;
  /** Counts a failure; how many seconds the account must now wait (0: none), and what is left of the IP's budget. */
  failed(attempt: Attempt): Promise<{ wait: number; ip: RateLimitState }>;
  succeeded(attempt: Attempt): Promise<void>;
};

// The wait after the limit doubles with each further failure, from 1 s up to 15 min; it always
// ends, so there is never a permanent lockout that an attacker could impose on a user.
const FIRST_WAIT_S = 1;
const LONGEST_WAIT_S = 15 * 60;
// Failures are forgotten a day after the first one of a series even without a success.
const FAILURE_MEMORY_S = 24 * 60 * 60;
// A lock-out is stored as the moment it ends, in epoch ms by the app's clock, and that clock
// decides when it is over (instances sharing Redis must agree on the time, as they must for the
// expiry of tokens and sessions). The entry outlives that moment by this much before the store
// (memory, or Redis) drops it: it is read until the end, and a clock set back cannot make a
// lock-out last more than this longer.
const BLOCK_ENTRY_EXTRA_S = 60;

export function waitAfterFailures(failures: number, maxFailures: number): number {
  if (failures < maxFailures) return 0;
  return Math.min(FIRST_WAIT_S * 2 ** (failures - maxFailures), LONGEST_WAIT_S);
}

/** The RateLimit policy of failed authentications per client IP (the per-account count is never told). */
export const AUTH_FAILURES_POLICY = 'auth-failures';

function accountKey(username: string): string {
  return username.toLowerCase().slice(0, 64); // usernames are at most 30; keep junk bounded
}

export function createLoginThrottle(options: LoginThrottleOptions): LoginThrottle {
  const limiter = (name: string, points: number, duration: number): RateLimiterAbstract => {
    const keyPrefix = `${options.keyPrefix}${name}`;
    const memory = new RateLimiterMemory({ keyPrefix, points, duration });
    if (!options.redis) return memory;
    // If Redis fails, each instance carries on with its own counters rather than failing logins.
    return new RateLimiterRedis({ storeClient: options.redis, keyPrefix, points, duration, insuranceLimiter: memory });
  };
  const accountFailures = limiter('login-failures', Number.MAX_SAFE_INTEGER, FAILURE_MEMORY_S);
  const accountBlocks = limiter('login-blocked-until', 1, LONGEST_WAIT_S);
  const ipFailures = limiter('ip-failures', options.ipFailuresPerMinute, 60);

  const tooMany = (msBeforeNext: number, ip: RateLimitState) =>
    new ApiError('too_many_requests', { headers: { 'retry-after': String(Math.max(1, Math.ceil(msBeforeNext / 1000))), ...rateLimitHeaders(ip) }, internal: 'throttled' });
  /** The IP's budget of failed authentications, as the RateLimit headers say it. */
  const ipState = (res: RateLimiterRes | null): RateLimitState => ({
    policy: AUTH_FAILURES_POLICY,
    quota: options.ipFailuresPerMinute,
    windowS: 60,
    remaining: options.ipFailuresPerMinute - (res?.consumedPoints ?? 0),
    resetS: res ? res.msBeforeNext / 1000 : 0,
  });

  return {
    async check({ username, ip }) {
      const byIp = await ipFailures.get(clientKey(ip));
      const state = ipState(byIp);
      if (byIp && byIp.consumedPoints >= options.ipFailuresPerMinute) throw tooMany(byIp.msBeforeNext, state);
      if (username === undefined) return state;
      // The entry's points are the moment the lock-out ends.
      const blocked = await accountBlocks.get(accountKey(username));
      const left = blocked ? blocked.consumedPoints - options.clock.nowMs() : 0;
      if (left > 0) throw tooMany(left, state);
      return state;
    },

    async failed({ username, ip }) {
      const byIp = await ipFailures.consume(clientKey(ip)).catch((rejection: unknown) => {
        if (!(rejection instanceof RateLimiterRes)) throw rejection; // over the budget is expected here
        return rejection;
      });
      const ipNow = ipState(byIp);
      if (username === undefined) return { wait: 0, ip: ipNow };
      const key = accountKey(username);
      const failures = (await accountFailures.consume(key)).consumedPoints;
      const wait = waitAfterFailures(failures, options.maxFailures);
      if (wait > 0) await accountBlocks.set(key, Math.ceil(options.clock.nowMs() + wait * 1000), wait + BLOCK_ENTRY_EXTRA_S);
      return { wait, ip: ipNow };
    },

    async succeeded({ username }) {
      if (username === undefined) return;
      const key = accountKey(username);
      await Promise.all([accountFailures.delete(key), accountBlocks.delete(key)]);
    },
  };
}
