// Conditional requests (RFC 9110 §13) on GET/PATCH user and GET/POST/DELETE emails: the ETag is the
// same for every credential and every instance; If-None-Match → 304; If-Match → 412 when the
// resource changed, checked and written in one transaction. Two instances on one database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, bearer, buildTestApp, makeToken, makeUser, type TestApp } from '../support/app.ts';

let a: TestApp;
let b: TestApp;
beforeAll(async () => {
  a = await buildTestApp();
  b = await buildTestApp({ databaseUrl: a.config.databaseUrl });
});
afterAll(async () => {
  await b?.close();
  await a?.close();
});

const json = { 'content-type': 'application/json' };

describe('ETag and If-None-Match', () => {
  it('GET user and GET emails: one strong tag for every credential and instance; 304 with no body when it matches', async () => {
    const user = await makeUser(a.deps);
    const token = await makeToken(a.deps, user.username, ['profile_read', 'email_read']);
    const path = `/api/v1.1/users/${user.username}/`;
    const withPassword = await a.app.inject({ url: path, headers: { authorization: basic(user.username, user.password) } });
    const withToken = await b.app.inject({ url: path, headers: { authorization: bearer(token) } });
    const tag = withPassword.headers.etag as string;
    expect(tag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(withToken.headers.etag).toBe(tag);

    const cached = await b.app.inject({ url: path, headers: { authorization: bearer(token), 'if-none-match': `"nope", ${tag}` } });
    expect(cached.statusCode).toBe(304);
    expect(cached.body).toBe('');
    expect(cached.headers.etag).toBe(tag);
    expect(cached.headers['content-type']).toBeUndefined();
    expect((await a.app.inject({ url: path, headers: { authorization: bearer(token), 'if-none-match': `W/${tag}` } })).statusCode).toBe(304); // weak comparison
    expect((await a.app.inject({ url: path, headers: { authorization: bearer(token), 'if-none-match': '*' } })).statusCode).toBe(304);
    expect((await a.app.inject({ url: path, headers: { authorization: bearer(token), 'if-none-match': '"other"' } })).statusCode).toBe(200);
    // Credentials first: a stale or wrong credential never learns whether it has the latest.
    expect((await a.app.inject({ url: path, headers: { 'if-none-match': tag } })).statusCode).toBe(401);

    const emails = await a.app.inject({ url: `${path}emails/`, headers: { authorization: bearer(token) } });
    const emailsTag = emails.headers.etag as string;
    expect(emailsTag).toMatch(/^"/);
    expect(emailsTag).not.toBe(tag);
    expect((await b.app.inject({ url: `${path}emails/`, headers: { authorization: bearer(token), 'if-none-match': emailsTag } })).statusCode).toBe(304);

    // A change anywhere in the representation changes the tag.
    await a.app.inject({ method: 'PATCH', url: path, headers: { authorization: basic(user.username, user.password), ...json }, payload: { location: 'Elsewhere' } });
    const changed = await b.app.inject({ url: path, headers: { authorization: bearer(token), 'if-none-match': tag } });
    expect(changed.statusCode).toBe(200);
    expect(changed.headers.etag).not.toBe(tag);
  });
});

describe('If-Match', () => {
  it('PATCH user: the tag read → 200 with the new tag; a stale tag → 412 with the current one, nothing written; a weak tag never matches', async () => {
    const user = await makeUser(a.deps);
    const auth = { authorization: basic(user.username, user.password) };
    const path = `/api/v1.1/users/${user.username}/`;
    const read = (await a.app.inject({ url: path, headers: auth })).headers.etag as string;
    const first = await b.app.inject({ method: 'PATCH', url: path, headers: { ...auth, ...json, 'if-match': read }, payload: { company: 'First' } });
    expect(first.statusCode).toBe(200);
    expect(first.json().company).toBe('First');
    const after = first.headers.etag as string;
    expect(after).not.toBe(read);
    expect((await a.app.inject({ url: path, headers: auth })).headers.etag).toBe(after);

    const lost = await a.app.inject({ method: 'PATCH', url: path, headers: { ...auth, ...json, 'if-match': read }, payload: { company: 'Second' } });
    expect(lost.statusCode).toBe(412);
    expect(lost.json()).toMatchObject({ code: 'precondition_failed' });
    expect(lost.headers.etag).toBe(after);
    expect((await a.app.inject({ url: path, headers: auth })).json().company).toBe('First');
    expect((await a.app.inject({ method: 'PATCH', url: path, headers: { ...auth, ...json, 'if-match': `W/${after}` }, payload: { company: 'Weak' } })).statusCode).toBe(412);
    expect((await a.app.inject({ method: 'PATCH', url: path, headers: { ...auth, ...json, 'if-match': '*' }, payload: { company: 'Any' } })).statusCode).toBe(200);
    // A body that is wrong anyway is a 400 whatever If-Match says.
    expect((await a.app.inject({ method: 'PATCH', url: path, headers: { ...auth, ...json, 'if-match': '"stale"' }, payload: { nope: 1 } })).statusCode).toBe(400);
  });

  it('two clients with the same tag at once, on two instances: exactly one wins, the other gets 412', async () => {
    const user = await makeUser(a.deps);
    const auth = { authorization: basic(user.username, user.password) };
    const path = `/api/v1.1/users/${user.username}/`;
    const read = (await a.app.inject({ url: path, headers: auth })).headers.etag as string;
    const answers = await Promise.all(
      ['One', 'Two', 'Three', 'Four'].map((company, i) => (i % 2 ? b : a).app.inject({ method: 'PATCH', url: path, headers: { ...auth, ...json, 'if-match': read }, payload: { company } })),
    );
    expect(answers.map((r) => r.statusCode).sort()).toEqual([200, 412, 412, 412]);
    const winner = answers.find((r) => r.statusCode === 200)!.json().company;
    expect((await b.app.inject({ url: path, headers: auth })).json().company).toBe(winner);
  });

  it('POST and DELETE emails: checked against the list; a stale tag adds or removes nothing; a 404 or 400 stays itself', async () => {
    const user = await makeUser(a.deps);
    const auth = { authorization: basic(user.username, user.password) };
    const path = `/api/v1.1/users/${user.username}/emails/`;
    const read = (await a.app.inject({ url: path, headers: auth })).headers.etag as string;
    const added = await b.app.inject({ method: 'POST', url: path, headers: { ...auth, ...json, 'if-match': read }, payload: { email: `${user.username}.two@example.com` } });
    expect(added.statusCode).toBe(201);
    const stale = await a.app.inject({ method: 'POST', url: path, headers: { ...auth, ...json, 'if-match': read }, payload: { email: `${user.username}.three@example.com` } });
    expect(stale.statusCode).toBe(412);
    const list = await a.app.inject({ url: path, headers: auth });
    expect(list.json()).toHaveLength(2);
    expect(stale.headers.etag).toBe(list.headers.etag);

    expect((await a.app.inject({ method: 'DELETE', url: path, headers: { ...auth, ...json, 'if-match': read }, payload: { email: `${user.username}.two@example.com` } })).statusCode).toBe(412);
    expect((await a.app.inject({ method: 'DELETE', url: path, headers: { ...auth, ...json, 'if-match': read }, payload: { email: 'nobody.here@example.com' } })).statusCode).toBe(404);
    expect((await a.app.inject({ method: 'POST', url: path, headers: { ...auth, ...json, 'if-match': read }, payload: { email: user.email } })).statusCode).toBe(400);
    const removed = await b.app.inject({ method: 'DELETE', url: path, headers: { ...auth, ...json, 'if-match': list.headers.etag as string }, payload: { email: `${user.username}.two@example.com` } });
    expect(removed.statusCode).toBe(204);
    expect((await a.app.inject({ url: path, headers: auth })).json()).toHaveLength(1);
  });
});

describe('scope headers', () => {
  it('X-OAuth-Scopes (what the credential carries) and X-Accepted-OAuth-Scopes (what the endpoint needs) on every authenticated answer, 403s included; none on a 401', async () => {
    const user = await makeUser(a.deps);
    const other = await makeUser(a.deps);
    const token = await makeToken(a.deps, user.username, ['email_read', 'profile_read', 'repo_read']);
    const ok = await a.app.inject({ url: `/api/v1.1/users/${user.username}/`, headers: { authorization: bearer(token) } });
    expect(ok.headers['x-oauth-scopes']).toBe('profile_read, email_read, repo_read');
    expect(ok.headers['x-accepted-oauth-scopes']).toBe('profile_read');
    const noScope = await a.app.inject({ method: 'PATCH', url: `/api/v1.1/users/${user.username}/`, headers: { authorization: bearer(token), ...json }, payload: {} });
    expect(noScope.statusCode).toBe(403);
    expect(noScope.headers['x-accepted-oauth-scopes']).toBe('profile_write');
    expect(noScope.headers['x-oauth-scopes']).toBe('profile_read, email_read, repo_read');
    const notYours = await a.app.inject({ url: `/api/v1.1/users/${other.username}/emails/`, headers: { authorization: bearer(token) } });
    expect(notYours.statusCode).toBe(403);
    expect(notYours.headers['x-accepted-oauth-scopes']).toBe('email_read');
    const password = await a.app.inject({ url: `/api/v1.1/users/${user.username}/emails/`, headers: { authorization: basic(user.username, user.password) } });
    expect(password.headers['x-oauth-scopes']).toBe('profile_read, profile_write, email_read, email_write, security_read');
    const anonymous = await a.app.inject({ url: `/api/v1.1/users/${user.username}/` });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers['x-oauth-scopes']).toBeUndefined();
  });
});
