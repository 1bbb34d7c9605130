// GET and PATCH /api/v1.1/users/:username/ — every status code and field rule of the spec.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setActive } from '../../src/users/users.service.ts';
import { PUBLIC_URL, basic, bearer, buildTestApp, makeToken, makeUser, type TestApp } from '../support/app.ts';

let t: TestApp;
let jane: Awaited<ReturnType<typeof makeUser>>;
let john: Awaited<ReturnType<typeof makeUser>>;
let janeAuth: string;

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

beforeAll(async () => {
  t = await buildTestApp();
  jane = await makeUser(t.deps, { username: 'janedoe', email: 'Jane.Doe@Example.com', fullName: 'Jane Doe' });
  john = await makeUser(t.deps, { username: 'johndoe', email: 'john@example.com' });
  janeAuth = basic('janedoe', jane.password);
});
afterAll(() => t.close());

const get = (url: string, authorization?: string) => t.app.inject({ method: 'GET', url, headers: authorization ? { authorization } : {} });
const patch = (url: string, body: unknown, authorization: string | null = janeAuth, contentType = 'application/json') =>
  t.app.inject({
    method: 'PATCH',
    url,
    headers: { ...(authorization ? { authorization } : {}), 'content-type': contentType },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('GET /api/v1.1/users/:username/', () => {
  it('returns the user representation of the spec', async () => {
    const res = await get('/api/v1.1/users/janedoe/', janeAuth);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const body = res.json();
    expect(Object.keys(body)).toEqual([
      'id', 'username', 'url', 'date_joined', 'type', 'full_name', 'location', 'company', 'profile_url', 'gravatar_url', 'email', 'is_active',
    ]);
    expect(body).toMatchObject({
      id: jane.id,
      username: 'janedoe',
      url: `${PUBLIC_URL}/api/v1.1/users/janedoe/`,
      type: 'User',
      full_name: 'Jane Doe',
      location: '',
      company: '',
      profile_url: '',
      email: 'Jane.Doe@example.com',
      is_active: true,
    });
    expect(body.date_joined).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    // md5 of the trimmed, lower-cased primary email when no gravatar email is set
    expect(body.gravatar_url).toBe(`https://secure.gravatar.com/avatar/${md5('jane.doe@example.com')}.jpg?s=80&r=g&d=mm`);
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('serves the path with and without the trailing slash, and matches the username case-insensitively', async () => {
    for (const url of ['/api/v1.1/users/janedoe', '/api/v1.1/users/JaneDoe/', '/api/v1.1/users/JANEDOE']) {
      const res = await get(url, janeAuth);
      expect(res.statusCode, url).toBe(200);
      expect(res.json().username).toBe('janedoe');
    }
  });

  it('answers HEAD like GET without a body', async () => {
    const res = await t.app.inject({ method: 'HEAD', url: '/api/v1.1/users/janedoe/', headers: { authorization: janeAuth } });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('');
  });

  it('401 without credentials, with both challenges', async () => {
    const res = await get('/api/v1.1/users/janedoe/');
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({ detail: 'Authentication credentials were missing or incorrect.', code: 'not_authenticated' });
    expect(res.headers['www-authenticate']).toEqual(['Basic realm="accounts", charset="UTF-8"', 'Bearer realm="accounts"']);
  });

  it('401 for a wrong password, an unknown user and a deactivated account, with the same body', async () => {
    const wrong = await get('/api/v1.1/users/janedoe/', basic('janedoe', 'not the password'));
    const unknown = await get('/api/v1.1/users/janedoe/', basic('nobodyatall', 'whatever12'));
    const ghost = await makeUser(t.deps, { username: 'ghostuser' });
    await setActive(t.deps, 'ghostuser', false);
    const deactivated = await get('/api/v1.1/users/ghostuser/', basic('ghostuser', ghost.password));
    for (const res of [wrong, unknown, deactivated]) {
      expect(res.statusCode).toBe(401);
      expect(res.body).toBe(wrong.body);
      expect(res.headers['www-authenticate']).toEqual(wrong.headers['www-authenticate']);
    }
  });

  it('404 when the path user does not exist (after authentication)', async () => {
    const res = await get('/api/v1.1/users/nosuchuser/', janeAuth);
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('not_found');
    expect((await get('/api/v1.1/users/nosuchuser/')).statusCode).toBe(401);
  });

  it('403 when the caller is another user', async () => {
    const res = await get('/api/v1.1/users/johndoe/', janeAuth);
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('permission_denied');
  });

  it('403 with an insufficient_scope challenge when the token lacks profile_read', async () => {
    const token = await makeToken(t.deps, 'janedoe', ['email_read', 'profile_write']);
    const res = await get('/api/v1.1/users/janedoe/', bearer(token));
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('insufficient_scope');
    expect(res.headers['www-authenticate']).toBe('Bearer error="insufficient_scope", scope="profile_read"');
  });

  it('checks permission before scope: another user with a scope-less token is 403 permission_denied', async () => {
    const token = await makeToken(t.deps, 'johndoe', ['email_read']);
    const res = await get('/api/v1.1/users/janedoe/', bearer(token));
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('permission_denied');
    expect(john.id).not.toBe(jane.id);
  });
});

describe('PATCH /api/v1.1/users/:username/', () => {
  it("applies the seed page's example (its trailing comma removed)", async () => {
    const res = await patch('/api/v1.1/users/janedoe/', { location: 'Private Island', profile_url: 'http://janedoe.com/', company: 'Retired' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ full_name: 'Jane Doe', location: 'Private Island', company: 'Retired', profile_url: 'http://janedoe.com/' });
    expect((await get('/api/v1.1/users/janedoe/', janeAuth)).json().location).toBe('Private Island');
  });

  it("refuses the seed page's example as printed: a trailing comma is malformed JSON", async () => {
    const res = await patch('/api/v1.1/users/janedoe/', '{"location": "Private Island","profile_url": "http://janedoe.com/","company": "Retired",}');
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('malformed_body');
  });

  it('trims text fields, and "" clears', async () => {
    let res = await patch('/api/v1.1/users/janedoe/', { company: '  Spaces Inc.  ' });
    expect(res.json().company).toBe('Spaces Inc.');
    res = await patch('/api/v1.1/users/janedoe/', { company: '' });
    expect(res.statusCode).toBe(200);
    expect(res.json().company).toBe('');
  });

  it('{} is a no-op, and fields not sent are left as they are', async () => {
    await patch('/api/v1.1/users/janedoe/', { full_name: 'Jane Q. Doe', location: 'Here' });
    const res = await patch('/api/v1.1/users/janedoe/', {});
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ full_name: 'Jane Q. Doe', location: 'Here' });
    const res2 = await patch('/api/v1.1/users/janedoe/', { location: 'There' });
    expect(res2.json()).toMatchObject({ full_name: 'Jane Q. Doe', location: 'There' });
  });

  it('ignores the read-only fields, so a client may send back what it read', async () => {
    const current = (await get('/api/v1.1/users/janedoe/', janeAuth)).json();
    const res = await patch('/api/v1.1/users/janedoe/', { ...current, id: 999, username: 'other', email: 'x@y.z', is_active: false, location: 'Sent back' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ ...current, location: 'Sent back' });
  });

  it('400 naming an unknown key, and a non-string value', async () => {
    const res = await patch('/api/v1.1/users/janedoe/', { nickname: 'jd', full_name: 42, location: null });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.code).toBe('invalid');
    expect(body.detail).toBe('Invalid input.');
    expect(body.errors.nickname).toEqual(['Unknown field.']);
    expect(body.errors.full_name).toEqual(['Must be a string.']);
    expect(body.errors.location).toEqual(['Must be a string.']);
  });

  it('400 for a body that is not an object', async () => {
    for (const payload of ['[]', '"text"', '42', 'null']) {
      const res = await patch('/api/v1.1/users/janedoe/', payload);
      expect(res.statusCode, payload).toBe(400);
      expect(res.json().code).toBe('invalid');
    }
  });

  it('400 for more than 255 characters and for control characters', async () => {
    const long = await patch('/api/v1.1/users/janedoe/', { full_name: 'x'.repeat(256) });
    expect(long.statusCode).toBe(400);
    expect(long.json().errors.full_name[0]).toMatch(/255/);
    expect((await patch('/api/v1.1/users/janedoe/', { full_name: 'x'.repeat(255) })).statusCode).toBe(200);
    for (const value of ['a\u0000b', 'tab\there', 'line\nbreak', 'del\u007f', 'c1\u0085x']) {
      const res = await patch('/api/v1.1/users/janedoe/', { location: value });
      expect(res.statusCode, JSON.stringify(value)).toBe(400);
      expect(res.json().errors.location).toEqual(['Must not contain control characters.']);
    }
    const lone = await patch('/api/v1.1/users/janedoe/', '{"company": "\\ud800"}');
    expect(lone.statusCode).toBe(400);
    expect(lone.json().errors.company).toBeDefined();
  });

  it('profile_url: an absolute http(s) URL with a host, or ""', async () => {
    for (const ok of ['https://example.com', 'http://janedoe.com/path?q=1', 'HTTPS://Example.COM/']) {
      const res = await patch('/api/v1.1/users/janedoe/', { profile_url: ok });
      expect(res.statusCode, ok).toBe(200);
      expect(res.json().profile_url).toBe(ok);
    }
    for (const bad of ['javascript:alert(1)', 'data:text/html,hi', '/relative', 'example.com', 'ftp://example.com/', 'http://', 'http:example.com', 'http://exa mple.com/', `https://example.com/${'a'.repeat(250)}`]) {
      const res = await patch('/api/v1.1/users/janedoe/', { profile_url: bad });
      expect(res.statusCode, bad).toBe(400);
      expect(res.json().errors.profile_url, bad).toHaveLength(1);
    }
    expect((await patch('/api/v1.1/users/janedoe/', { profile_url: '' })).json().profile_url).toBe('');
  });

  it('gravatar_email changes gravatar_url, is never returned, and "" goes back to the primary', async () => {
    const res = await patch('/api/v1.1/users/janedoe/', { gravatar_email: '  Avatar@Example.com ' });
    expect(res.statusCode).toBe(200);
    expect(res.json().gravatar_url).toBe(`https://secure.gravatar.com/avatar/${md5('avatar@example.com')}.jpg?s=80&r=g&d=mm`);
    expect(res.json()).not.toHaveProperty('gravatar_email');
    const bad = await patch('/api/v1.1/users/janedoe/', { gravatar_email: 'not-an-email' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors.gravatar_email).toEqual(['Enter a valid email address.']);
    const cleared = await patch('/api/v1.1/users/janedoe/', { gravatar_email: '' });
    expect(cleared.json().gravatar_url).toBe(`https://secure.gravatar.com/avatar/${md5('jane.doe@example.com')}.jpg?s=80&r=g&d=mm`);
  });

  it('accepts url-encoded and multipart form bodies', async () => {
    const form = await patch('/api/v1.1/users/janedoe/', 'location=Form+Town&company=A%26B', janeAuth, 'application/x-www-form-urlencoded');
    expect(form.statusCode).toBe(200);
    expect(form.json()).toMatchObject({ location: 'Form Town', company: 'A&B' });
    const boundary = 'XyZ123';
    const multipart = [`--${boundary}`, 'Content-Disposition: form-data; name="location"', '', 'Multipart City', `--${boundary}--`, ''].join('\r\n');
    const res = await patch('/api/v1.1/users/janedoe/', multipart, janeAuth, `multipart/form-data; boundary=${boundary}`);
    expect(res.statusCode).toBe(200);
    expect(res.json().location).toBe('Multipart City');
  });

  it('form bodies: unknown fields are 400, repeated fields are 400, files are 400', async () => {
    const unknown = await patch('/api/v1.1/users/janedoe/', 'nickname=x', janeAuth, 'application/x-www-form-urlencoded');
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().errors.nickname).toEqual(['Unknown field.']);
    const repeated = await patch('/api/v1.1/users/janedoe/', 'location=a&location=b', janeAuth, 'application/x-www-form-urlencoded');
    expect(repeated.statusCode).toBe(400);
    expect(repeated.json().code).toBe('malformed_body');
    const boundary = 'B0undary';
    const file = [`--${boundary}`, 'Content-Disposition: form-data; name="location"; filename="a.txt"', 'Content-Type: text/plain', '', 'data', `--${boundary}--`, ''].join('\r\n');
    const res = await patch('/api/v1.1/users/janedoe/', file, janeAuth, `multipart/form-data; boundary=${boundary}`);
    expect(res.statusCode).toBe(400);
  });

  it('415 for an unsupported Content-Type, 413 for a body over the limit', async () => {
    const res = await patch('/api/v1.1/users/janedoe/', 'location: x', janeAuth, 'text/plain');
    expect(res.statusCode).toBe(415);
    expect(res.json().code).toBe('unsupported_media_type');
    const big = await patch('/api/v1.1/users/janedoe/', { location: 'x'.repeat(70 * 1024) });
    expect(big.statusCode).toBe(413);
    expect(big.json().code).toBe('request_too_large');
    const bigForm = await patch('/api/v1.1/users/janedoe/', `location=${'x'.repeat(70 * 1024)}`, janeAuth, 'application/x-www-form-urlencoded');
    expect(bigForm.statusCode).toBe(413);
  });

  it('400 for a body that is not valid UTF-8', async () => {
    const res = await t.app.inject({
      method: 'PATCH',
      url: '/api/v1.1/users/janedoe/',
      headers: { authorization: janeAuth, 'content-type': 'application/json' },
      payload: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('malformed_body');
  });

  it('__proto__ and constructor keys are reported as unknown fields and never reach a prototype', async () => {
    const res = await patch('/api/v1.1/users/janedoe/', '{"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted": "yes"}}}');
    expect(res.statusCode).toBe(400);
    expect(Object.keys(res.json().errors).sort()).toEqual(['__proto__', 'constructor']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const form = await patch('/api/v1.1/users/janedoe/', '__proto__=x', janeAuth, 'application/x-www-form-urlencoded');
    expect(form.statusCode).toBe(400);
  });

  it('answers in the order 401 → 404 → 403 → scope 403 → 400/415', async () => {
    const bad = 'not json at all';
    expect((await patch('/api/v1.1/users/janedoe/', bad, null)).statusCode).toBe(401);
    expect((await patch('/api/v1.1/users/nosuchuser/', bad)).statusCode).toBe(404);
    expect((await patch('/api/v1.1/users/johndoe/', bad)).statusCode).toBe(403);
    const readOnly = await makeToken(t.deps, 'janedoe', ['profile_read']);
    const scoped = await patch('/api/v1.1/users/janedoe/', bad, bearer(readOnly));
    expect(scoped.statusCode).toBe(403);
    expect(scoped.headers['www-authenticate']).toBe('Bearer error="insufficient_scope", scope="profile_write"');
    expect((await patch('/api/v1.1/users/janedoe/', bad, null, 'text/plain')).statusCode).toBe(401);
    expect((await patch('/api/v1.1/users/janedoe/', bad, janeAuth, 'text/plain')).statusCode).toBe(415);
    expect((await patch('/api/v1.1/users/janedoe/', bad)).statusCode).toBe(400);
  });

  it('works with a profile_write token', async () => {
    const token = await makeToken(t.deps, 'janedoe', ['profile_write']);
    const res = await patch('/api/v1.1/users/janedoe/', { location: 'Token Land' }, bearer(token));
    expect(res.statusCode).toBe(200);
    expect(res.json().location).toBe('Token Land');
  });
});
