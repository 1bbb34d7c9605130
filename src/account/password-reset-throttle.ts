// Limits on asking for password reset links, so that nobody can use the service to flood an
// inbox or to hammer its database: per client IP, and per account. Counted in memory or, when
// REDIS_URL is set, in Redis so that every instance shares the counts (as the verification mails'
// limit does).
//
// The two limits answer differently on purpose. Past the per-IP limit the page says so (429 and
// Retry-After): it counts every request, whatever it names, so it tells nothing about accounts.
// Past the per-account limit nothing is mailed, but the answer is the usual one: a different
// answer would tell that the account exists.
import type { Redis } from 'ioredis';
import { limitStateOf, type RateLimitReport } from '../kernel/rate-limit-fields.ts';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

export const RESET_REQUESTS_PER_IP_PER_HOUR = 20;
export const RESET_MAILS_PER_ACCOUNT_PER_HOUR = 3;

export type ResetThrottle = {
  /** Counts one request from the IP; the seconds to wait past the limit, undefined within it. `report` hears what is left (never the per-account count). */
  consumeIp(ip: string, report?: RateLimitReport): Promise<number | undefined>;
  /** Counts one link for the account; false past the limit (then no link is made). */
  consumeAccount(userId: number): Promise<boolean>;
};

function limiter(options: { redis?: Redis | undefined; keyPrefix: string; points: number }): RateLimiterAbstract {
  const settings = { keyPrefix: options.keyPrefix, points: options.points, duration: 60 * 60 };
  const memory = new RateLimiterMemory(settings);
  return options.redis ? new RateLimiterRedis({ ...settings, storeClient: options.redis, insuranceLimiter: memory }) : memory;
}

/** Undefined when counted within the limit, else the seconds until the next point frees. */
async function consume(rateLimiter: RateLimiterAbstract, key: string, report?: (res: RateLimiterRes) => void): Promise<number | undefined> {
  try {
    const counted = await rateLimiter.consume(key); // not inside report?.(…): that would skip it when there is no report
    report?.(counted);
    return undefined;
  } catch (rejection) {
    if (!(rejection instanceof RateLimiterRes)) throw rejection;
    report?.(rejection);
    return Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
  }
}

const IP_POLICY = { policy: 'password-reset-requests', quota: RESET_REQUESTS_PER_IP_PER_HOUR, windowS: 3600 };

export function createResetThrottle(options: { redis?: Redis | undefined; keyPrefix: string }): ResetThrottle {
  const perIp = limiter({ redis: options.redis, keyPrefix: `${options.keyPrefix}password-reset-ip`, points: RESET_REQUESTS_PER_IP_PER_HOUR });
  const perAccount = limiter({ redis: options.redis, keyPrefix: `${options.keyPrefix}password-reset-account`, points: RESET_MAILS_PER_ACCOUNT_PER_HOUR });
  return {
    consumeIp: (ip, report) => consume(perIp, ip, report && ((res) => report(limitStateOf(IP_POLICY, res)))),
    consumeAccount: async (userId) => (await consume(perAccount, String(userId))) === undefined,
  };
}
