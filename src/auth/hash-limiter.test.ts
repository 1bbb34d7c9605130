import { describe, expect, it } from 'vitest';
import { ApiError } from '../kernel/errors.ts';
import { createHashLimiter } from './hash-limiter.ts';

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe('createHashLimiter', () => {
  it('runs at most `concurrency` at once, queues up to `maxWaiting`, and refuses the rest at once with a 503', async () => {
    const limiter = createHashLimiter({ concurrency: 2, maxWaiting: 2 });
    const gates = Array.from({ length: 4 }, gate);
    let running = 0;
    let most = 0;
    const jobs = gates.map((g) =>
      limiter.run(async () => {
        running++;
        most = Math.max(most, running);
        await g.opened;
        running--;
        return 'done';
      }),
    );
    expect(limiter.active).toBe(2);
    expect(limiter.waiting).toBe(2);
    const refused = await limiter.run(async () => 'never').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).status).toBe(503);
    expect((refused as ApiError).headers['retry-after']).toBe('1');
    for (const g of gates) g.open();
    expect(await Promise.all(jobs)).toEqual(['done', 'done', 'done', 'done']);
    expect(most).toBe(2);
    expect(limiter.active).toBe(0);
    expect(limiter.waiting).toBe(0);
  });

  it('frees the slot when a job fails', async () => {
    const limiter = createHashLimiter({ concurrency: 1, maxWaiting: 0 });
    await expect(limiter.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await limiter.run(async () => 'next')).toBe('next');
  });
});
