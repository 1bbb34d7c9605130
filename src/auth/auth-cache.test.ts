// The single flight of password checks: concurrent callers with the same credentials share one.
import { describe, expect, it } from 'vitest';
import { createAuthCache } from './auth-cache.ts';
import type { Principal } from './principal.ts';

const alice: Principal = { userId: 1, username: 'alice', scopes: new Set(), method: 'password' };

describe('sharePasswordCheck', () => {
  it('runs one check for concurrent callers with the same credentials, one each for other credentials, and again once it is over', async () => {
    const cache = createAuthCache();
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const check = async () => {
      runs += 1;
      await gate;
      return alice;
    };
    const same = Array.from({ length: 5 }, () => cache.sharePasswordCheck('Alice', 'secret', check));
    const other = cache.sharePasswordCheck('alice', 'another secret', check);
    release();
    expect(await Promise.all(same)).toEqual(Array(5).fill(alice));
    await other;
    expect(runs).toBe(2); // usernames are case-insensitive; passwords are not
    await cache.sharePasswordCheck('alice', 'secret', check);
    expect(runs).toBe(3);
  });

  it('shares a failure too, and does not keep it', async () => {
    const cache = createAuthCache();
    let runs = 0;
    const failing = async () => {
      runs += 1;
      await new Promise((r) => setTimeout(r, 5));
      throw new Error('wrong password');
    };
    const results = await Promise.allSettled([cache.sharePasswordCheck('bob', 'x', failing), cache.sharePasswordCheck('bob', 'x', failing)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(runs).toBe(1);
    await cache.sharePasswordCheck('bob', 'x', failing).catch(() => undefined);
    expect(runs).toBe(2);
  });
});
