// GET /api/v1.1/users/:username/events/ — the person's own security log, newest first, a page at
// a time with a Link header, filtered by type; the security_read scope; the same list on the
// settings page. Runs on both stores.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, bearer, buildTestApp, makeToken, makeUser, type TestApp } from '../support/app.ts';
import { browserFor } from '../support/inject-browser.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(() => t?.close());

type Event = { id: number; event: string; occurred_at: string; actor: string; outcome: string; client_ip: string | null; detail: Record<string, unknown> | null };

describe('the security log', () => {
  it('lists the account\'s events newest first: a page sign-in, a failed password, an address, a token; pages follow the Link header; a type filter', async () => {
    const user = await makeUser(t.deps);
    const auth = { authorization: basic(user.username, user.password) };
    const path = `/api/v1.1/users/${user.username}/events/`;
    const browser = browserFor(t.app);
    expect((await browser.login(user.username, user.password)).statusCode).toBe(303);
    await t.app.inject({ url: `/api/v1.1/users/${user.username}/`, headers: { authorization: basic(user.username, 'not the password, sorry') } });
    await t.app.inject({ method: 'POST', url: `/api/v1.1/users/${user.username}/emails/`, headers: { ...auth, 'content-type': 'application/json' }, payload: { email: `${user.username}.log@example.com` } });
    await makeToken(t.deps, user.username, ['security_read']);

    const all = await t.app.inject({ url: path, headers: auth });
    expect(all.statusCode).toBe(200);
    const events = all.json() as Event[];
    expect(events.map((e) => e.event)).toEqual(['token_created', 'email_added', 'login_failed', 'signed_in']);
    expect(events[2]).toMatchObject({ outcome: 'failure', detail: { reason: 'bad_password' } });
    expect(events[3]).toMatchObject({ actor: 'self', detail: { via: 'account_page' } });
    expect(Object.keys(events[0]!).sort()).toEqual(['actor', 'client_ip', 'detail', 'event', 'id', 'occurred_at', 'outcome']);
    expect(all.headers.link).toBeUndefined();

    const first = await t.app.inject({ url: `${path}?per_page=3`, headers: auth });
    expect((first.json() as Event[]).map((e) => e.event)).toEqual(['token_created', 'email_added', 'login_failed']);
    const link = /^<([^>]+)>; rel="next"$/.exec(String(first.headers.link))?.[1];
    expect(link).toMatch(new RegExp(`^${t.config.publicUrl}/api/v1\\.1/users/${user.username}/events/\\?cursor=[A-Za-z0-9_-]+&per_page=3$`));
    const second = await t.app.inject({ url: link!.slice(t.config.publicUrl.length), headers: auth });
    expect((second.json() as Event[]).map((e) => e.event)).toEqual(['signed_in']);
    expect(second.headers.link).toBeUndefined();

    const filtered = await t.app.inject({ url: `${path}?type=signed_in,login_failed`, headers: auth });
    expect((filtered.json() as Event[]).map((e) => e.event)).toEqual(['login_failed', 'signed_in']);
    expect((await t.app.inject({ url: `${path}?type=nope`, headers: auth })).json()).toMatchObject({ code: 'invalid', errors: { type: ['Unknown event type.'] } });
    expect((await t.app.inject({ url: `${path}?cursor=bogus`, headers: auth })).statusCode).toBe(400);
    expect((await t.app.inject({ url: `${path}?per_page=0`, headers: auth })).statusCode).toBe(400);
    expect((await t.app.inject({ url: `${path}?per_page=101`, headers: auth })).statusCode).toBe(400);
  });

  it('needs security_read: a token without it is a 403 that names it; a password carries it; another user\'s log is a 403', async () => {
    const user = await makeUser(t.deps);
    const other = await makeUser(t.deps);
    const path = `/api/v1.1/users/${user.username}/events/`;
    const old = await makeToken(t.deps, user.username, ['profile_read', 'profile_write', 'email_read', 'email_write']);
    const refused = await t.app.inject({ url: path, headers: { authorization: bearer(old) } });
    expect(refused.statusCode).toBe(403);
    expect(refused.headers['x-accepted-oauth-scopes']).toBe('security_read');
    const reader = await makeToken(t.deps, user.username, ['security_read']);
    expect((await t.app.inject({ url: path, headers: { authorization: bearer(reader) } })).statusCode).toBe(200);
    expect((await t.app.inject({ url: `/api/v1.1/users/${other.username}/events/`, headers: { authorization: bearer(reader) } })).statusCode).toBe(403);
    expect(String((await t.app.inject({ url: path, headers: { authorization: basic(user.username, user.password) } })).headers['x-oauth-scopes'])).toContain('security_read');
  });

  it('failures under the name before the account existed are not its own', async () => {
    await t.app.inject({ url: '/api/v1.1/users/latecomer/', headers: { authorization: basic('latecomer', 'a guess made before') } });
    await new Promise((r) => setTimeout(r, 5));
    const user = await makeUser(t.deps, { username: 'latecomer' });
    await t.app.inject({ url: '/api/v1.1/users/latecomer/', headers: { authorization: basic('latecomer', 'a guess made after') } });
    const events = (await t.app.inject({ url: '/api/v1.1/users/latecomer/events/', headers: { authorization: basic('latecomer', user.password) } })).json() as Event[];
    expect(events.filter((e) => e.event === 'login_failed')).toHaveLength(1);
  });

  it('the settings page shows the same list, with older events a page at a time', async () => {
    const user = await makeUser(t.deps);
    for (let i = 0; i < 22; i++) await makeToken(t.deps, user.username, ['profile_read']);
    const browser = browserFor(t.app);
    await browser.login(user.username, user.password);
    const page = await browser.get('/account/');
    expect(page.body).toContain('Security log');
    expect(page.body.match(/<strong>Token created<\/strong>/g)).toHaveLength(19);
    expect(page.body).toContain('<strong>Signed in</strong>');
    const older = /href="\/account\/\?log=([A-Za-z0-9_-]+)#security-log-h"/.exec(page.body)?.[1];
    expect(older).toBeDefined();
    const next = await browser.get(`/account/?log=${older}`);
    expect(next.body.match(/<strong>Token created<\/strong>/g)).toHaveLength(3);
    expect((await browser.get('/account/?log=junk')).statusCode).toBe(200);
  });
});
