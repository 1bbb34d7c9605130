// Caps concurrent password hashing. argon2 runs on libuv's thread pool, which
// is shared by the whole process; a flood of wrong passwords must not queue up without bound
// and starve everything else. Past the queue limit the answer is a 503 with Retry-After at once,
// never a hang.
import { ApiError } from '../kernel/errors.ts';

export type HashLimiter = {
  run<T>(fn: () => Promise<T>): Promise<T>;
  readonly active: number;
  readonly waiting: number;
};

export type HashLimiterOptions = {
  concurrency: number;
  maxWaiting: number;
  /** Told of each check refused because the queue is full (the caller decides how often to log). */
  onRefused?: () => void;
};

export function createHashLimiter(options: HashLimiterOptions): HashLimiter {
  let active = 0;
  const waiting: Array<() => void> = [];
  const release = () => {
    const next = waiting.shift();
    if (next) next(); // the slot passes straight to the next in line: `active` stays the same
    else active--;
  };
  return {
    async run(fn) {
      if (active < options.concurrency) active++;
      else if (waiting.length < options.maxWaiting) await new Promise<void>((resolve) => waiting.push(resolve));
      else {
        options.onRefused?.();
        throw new ApiError('service_unavailable', { headers: { 'retry-after': '1' }, internal: 'hashing_saturated' });
      }
      try {
        return await fn();
      } finally {
        release();
      }
    },
    get active() {
      return active;
    },
    get waiting() {
      return waiting.length;
    },
  };
}
