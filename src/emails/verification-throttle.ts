// At most 5 verification mails per address per hour, so that nobody can use this
// service to flood an inbox. Counted per address (its comparison key), in memory or, when
// REDIS_URL is set, in Redis so that every instance shares the count (as the login throttle does).
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { ApiError } from '../kernel/errors.ts';
import { limitStateOf, rateLimitHeaders, type RateLimitReport } from '../kernel/rate-limit-fields.ts';

export const VERIFICATION_MAILS_PER_HOUR = 5;
/** The RateLimit policy (docs/reference/api.md#rate-limit-headers). */
const POLICY = { policy: 'verification-mails', quota: VERIFICATION_MAILS_PER_HOUR, windowS: 3600 };

export type VerificationThrottle = {
  /** Counts one mail to the address; throws a 429 with Retry-After past the limit. `report` hears what is left. */
  consume(emailKey: string, report?: RateLimitReport): Promise<void>;
};

export function createVerificationThrottle(options: { redis?: Redis | undefined; keyPrefix: string }): VerificationThrottle {
  const keyPrefix = `${options.keyPrefix}verification-mails`;
  const settings = { keyPrefix, points: VERIFICATION_MAILS_PER_HOUR, duration: 60 * 60 };
  const memory = new RateLimiterMemory(settings);
  const limiter: RateLimiterAbstract = options.redis
    ? new RateLimiterRedis({ ...settings, storeClient: options.redis, insuranceLimiter: memory })
    : memory;
  return {
    async consume(emailKey, report) {
      try {
        const counted = await limiter.consume(emailKey); // not inside report?.(…): that would skip it when there is no report
        report?.(limitStateOf(POLICY, counted));
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        throw new ApiError('too_many_requests', {
          detail: `At most ${VERIFICATION_MAILS_PER_HOUR} verification mails per address per hour; wait as long as Retry-After says, then try again.`,
          headers: { 'retry-after': String(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000))), ...rateLimitHeaders(limitStateOf(POLICY, rejection)) },
        });
      }
    },
  };
}
