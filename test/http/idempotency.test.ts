// Idempotency-Key on POST emails/, emails/verification/ and emails/primary/: a retry replays the
// first answer (on another instance too), another body is a 422, a request still running a 409;
// answers a retry should not repeat are not kept; keys are per user and expire after 24 hours.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatMicros, type Clock } from '../../src/kernel/clock.ts';
import { sha256Hex } from '../../src/kernel/crypto.ts';
import { parseIdempotencyKey } from '../../src/http/idempotency.ts';
import { basic, buildTestApp, makeUser, type TestApp } from '../support/app.ts';

let offsetMs = 0;
const clock: Clock = { nowMs: () => Date.now() + offsetMs, nowIso: () => formatMicros((Date.now() + offsetMs) * 1000) };
let a: TestApp;
let b: TestApp;
beforeAll(async () => {
  a = await buildTestApp({ clock });
  b = await buildTestApp({ clock, databaseUrl: a.config.databaseUrl });
});
afterAll(async () => {
  await b?.close();
  await a?.close();
});

type User = Awaited<ReturnType<typeof makeUser>>;
const post = (t: TestApp, user: User, suffix: string, body: object, key?: string) =>
  t.app.inject({
    method: 'POST',
    url: `/api/v1.1/users/${user.username}/emails/${suffix}`,
    headers: { authorization: basic(user.username, user.password), 'content-type': 'application/json', ...(key === undefined ? {} : { 'idempotency-key': key }) },
    payload: body,
  });
const count = async (user: User) => (await a.store.db.selectFrom('emails').select('id').where('user_id', '=', user.id).execute()).length;

describe('Idempotency-Key', () => {
  it('a retried POST emails/ replays the first 201 (another instance too) instead of a 400 "already in use"; without a key the retry is that 400', async () => {
    const user = await makeUser(a.deps);
    const body = { email: `${user.username}.x@example.com` };
    const first = await post(a, user, '', body, '"retry-1"');
    expect(first.statusCode).toBe(201);
    const replay = await post(b, user, '', body, '"retry-1"');
    expect(replay.statusCode).toBe(201);
    expect(replay.body).toBe(first.body);
    expect(replay.headers['content-type']).toBe(first.headers['content-type']);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(await count(user)).toBe(2);
    expect((await post(a, user, '', body)).statusCode).toBe(400);

    // Another body under the same key: 422, nothing done.
    const other = await post(a, user, '', { email: `${user.username}.y@example.com` }, '"retry-1"');
    expect(other.statusCode).toBe(422);
    expect(other.json().code).toBe('idempotency_key_reused');
    expect(await count(user)).toBe(2);
    // The same key on another route is another request too.
    expect((await post(a, user, 'primary/', body, '"retry-1"')).statusCode).toBe(422);
  });

  it('keys are per user; a 4xx is replayed; a bad key is a 400', async () => {
    const alice = await makeUser(a.deps);
    const bob = await makeUser(a.deps);
    expect((await post(a, alice, '', { email: `${alice.username}.k@example.com` }, 'shared-key')).statusCode).toBe(201);
    expect((await post(a, bob, '', { email: `${bob.username}.k@example.com` }, 'shared-key')).statusCode).toBe(201);
    const unverified = { email: `${alice.username}.k@example.com` };
    const refused = await post(a, alice, 'primary/', unverified, 'primary-1');
    expect(refused.statusCode).toBe(400);
    const again = await post(b, alice, 'primary/', unverified, 'primary-1');
    expect(again.statusCode).toBe(400);
    expect(again.headers['idempotent-replayed']).toBe('true');
    for (const bad of ['""', 'x'.repeat(256), 'naïve']) {
      const res = await post(a, alice, '', { email: `${alice.username}.z@example.com` }, bad);
      expect(res.statusCode, bad).toBe(400);
      expect(Object.keys(res.json().errors)).toEqual(['Idempotency-Key']);
    }
    expect(parseIdempotencyKey('"8e03978e-40d5-43e8-bc93-6894a57f9324"')).toBe('8e03978e-40d5-43e8-bc93-6894a57f9324');
  });

  it('while the first is still running, the same key is a 409 with Retry-After; exactly one of two racing requests runs', async () => {
    const user = await makeUser(a.deps);
    const body = { email: `${user.username}.race@example.com` };
    const answers = await Promise.all([post(a, user, '', body, 'race'), post(b, user, '', body, 'race')]);
    const statuses = answers.map((r) => r.statusCode).sort();
    // Either the second came after the first had answered (a replay) or while it ran (409).
    expect([[201, 201], [201, 409]]).toContainEqual(statuses);
    const conflict = answers.find((r) => r.statusCode === 409);
    if (conflict) {
      expect(conflict.headers['retry-after']).toBe('1');
      expect(conflict.json().code).toBe('idempotency_key_in_use');
    }
    expect(await count(user)).toBe(2);
    // A request row left running (its process died) is taken over after a minute.
    const stuckBody = { email: `${user.username}.s@example.com` };
    const fingerprint = sha256Hex(`POST /api/v1.1/users/:username/emails/ ${JSON.stringify(stuckBody)}`);
    await a.store.db.insertInto('idempotency_keys').values({ user_id: user.id, idempotency_key: 'stuck', fingerprint, status: null, headers: null, body: null, created_at: formatMicros(Date.now() * 1000), expires_at: formatMicros((Date.now() + 86_400_000) * 1000) }).execute();
    expect((await post(a, user, '', { email: `${user.username}.s@example.com` }, 'stuck')).statusCode).toBe(409);
    offsetMs = 61_000;
    try {
      expect((await post(a, user, '', { email: `${user.username}.s@example.com` }, 'stuck')).statusCode).toBe(201);
    } finally {
      offsetMs = 0;
    }
  });

  it('a 429 is not kept (a retry runs again); keys expire after 24 hours and are swept', async () => {
    const user = await makeUser(a.deps);
    const email = `${user.username}.v@example.com`;
    expect((await post(a, user, '', { email }, 'add-v')).statusCode).toBe(201);
    // Verification mails: 5 an hour for one address; the 6th is a 429, and its key is released.
    for (let i = 0; i < 5; i++) expect((await post(a, user, 'verification/', { email }, `mail-${i}`)).statusCode).toBe(202);
    expect((await post(a, user, 'verification/', { email }, 'mail-5')).statusCode).toBe(429);
    expect(await a.store.db.selectFrom('idempotency_keys').select('idempotency_key').where('user_id', '=', user.id).where('idempotency_key', '=', 'mail-5').execute()).toEqual([]);
    // A replay of a 202 sends no second mail: the count of mails stays (still a replay, not a 429).
    expect((await post(b, user, 'verification/', { email }, 'mail-0')).statusCode).toBe(202);

    offsetMs = 24 * 3600_000 + 120_000;
    try {
      // Expired: the key is free, the request runs again (and is a 400 now: the address exists).
      expect((await post(a, user, '', { email }, 'add-v')).statusCode).toBe(400);
      const left = await a.store.db.selectFrom('idempotency_keys').select('idempotency_key').where('user_id', '=', user.id).execute();
      expect(left.map((r) => r.idempotency_key).sort()).toEqual(['add-v']);
    } finally {
      offsetMs = 0;
    }
  });
});
