// At most 10 sign-up forms per client IP per hour, so that nobody can make accounts in bulk, or
// use the "someone tried to sign up with your address" mail to flood an inbox. Every form sent
// counts, refused ones included. Counted in memory or, when REDIS_URL is set, in Redis so that
// every instance shares the count (as the verification-mail limit does).
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { ApiError } from '../kernel/errors.ts';
import { limitStateOf, rateLimitHeaders, type RateLimitReport } from '../kernel/rate-limit-fields.ts';

export const SIGNUPS_PER_IP_PER_HOUR = 10;
const POLICY = { policy: 'signups', quota: SIGNUPS_PER_IP_PER_HOUR, windowS: 3600 };

export type SignupThrottle = {
  /** Counts one sign-up form from the address; throws a 429 with Retry-After past the limit. */
  consume(ip: string, report?: RateLimitReport): Promise<void>;
};

export function createSignupThrottle(options: { redis?: Redis | undefined; keyPrefix: string }): SignupThrottle {
  const settings = { keyPrefix: `${options.keyPrefix}signups`, points: SIGNUPS_PER_IP_PER_HOUR, duration: 60 * 60 };
  const memory = new RateLimiterMemory(settings);
  const limiter: RateLimiterAbstract = options.redis ? new RateLimiterRedis({ ...settings, storeClient: options.redis, insuranceLimiter: memory }) : memory;
  return {
    async consume(ip, report) {
      try {
        const counted = await limiter.consume(ip); // not inside report?.(…): that would skip it when there is no report
        report?.(limitStateOf(POLICY, counted));
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        throw new ApiError('too_many_requests', {
          detail: `At most ${SIGNUPS_PER_IP_PER_HOUR} sign-ups per hour from one address; wait as long as Retry-After says, then try again.`,
          headers: { 'retry-after': String(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000))), ...rateLimitHeaders(limitStateOf(POLICY, rejection)) },
        });
      }
    },
  };
}
