// The storage adapter's housekeeping: expired artifacts are swept in batches by the writes that
// follow, never all at once inside one write, and nothing unexpired goes with them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatMicros, type Clock } from '../../src/kernel/clock.ts';
import { createAdapterClass } from '../../src/oauth/adapter.ts';
import { buildTestApp, type TestApp } from '../support/app.ts';

let now = Date.now();
const clock: Clock = { nowMs: () => now, nowIso: () => formatMicros(now * 1000) };
let t: TestApp;

beforeAll(async () => {
  t = await buildTestApp({ clock });
});
afterAll(() => t?.close());

const count = async () => Number((await t.store.db.selectFrom('oauth_artifacts').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

describe('expired artifacts', () => {
  it('are deleted 500 at a time by the next writes once 10 minutes have passed, the live ones kept', async () => {
    const Adapter = createAdapterClass({ ...t.deps, clock });
    const sessions = new Adapter('Session');
    // 1,200 that expire in a minute, 3 that live a day.
    for (let i = 0; i < 1200; i++) await sessions.upsert(`old-${i}`, { accountId: '1' }, 60);
    for (let i = 0; i < 3; i++) await sessions.upsert(`live-${i}`, { accountId: '1' }, 86_400);
    const before = await count();
    expect(before).toBeGreaterThanOrEqual(1203);

    now += 11 * 60_000; // expired, and the sweep interval has passed
    await sessions.upsert('w1', { accountId: '1' }, 86_400);
    expect(await count()).toBe(before + 1 - 500);
    await sessions.upsert('w2', { accountId: '1' }, 86_400); // a full batch: sweeps again at once
    expect(await count()).toBe(before + 2 - 1000);
    await sessions.upsert('w3', { accountId: '1' }, 86_400);
    expect(await count()).toBe(before + 3 - 1200);
    await sessions.upsert('w4', { accountId: '1' }, 86_400); // the last batch was short: no sweep until 10 min pass
    expect(await count()).toBe(before + 4 - 1200);
    for (const id of ['live-0', 'live-1', 'live-2', 'w1', 'w4']) expect(await sessions.find(id), id).toMatchObject({ accountId: '1' });
    expect(await sessions.find('old-0')).toBeUndefined();
  });
});
