import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { lazyChildLogger } from './logging.ts';

function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        const { time: _time, pid: _pid, hostname: _hostname, ...rest } = JSON.parse(line) as Record<string, unknown>;
        lines.push(rest);
      }
      done();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

describe('the per-request logger', () => {
  it('writes the same lines as a real child, and makes none while nothing is logged', () => {
    const real = capture('info');
    const lazy = capture('info');
    let children = 0;
    const parent = lazy.logger;
    const original = parent.child;
    parent.child = function (this: typeof parent, ...args: Parameters<typeof original>) {
      children++;
      return original.apply(this, args);
    } as typeof parent.child;

    const log = lazyChildLogger(parent, { reqId: 'req-1' }, {});
    log.debug('below the level');
    log.trace({ secret: 1 }, 'below too');
    expect(children).toBe(0);
    expect(log.level).toBe('info');

    log.info({ path: '/x' }, 'first line');
    log.error(new Error('boom'), 'failed');
    expect(children).toBe(1); // one real child, made at the first line and kept (pino children inherit the counter)
    log.child({ step: 2 }).warn('nested');

    const direct = real.logger.child({ reqId: 'req-1' });
    direct.info({ path: '/x' }, 'first line');
    direct.error(new Error('boom'), 'failed');
    direct.child({ step: 2 }).warn('nested');
    const withoutStacks = (lines: Record<string, unknown>[]) =>
      lines.map((line) => ({ ...line, err: line.err ? { ...(line.err as object), stack: undefined } : undefined }));
    expect(withoutStacks(lazy.lines)).toEqual(withoutStacks(real.lines));
    expect(lazy.lines.map((line) => line.reqId)).toEqual(['req-1', 'req-1', 'req-1']);
  });

  it('takes a level set on it (and a route’s own level) as a real child does', () => {
    const { logger, lines } = capture('warn');
    const log = lazyChildLogger(logger, { reqId: 'req-2' }, {});
    log.level = 'debug';
    log.debug('now shown');
    expect(lines.map((line) => line.msg)).toEqual(['now shown']);
    const own = lazyChildLogger(logger, { reqId: 'req-3' }, { level: 'trace' });
    own.trace('route level');
    expect(lines.map((line) => line.msg)).toEqual(['now shown', 'route level']);
  });
});
