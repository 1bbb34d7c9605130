// The conformance kit: black-box checks of the Accounts API v1.1 contract (docs/reference/api.md,
// with the decisions the published page left open), run against any server over HTTP with one
// account's credentials. Each check says pass or fail and why. Nothing is left changed: the
// profile is written back and the address it adds is removed. It sends one wrong password (which
// counts toward the brute-force limits like any other).
import { randomBytes } from 'node:crypto';

export type CheckResult = { name: string; ok: boolean; reason: string };
export type ConformanceOptions = { baseUrl: string; username: string; password: string; token?: string | undefined };

type Answer = { status: number; headers: Headers; text: string; json: unknown };

const USER_FIELDS = ['company', 'date_joined', 'email', 'full_name', 'gravatar_url', 'id', 'is_active', 'location', 'profile_url', 'type', 'url', 'username'];
const RFC3339_MICROS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

class Failure extends Error {}
function expect(condition: unknown, reason: string): asserts condition {
  if (!condition) throw new Failure(reason);
}

export async function runConformance(options: ConformanceOptions): Promise<CheckResult[]> {
  const base = options.baseUrl.replace(/\/$/, '');
  const basic = (user: string, secret: string) => `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;
  const auth = basic(options.username, options.password);
  const userPath = `/api/v1.1/users/${options.username}/`;
  const emailsPath = `${userPath}emails/`;

  const call = async (method: string, path: string, init: { authorization?: string | null; body?: string; contentType?: string } = {}): Promise<Answer> => {
    const headers: Record<string, string> = { accept: 'application/json' };
    const authorization = init.authorization === undefined ? auth : init.authorization;
    if (authorization !== null) headers.authorization = authorization;
    if (init.body !== undefined) headers['content-type'] = init.contentType ?? 'application/json';
    const response = await fetch(`${base}${path}`, { method, headers, ...(init.body !== undefined ? { body: init.body } : {}), redirect: 'manual' });
    const text = await response.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, text, json };
  };
  const json = (body: unknown) => JSON.stringify(body);
  const status = (answer: Answer, expected: number, what: string) => expect(answer.status === expected, `${what}: expected ${expected}, got ${answer.status} ${answer.text.slice(0, 120)}`);
  /** The error body: {"detail", "code", "errors"?}, with this code (and these fields in errors). */
  const errorBody = (answer: Answer, code: string, fields: string[] = []) => {
    const body = answer.json as Record<string, unknown> | undefined;
    expect(body && typeof body.detail === 'string' && typeof body.code === 'string', `the error body is not {"detail", "code"}: ${answer.text.slice(0, 120)}`);
    expect(body.code === code, `expected code "${code}", got "${String(body.code)}"`);
    const extra = Object.keys(body).filter((k) => !['detail', 'code', 'errors'].includes(k));
    expect(extra.length === 0, `the error body has other keys: ${extra.join(', ')}`);
    for (const field of fields) expect((body.errors as Record<string, unknown> | undefined)?.[field] !== undefined, `errors does not name "${field}": ${answer.text.slice(0, 160)}`);
  };

  const results: CheckResult[] = [];
  const check = async (name: string, run: () => Promise<string | void>) => {
    try {
      const note = await run();
      results.push({ name, ok: true, reason: note ?? '' });
    } catch (error) {
      results.push({ name, ok: false, reason: error instanceof Failure ? error.message : `error: ${(error as Error).message}` });
    }
  };

  let original: Record<string, unknown> | undefined;
  await check('GET user: 200, exactly the v1.1 fields, with their types', async () => {
    const answer = await call('GET', userPath);
    status(answer, 200, 'GET user');
    const user = answer.json as Record<string, unknown>;
    expect(user && typeof user === 'object', 'the body is not a JSON object');
    expect(json(Object.keys(user).sort()) === json(USER_FIELDS), `fields are ${Object.keys(user).sort().join(', ')}`);
    expect(Number.isInteger(user.id), 'id is not an integer');
    expect(user.username === options.username.toLowerCase(), `username is ${String(user.username)}`);
    expect(user.type === 'User', `type is ${String(user.type)}`);
    expect(typeof user.url === 'string' && user.url.endsWith(`/api/v1.1/users/${user.username}/`), `url is ${String(user.url)}`);
    expect(typeof user.date_joined === 'string' && RFC3339_MICROS.test(user.date_joined), `date_joined is not RFC 3339 with six fractional digits: ${String(user.date_joined)}`);
    for (const f of ['full_name', 'location', 'company', 'profile_url', 'gravatar_url', 'email']) expect(typeof user[f] === 'string', `${f} is not a string`);
    expect(typeof user.is_active === 'boolean', 'is_active is not a boolean');
    expect((answer.headers.get('content-type') ?? '').startsWith('application/json'), `Content-Type is ${answer.headers.get('content-type')}`);
    expect((answer.headers.get('cache-control') ?? '').includes('no-store'), 'no Cache-Control: no-store on an authenticated answer');
    original = user;
  });

  await check('the username in the path is matched case-insensitively; the trailing slash is optional', async () => {
    status(await call('GET', `/api/v1.1/users/${options.username.toUpperCase()}/`), 200, 'GET with the username upper-cased');
    status(await call('GET', userPath.slice(0, -1)), 200, 'GET without the trailing slash');
  });

  await check('no credentials: 401 not_authenticated with both challenges (Basic and Bearer)', async () => {
    const answer = await call('GET', userPath, { authorization: null });
    status(answer, 401, 'GET without credentials');
    errorBody(answer, 'not_authenticated');
    const challenges = answer.headers.get('www-authenticate') ?? '';
    expect(/basic/i.test(challenges) && /bearer/i.test(challenges), `WWW-Authenticate is "${challenges}"`);
  });

  await check('a wrong password: 401 not_authenticated', async () => {
    const answer = await call('GET', userPath, { authorization: basic(options.username, `wrong-${randomBytes(6).toString('hex')}`) });
    status(answer, 401, 'GET with a wrong password');
    errorBody(answer, 'not_authenticated');
  });

  await check('an unknown Bearer token: 401 with error="invalid_token" (RFC 6750)', async () => {
    const answer = await call('GET', userPath, { authorization: `Bearer not-a-token-${randomBytes(6).toString('hex')}` });
    status(answer, 401, 'GET with an unknown token');
    expect(/invalid_token/.test(answer.headers.get('www-authenticate') ?? ''), 'no error="invalid_token" in WWW-Authenticate');
  });

  await check('an unknown user: 404 not_found (after authentication)', async () => {
    const answer = await call('GET', `/api/v1.1/users/nosuchuser${randomBytes(4).toString('hex')}/`);
    status(answer, 404, 'GET of an unknown user');
    errorBody(answer, 'not_found');
    status(await call('GET', `/api/v1.1/users/nosuchuser${randomBytes(4).toString('hex')}/`, { authorization: null }), 401, 'the same without credentials');
  });

  await check('a method a path does not have: 405 with Allow', async () => {
    const answer = await call('PUT', userPath, { body: '{}' });
    status(answer, 405, 'PUT user');
    expect((answer.headers.get('allow') ?? '').includes('PATCH'), `Allow is "${answer.headers.get('allow')}"`);
  });

  await check('PATCH {}: 200, nothing changes', async () => {
    const answer = await call('PATCH', userPath, { body: '{}' });
    status(answer, 200, 'PATCH {}');
    expect(original === undefined || json(answer.json) === json(original), 'the user changed');
  });

  await check('PATCH: a field is written and answered; the others stay; written back after', async () => {
    expect(original, 'GET user failed, nothing to restore');
    const location = `Conformance ${randomBytes(3).toString('hex')}`;
    const answer = await call('PATCH', userPath, { body: json({ location }) });
    status(answer, 200, 'PATCH location');
    const user = answer.json as Record<string, unknown>;
    expect(user.location === location, `location is ${String(user.location)}`);
    expect(user.full_name === original.full_name && user.company === original.company, 'other fields changed');
    status(await call('PATCH', userPath, { body: json({ location: original.location }) }), 200, 'PATCH back');
  });

  await check('PATCH: an unknown field, a non-string value, an over-long value, a bad profile_url: 400 naming the field', async () => {
    for (const [body, field] of [
      [{ nickname: 'x' }, 'nickname'],
      [{ location: 5 }, 'location'],
      [{ company: 'x'.repeat(256) }, 'company'],
      [{ profile_url: 'javascript:alert(1)' }, 'profile_url'],
    ] as const) {
      const answer = await call('PATCH', userPath, { body: json(body) });
      status(answer, 400, `PATCH ${json(body).slice(0, 40)}`);
      errorBody(answer, 'invalid', [field]);
    }
  });

  await check('PATCH: read-only fields are ignored (a client may send back what it read)', async () => {
    expect(original, 'GET user failed');
    const answer = await call('PATCH', userPath, { body: json(original) });
    status(answer, 200, 'PATCH of the user as read');
  });

  await check('bodies: invalid JSON is 400 malformed_body, another Content-Type 415', async () => {
    const broken = await call('PATCH', userPath, { body: '{"location": "x",}' });
    status(broken, 400, 'PATCH with invalid JSON');
    errorBody(broken, 'malformed_body');
    const other = await call('PATCH', userPath, { body: 'location=x', contentType: 'text/plain' });
    status(other, 415, 'PATCH text/plain');
    errorBody(other, 'unsupported_media_type');
  });

  let primary: string | undefined;
  await check('GET emails: 200, [{email, verified, primary}], one primary, first', async () => {
    const answer = await call('GET', emailsPath);
    status(answer, 200, 'GET emails');
    const list = answer.json as Array<Record<string, unknown>>;
    expect(Array.isArray(list) && list.length > 0, 'not a non-empty array');
    for (const e of list) {
      expect(json(Object.keys(e).sort()) === json(['email', 'primary', 'verified']), `an address has fields ${Object.keys(e).join(', ')}`);
      expect(typeof e.email === 'string' && typeof e.verified === 'boolean' && typeof e.primary === 'boolean', 'wrong field types');
    }
    expect(list.filter((e) => e.primary).length === 1 && list[0]!.primary === true, 'not exactly one primary, first');
    primary = list[0]!.email as string;
    expect(original === undefined || original.email === primary, 'GET user email is not the primary address');
  });

  const added = `conformance.${randomBytes(5).toString('hex')}@example.com`;
  await check('POST emails: 201 {email, verified: false, primary: false}; the same again is a 400 naming email', async () => {
    const answer = await call('POST', emailsPath, { body: json({ email: added }) });
    status(answer, 201, 'POST a new address');
    expect(json(answer.json) === json({ email: added, verified: false, primary: false }), `answered ${answer.text}`);
    const again = await call('POST', emailsPath, { body: json({ email: added.toUpperCase() }) });
    status(again, 400, 'POST of an address in use (other case)');
    errorBody(again, 'invalid', ['email']);
  });

  await check('POST emails: missing, empty or invalid email is a 400 naming email', async () => {
    for (const body of [{}, { email: '' }, { email: 'not an address' }]) {
      const answer = await call('POST', emailsPath, { body: json(body) });
      status(answer, 400, `POST ${json(body)}`);
      errorBody(answer, 'invalid', ['email']);
    }
  });

  await check('primary and verification of an unverified or unknown address: 400 or 404 email_not_found', async () => {
    const unverified = await call('POST', `${emailsPath}primary/`, { body: json({ email: added }) });
    status(unverified, 400, 'making an unverified address primary');
    const unknown = await call('POST', `${emailsPath}primary/`, { body: json({ email: `nobody.${randomBytes(4).toString('hex')}@example.com` }) });
    status(unknown, 404, 'making an unknown address primary');
    errorBody(unknown, 'email_not_found');
    const verifyUnknown = await call('POST', `${emailsPath}verification/`, { body: json({ email: `nobody.${randomBytes(4).toString('hex')}@example.com` }) });
    status(verifyUnknown, 400, 'verifying an address the user does not have');
    errorBody(verifyUnknown, 'invalid', ['email']);
  });

  await check('DELETE emails: 204 with an empty body and Content-Length: 0; again 404 email_not_found', async () => {
    const answer = await call('DELETE', emailsPath, { body: json({ email: added }) });
    status(answer, 204, 'DELETE the added address');
    expect(answer.text === '', 'the 204 has a body');
    expect(answer.headers.get('content-length') === '0', `Content-Length is ${answer.headers.get('content-length')}`);
    const again = await call('DELETE', emailsPath, { body: json({ email: added }) });
    status(again, 404, 'DELETE it again');
    errorBody(again, 'email_not_found');
  });

  await check('DELETE of the primary address: 400 primary_email', async () => {
    expect(primary, 'GET emails failed');
    const answer = await call('DELETE', emailsPath, { body: json({ email: primary }) });
    status(answer, 400, 'DELETE the primary');
    errorBody(answer, 'primary_email');
  });

  if (options.token !== undefined) {
    const token = options.token;
    await check('the token works as Bearer and as the password of Basic, within its scopes (200, or 403 insufficient_scope)', async () => {
      for (const authorization of [`Bearer ${token}`, basic(options.username, token)]) {
        const answer = await call('GET', userPath, { authorization });
        expect(answer.status === 200 || answer.status === 403, `GET user with the token: ${answer.status} ${answer.text.slice(0, 120)}`);
        if (answer.status === 403) errorBody(answer, 'insufficient_scope');
      }
      const write = await call('PATCH', userPath, { authorization: `Bearer ${token}`, body: '{}' });
      expect(write.status === 200 || write.status === 403, `PATCH {} with the token: ${write.status}`);
      if (write.status === 403) {
        errorBody(write, 'insufficient_scope');
        expect(/insufficient_scope/.test(write.headers.get('www-authenticate') ?? ''), 'the 403 has no WWW-Authenticate error="insufficient_scope"');
        return 'the token lacks profile_write (403 checked)';
      }
    });
  }

  return results;
}
