// How many sign-ins one client IP may start a minute. Each authorization request that needs the
// user (to log in or to consent) stores a record of the request before anyone has signed in; the
// limit bounds what an anonymous client can make the service store. Requests answered without
// a page (a signed-in user, consent remembered) store nothing and are not counted. Counters live
// in memory, or in Redis when REDIS_URL is set so that every instance shares them.
import type { Redis } from 'ioredis';
import { clientKey } from '../auth/client-key.ts';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

export type AuthorizeThrottle = {
  /** Counts a request from `ip`; how many seconds it must wait when over the budget (0: go on). */
  take(ip: string): Promise<number>;
  /** Gives back what take() counted, for a request that stored no sign-in. */
  giveBack(ip: string): Promise<void>;
};

export function createAuthorizeThrottle(options: { perMinute: number; redis?: Redis | undefined; keyPrefix: string }): AuthorizeThrottle {
  const keyPrefix = `${options.keyPrefix}oauth-authorize`;
  const memory = new RateLimiterMemory({ keyPrefix, points: options.perMinute, duration: 60 });
  // If Redis fails, each instance carries on with its own counters rather than refusing sign-ins.
  const limiter: RateLimiterAbstract = options.redis
    ? new RateLimiterRedis({ storeClient: options.redis, keyPrefix, points: options.perMinute, duration: 60, insuranceLimiter: memory })
    : memory;
  return {
    async take(ip) {
      // Counted before the request runs, so concurrent requests cannot all slip under the limit.
      try {
        await limiter.consume(clientKey(ip));
        return 0;
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        return Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      }
    },
    async giveBack(ip) {
      await limiter.reward(clientKey(ip), 1);
    },
  };
}
