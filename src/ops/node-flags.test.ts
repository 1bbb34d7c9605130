import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { collectStartupGarbage, SERVER_NODE_FLAGS, withServerFlags } from './node-flags.ts';

describe('the server processes V8 flags', () => {
  it('are what `npm start` runs the server with', () => {
    const start = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } }).scripts.start;
    for (const flag of SERVER_NODE_FLAGS) expect(start).toContain(` ${flag} `);
  });

  it('are added to a worker’s flags unless the operator set them', () => {
    expect(withServerFlags([])).toEqual([...SERVER_NODE_FLAGS]);
    expect(withServerFlags(['--enable-source-maps'])).toEqual(['--enable-source-maps', ...SERVER_NODE_FLAGS]);
    const others = (set: string) => SERVER_NODE_FLAGS.filter((flag) => !flag.includes(set));
    expect(withServerFlags(['--max-semi-space-size=32'])).toEqual(['--max-semi-space-size=32', ...others('semi-space')]);
    expect(withServerFlags(['--max_semi_space_size=16'])).toEqual(['--max_semi_space_size=16', ...others('semi-space')]);
    // --flag and --no-flag are one setting: the operator's choice stands either way.
    expect(withServerFlags(['--allocation-site-pretenuring'])).toEqual(['--allocation-site-pretenuring', ...others('pretenuring')]);
    expect(withServerFlags(['--no-allocation-site-pretenuring']).filter((flag) => flag.includes('pretenuring'))).toEqual(['--no-allocation-site-pretenuring']);
  });

  it('collect the start-up garbage when the process has gc (--expose-gc), and do nothing without it', () => {
    const global = globalThis as { gc?: () => void };
    const saved = global.gc;
    try {
      let calls = 0;
      global.gc = () => void calls++;
      collectStartupGarbage();
      expect(calls).toBe(1);
      delete global.gc;
      expect(() => collectStartupGarbage()).not.toThrow();
    } finally {
      if (saved) global.gc = saved;
    }
  });
});
