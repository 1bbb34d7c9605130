// GET, POST and DELETE /api/v1.1/users/:username/emails/ — every status code and rule of the spec.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, bearer, buildTestApp, makeToken, makeUser, type TestApp } from '../support/app.ts';

let t: TestApp;
let auth: string;
const path = '/api/v1.1/users/mailuser/emails/';

beforeAll(async () => {
  t = await buildTestApp();
  const user = await makeUser(t.deps, { username: 'mailuser', email: 'Mail.User@Example.com' });
  await makeUser(t.deps, { username: 'otheruser', email: 'taken@example.com' });
  auth = basic('mailuser', user.password);
});
afterAll(() => t.close());

const list = async () => (await t.app.inject({ method: 'GET', url: path, headers: { authorization: auth } })).json() as Array<{ email: string; verified: boolean; primary: boolean }>;
const send = (method: 'POST' | 'DELETE', body: unknown, options: { authorization?: string | null; contentType?: string; url?: string } = {}) =>
  t.app.inject({
    method,
    url: options.url ?? path,
    headers: {
      ...(options.authorization === null ? {} : { authorization: options.authorization ?? auth }),
      'content-type': options.contentType ?? 'application/json',
    },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('GET emails', () => {
  it('lists the addresses, primary first', async () => {
    const res = await t.app.inject({ method: 'GET', url: path, headers: { authorization: auth } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual([{ email: 'Mail.User@example.com', verified: true, primary: true }]);
  });

  it('401, 404, 403 and scope 403 like every account route', async () => {
    expect((await t.app.inject({ method: 'GET', url: path })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1.1/users/nobodyhere/emails/', headers: { authorization: auth } })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1.1/users/otheruser/emails/', headers: { authorization: auth } })).statusCode).toBe(403);
    const token = await makeToken(t.deps, 'mailuser', ['profile_read', 'email_write']);
    const res = await t.app.inject({ method: 'GET', url: path, headers: { authorization: bearer(token) } });
    expect(res.statusCode).toBe(403);
    expect(res.headers['www-authenticate']).toBe('Bearer error="insufficient_scope", scope="email_read"');
  });
});

describe('POST emails', () => {
  it("adds an unverified secondary address (the seed page's example)", async () => {
    const res = await send('POST', { email: 'jane.doe+other@example.com' });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({ email: 'jane.doe+other@example.com', verified: false, primary: false });
  });

  it('keeps the case typed for display, lists primary first then by when added', async () => {
    await send('POST', { email: 'Second@Example.org' });
    await send('POST', { email: 'third@example.net' });
    const emails = await list();
    expect(emails.map((e) => e.email)).toEqual(['Mail.User@example.com', 'jane.doe+other@example.com', 'Second@example.org', 'third@example.net']);
    expect(emails.filter((e) => e.primary)).toHaveLength(1);
  });

  it('400 for an address any account already has, compared case-insensitively', async () => {
    for (const email of ['taken@example.com', 'TAKEN@EXAMPLE.COM', 'mail.user@example.com', 'SECOND@example.org']) {
      const res = await send('POST', { email });
      expect(res.statusCode, email).toBe(400);
      expect(res.json()).toEqual({ detail: 'Invalid input.', code: 'invalid', errors: { email: ['This email address is already in use.'] } });
    }
  });

  it('compares internationalised domains by their ASCII form', async () => {
    const res = await send('POST', { email: 'idn@bücher.example' });
    expect(res.statusCode).toBe(201);
    expect(res.json().email).toBe('idn@xn--bcher-kva.example');
    expect((await send('POST', { email: 'IDN@xn--bcher-kva.example' })).statusCode).toBe(400);
  });

  it('400 for invalid addresses', async () => {
    const bad = [
      'plainaddress', '@example.com', 'a@', 'a@@example.com', 'a@b@example.com', 'a b@example.com', 'a@exa mple.com', 'a\u0000@example.com',
      'a@example', 'a@-example.com', 'a@example..com', '.a@example.com', 'a.@example.com', 'a..b@example.com', 'a@example.com.', `${'x'.repeat(65)}@example.com`,
      `a@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.${'e'.repeat(63)}.com`, 'a@127.0.0.1', '"quoted"@example.com',
    ];
    for (const email of bad) {
      const res = await send('POST', { email });
      expect(res.statusCode, email).toBe(400);
      expect(res.json().errors.email, email).toHaveLength(1);
    }
  });

  it('400 when email is missing, empty or not a string; extra keys are 400 too', async () => {
    for (const body of [{}, { email: '' }, { email: '   ' }, { email: 5 }, { email: null }]) {
      const res = await send('POST', body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().errors.email).toHaveLength(1);
    }
    const extra = await send('POST', { email: 'extra@example.com', primary: true });
    expect(extra.statusCode).toBe(400);
    expect(extra.json().errors.primary).toEqual(['Unknown field.']);
  });

  it('accepts url-encoded and multipart forms', async () => {
    expect((await send('POST', 'email=form%40example.com', { contentType: 'application/x-www-form-urlencoded' })).statusCode).toBe(201);
    const boundary = 'bndry';
    const body = [`--${boundary}`, 'Content-Disposition: form-data; name="email"', '', 'multi@example.com', `--${boundary}--`, ''].join('\r\n');
    expect((await send('POST', body, { contentType: `multipart/form-data; boundary=${boundary}` })).statusCode).toBe(201);
  });

  it('401 before 404 before 403 before scope 403 before 400', async () => {
    const bad = '{broken';
    expect((await send('POST', bad, { authorization: null })).statusCode).toBe(401);
    expect((await send('POST', bad, { url: '/api/v1.1/users/nobodyhere/emails/' })).statusCode).toBe(404);
    expect((await send('POST', bad, { url: '/api/v1.1/users/otheruser/emails/' })).statusCode).toBe(403);
    const readToken = await makeToken(t.deps, 'mailuser', ['email_read']);
    const scoped = await send('POST', bad, { authorization: bearer(readToken) });
    expect(scoped.statusCode).toBe(403);
    expect(scoped.headers['www-authenticate']).toBe('Bearer error="insufficient_scope", scope="email_write"');
    expect((await send('POST', bad)).statusCode).toBe(400);
  });
});

describe('DELETE emails', () => {
  it('204 with an empty body and Content-Length: 0, matching case-insensitively', async () => {
    await send('POST', { email: 'remove.me@example.com' });
    const res = await send('DELETE', { email: 'REMOVE.ME@example.com' });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect(res.headers['content-length']).toBe('0');
    expect((await list()).map((e) => e.email)).not.toContain('remove.me@example.com');
  });

  it('404 for an address the user does not have (including another account’s)', async () => {
    for (const email of ['never.added@example.com', 'taken@example.com']) {
      const res = await send('DELETE', { email });
      expect(res.statusCode, email).toBe(404);
      expect(res.json().code).toBe('email_not_found');
    }
  });

  it('400 for the primary address', async () => {
    const res = await send('DELETE', { email: 'mail.user@example.com' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ detail: 'The primary email address cannot be deleted.', code: 'primary_email' });
    expect((await list()).filter((e) => e.primary)).toHaveLength(1);
  });

  it('400 when email is missing or empty, also with no body at all', async () => {
    expect((await send('DELETE', {})).statusCode).toBe(400);
    expect((await send('DELETE', { email: '' })).statusCode).toBe(400);
    const none = await t.app.inject({ method: 'DELETE', url: path, headers: { authorization: auth } });
    expect(none.statusCode).toBe(400);
    expect(none.json().errors.email).toEqual(['This field is required.']);
  });

  it('accepts a url-encoded form body', async () => {
    await send('POST', { email: 'formdelete@example.com' });
    expect((await send('DELETE', 'email=formdelete%40example.com', { contentType: 'application/x-www-form-urlencoded' })).statusCode).toBe(204);
  });

  it('needs email_write', async () => {
    const token = await makeToken(t.deps, 'mailuser', ['email_read']);
    const res = await send('DELETE', { email: 'x@example.com' }, { authorization: bearer(token) });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('insufficient_scope');
  });
});

describe('the 20-address limit', () => {
  it('refuses the 21st address', async () => {
    const u = await makeUser(t.deps, { username: 'manymails', email: 'many0@example.com' });
    const a = basic('manymails', u.password);
    for (let i = 1; i < 20; i++) {
      const res = await send('POST', { email: `many${i}@example.com` }, { authorization: a, url: '/api/v1.1/users/manymails/emails/' });
      expect(res.statusCode).toBe(201);
    }
    const res = await send('POST', { email: 'many20@example.com' }, { authorization: a, url: '/api/v1.1/users/manymails/emails/' });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors.email).toEqual(['You can have at most 20 email addresses.']);
    // Deleting one makes room again.
    expect((await send('DELETE', { email: 'many5@example.com' }, { authorization: a, url: '/api/v1.1/users/manymails/emails/' })).statusCode).toBe(204);
    expect((await send('POST', { email: 'many20@example.com' }, { authorization: a, url: '/api/v1.1/users/manymails/emails/' })).statusCode).toBe(201);
  });
});
