// The typed TypeScript client (clients/typescript): its types are what openapi-typescript makes of
// the document the server serves (so they cannot drift), and it works against a real server
// over HTTP: Basic and Bearer, ETag and If-Match, Idempotency-Key, the security log, errors.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountsClient } from '../../clients/typescript/src/index.ts';
import { schemaFromDocument } from '../../clients/typescript/schema-from-document.ts';
import { buildListeningTestApp, makeToken, makeUser, type TestApp } from '../support/app.ts';

let t: TestApp;
let origin: string;
beforeAll(async () => {
  const listening = await buildListeningTestApp();
  t = listening;
  origin = listening.origin;
});
afterAll(() => t?.close());

describe('clients/typescript', () => {
  it('its src/schema.ts is what openapi-typescript makes of the served document (run `node clients/typescript/generate-from-app.ts` after changing a route)', async () => {
    const served = (await t.app.inject({ url: '/openapi.json' })).json() as object;
    const committed = readFileSync(join(import.meta.dirname, '../../clients/typescript/src/schema.ts'), 'utf8');
    expect(committed).toBe(await schemaFromDocument(served));
  });

  it('reads and changes a user over HTTP: Basic and Bearer, ETag and If-Match (a stale tag is a typed 412)', async () => {
    const user = await makeUser(t.deps);
    const client = createAccountsClient(origin, { username: user.username, password: user.password });
    const read = await client.GET('/api/v1.1/users/{username}/', { params: { path: { username: user.username } } });
    expect(read.response.status).toBe(200);
    expect(read.data?.username).toBe(user.username);
    const tag = read.response.headers.get('etag')!;
    const changed = await client.PATCH('/api/v1.1/users/{username}/', { params: { path: { username: user.username }, header: { 'if-match': tag } }, body: { location: 'Typed Town' } });
    expect(changed.data?.location).toBe('Typed Town');
    const stale = await client.PATCH('/api/v1.1/users/{username}/', { params: { path: { username: user.username }, header: { 'if-match': tag } }, body: { location: 'Lost' } });
    expect(stale.response.status).toBe(412);
    expect(stale.error?.code).toBe('precondition_failed');
    const notModified = await client.GET('/api/v1.1/users/{username}/', { params: { path: { username: user.username }, header: { 'if-none-match': changed.response.headers.get('etag')! } } });
    expect(notModified.response.status).toBe(304);

    const token = await makeToken(t.deps, user.username, ['email_read', 'email_write', 'security_read']);
    const withToken = createAccountsClient(origin, { token });
    const added = await withToken.POST('/api/v1.1/users/{username}/emails/', {
      params: { path: { username: user.username }, header: { 'idempotency-key': 'typed-1' } },
      body: { email: `${user.username}.typed@example.com` },
    });
    expect(added.response.status).toBe(201);
    expect(added.data).toEqual({ email: `${user.username}.typed@example.com`, verified: false, primary: false });
    const again = await withToken.POST('/api/v1.1/users/{username}/emails/', {
      params: { path: { username: user.username }, header: { 'idempotency-key': 'typed-1' } },
      body: { email: `${user.username}.typed@example.com` },
    });
    expect(again.response.headers.get('idempotent-replayed')).toBe('true');
    const list = await withToken.GET('/api/v1.1/users/{username}/emails/', { params: { path: { username: user.username } } });
    expect(list.data?.map((e) => e.email)).toContain(`${user.username}.typed@example.com`);
    const log = await withToken.GET('/api/v1.1/users/{username}/events/', { params: { path: { username: user.username }, query: { type: 'email_added' } } });
    expect(log.data?.map((e) => e.event)).toEqual(['email_added']);
    const forbidden = await withToken.PATCH('/api/v1.1/users/{username}/', { params: { path: { username: user.username } }, body: {} });
    expect(forbidden.response.status).toBe(403);
    expect(forbidden.error?.code).toBe('insufficient_scope');
    expect(forbidden.response.headers.get('x-accepted-oauth-scopes')).toBe('profile_write');
  });
});
