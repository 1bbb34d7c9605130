// The OpenAPI document and the routes must agree: same operations, same scopes, every status the
// spec names, and real responses that match the documented schemas.
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeTable } from '../../src/http/method-not-allowed.ts';
import { basic, buildTestApp, makeUser, type TestApp } from '../support/app.ts';

/** Where the authorization server's endpoints are (src/oauth/paths.ts). */
const OAUTH_PREFIX = '/api/v1.1/o/';

type Operation = { security?: Array<Record<string, string[]>>; responses: Record<string, { content?: Record<string, { schema: unknown }> }> };
type Doc = { openapi: string; paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } };

let t: TestApp;
let doc: Doc;
let auth: string;

// docs/reference/api.md, "Resources" and "Order of checks and status codes"; 429 and 503
// come from the brute-force limits and the cap on password hashing.
const SPEC: Record<string, { scope: string; statuses: number[] }> = {
  'get /api/v1.1/users/{username}/': { scope: 'profile_read', statuses: [200, 304, 401, 403, 404, 405, 429, 503] },
  'patch /api/v1.1/users/{username}/': { scope: 'profile_write', statuses: [200, 400, 401, 403, 404, 405, 412, 413, 415, 429, 503] },
  'get /api/v1.1/users/{username}/emails/': { scope: 'email_read', statuses: [200, 304, 401, 403, 404, 405, 429, 503] },
  'post /api/v1.1/users/{username}/emails/': { scope: 'email_write', statuses: [201, 400, 401, 403, 404, 405, 409, 412, 413, 415, 422, 429, 503] },
  'delete /api/v1.1/users/{username}/emails/': { scope: 'email_write', statuses: [204, 400, 401, 403, 404, 405, 412, 413, 415, 429, 503] },
  // 429 is also the per-address limit on verification mails.
  'post /api/v1.1/users/{username}/emails/verification/': { scope: 'email_write', statuses: [202, 400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 503] },
  'post /api/v1.1/users/{username}/emails/primary/': { scope: 'email_write', statuses: [200, 400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 503] },
  // Beyond v1.1: the person's security log (docs/reference/api.md).
  'get /api/v1.1/users/{username}/events/': { scope: 'security_read', statuses: [200, 401, 403, 404, 405, 429, 503] },
};

beforeAll(async () => {
  t = await buildTestApp();
  const user = await makeUser(t.deps, { username: 'docuser' });
  auth = basic('docuser', user.password);
  doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
});
afterAll(() => t.close());

/** The API's operations (the authorization server's, described by hand, are checked on their own). */
const operations = () =>
  Object.entries(doc.paths)
    .filter(([path]) => !path.startsWith(OAUTH_PREFIX))
    .flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ key: `${method} ${path}`, method, path, op })));

function resolveRefs(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(resolveRefs);
  if (schema && typeof schema === 'object') {
    const ref = (schema as { $ref?: string }).$ref;
    if (ref) {
      const target = doc.components.schemas[ref.replace('#/components/schemas/', '')];
      if (target === undefined) throw new Error(`${ref} is not in the document`);
      return resolveRefs(target);
    }
    return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, resolveRefs(v)]));
  }
  return schema;
}

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 and documents exactly the operations of the spec', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(operations().map((o) => o.key).sort()).toEqual(Object.keys(SPEC).sort());
  });

  it('documents exactly the routes the server has (hidden operational routes aside)', () => {
    const documented = new Map<string, string[]>();
    for (const { method, path } of operations()) {
      const url = path.replace(/\{(\w+)\}/g, ':$1');
      documented.set(url, [...(documented.get(url) ?? []), method.toUpperCase()]);
    }
    // The authorization server's endpoints (/api/v1.1/o/…) are OAuth's, described by its metadata
    // (RFC 8414, /.well-known/oauth-authorization-server), not by this document.
    const served = [...routeTable(t.app)].filter(([url]) => url.startsWith('/api/') && !url.startsWith(OAUTH_PREFIX));
    expect(served.map(([url]) => `${url}/`).sort()).toEqual([...documented.keys()].sort());
    for (const [url, methods] of served) {
      const docMethods = documented.get(`${url}/`)!;
      const expected = docMethods.includes('GET') ? [...docMethods, 'HEAD'] : docMethods; // HEAD comes with GET
      expect(methods, url).toEqual(expected.sort());
    }
  });

  it('describes the authorization server\'s authorize, token, revoke and introspect endpoints, with OAuth\'s error shape', () => {
    const oauth = Object.entries(doc.paths).filter(([path]) => path.startsWith(OAUTH_PREFIX));
    expect(oauth.flatMap(([path, item]) => Object.keys(item).map((method) => `${method} ${path}`)).sort()).toEqual([
      'get /api/v1.1/o/authorize/',
      'post /api/v1.1/o/introspect/',
      'post /api/v1.1/o/revoke/',
      'post /api/v1.1/o/token/',
    ]);
    const token = doc.paths['/api/v1.1/o/token/']!.post!;
    expect(Object.keys(token.responses).sort()).toEqual(['200', '400', '401']);
    expect(JSON.stringify(token.responses['400'])).toContain('"error"');
  });

  it('names the headers beyond v1.1: ETag, the conditional and idempotency request headers, RateLimit and scope headers', () => {
    const get = doc.paths['/api/v1.1/users/{username}/']!.get! as Operation & { parameters: Array<{ name: string; in: string }>; responses: Record<string, { headers?: Record<string, unknown> }> };
    expect(get.parameters.filter((p) => p.in === 'header').map((p) => p.name)).toEqual(['if-none-match']);
    expect(Object.keys(get.responses['200']!.headers!)).toEqual(expect.arrayContaining(['ETag', 'RateLimit', 'RateLimit-Policy', 'X-OAuth-Scopes', 'X-Accepted-OAuth-Scopes']));
    const post = doc.paths['/api/v1.1/users/{username}/emails/']!.post! as unknown as { parameters: Array<{ name: string; in: string }> };
    expect(post.parameters.filter((p) => p.in === 'header').map((p) => p.name).sort()).toEqual(['idempotency-key', 'if-match']);
  });

  it('marks the PATCH body optional (an absent body is a no-op) and the email bodies required', () => {
    const ops = Object.fromEntries(operations().map((o) => [o.key, o.op as Operation & { requestBody?: { required: boolean } }]));
    expect(ops['patch /api/v1.1/users/{username}/']!.requestBody!.required).toBe(false);
    expect(ops['post /api/v1.1/users/{username}/emails/']!.requestBody!.required).toBe(true);
    expect(ops['delete /api/v1.1/users/{username}/emails/']!.requestBody!.required).toBe(true);
    expect(ops['post /api/v1.1/users/{username}/emails/verification/']!.requestBody!.required).toBe(true);
    expect(ops['post /api/v1.1/users/{username}/emails/primary/']!.requestBody!.required).toBe(true);
  });

  it('names each operation’s scope and every status code the spec gives it', () => {
    for (const { key, op } of operations()) {
      const spec = SPEC[key]!;
      expect(op.security, key).toEqual([{ basicAuth: [] }, { bearerAuth: [spec.scope] }]);
      expect(Object.keys(op.responses).map(Number).sort(), key).toEqual([...spec.statuses].sort());
    }
  });
});

describe('real responses match the documented schemas', () => {
  // Strict: a keyword or a format Ajv does not know fails the compilation instead of being
  // skipped, so no part of a schema goes unchecked.
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  ajv.addFormat('uri', (s: string) => URL.canParse(s));

  type Answer = { statusCode: number; headers: Record<string, unknown>; body: string };

  /** The answer has `status`, which the document gives the operation, and the body it documents. */
  function expectDocumented(docKey: string, status: number, res: Answer): void {
    expect(res.statusCode, `${docKey}: ${res.body}`).toBe(status);
    const op = operations().find((o) => o.key === docKey)?.op;
    expect(op, `${docKey} is not in the document`).toBeDefined();
    const documented = op!.responses[String(status)];
    expect(documented, `${docKey} answered ${status}, which is not documented`).toBeDefined();
    if (documented!.content === undefined) {
      expect(res.body, `${docKey} ${status} documents no body`).toBe('');
      return;
    }
    const mediaType = String(res.headers['content-type'] ?? '').split(';')[0]!.trim();
    const schema = documented!.content[mediaType]?.schema;
    expect(schema, `${docKey} ${status}: no schema for ${mediaType || 'a body without a Content-Type'}`).toBeDefined();
    const validate = ajv.compile(resolveRefs(schema) as object);
    expect(validate(JSON.parse(res.body)), `${docKey} ${status}: ${JSON.stringify(validate.errors)}`).toBe(true);
  }

  const exercised = new Set<string>();

  async function check(method: string, url: string, docKey: string, status: number, payload?: unknown) {
    const res = await t.app.inject({ method: method as 'GET', url, headers: { authorization: auth, 'content-type': 'application/json' }, ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }) });
    expectDocumented(docKey, status, res);
    exercised.add(`${docKey} ${status}`);
    return res;
  }

  it('for successes', async () => {
    await check('GET', '/api/v1.1/users/docuser/', 'get /api/v1.1/users/{username}/', 200);
    await check('PATCH', '/api/v1.1/users/docuser/', 'patch /api/v1.1/users/{username}/', 200, { location: 'Doc Town' });
    await check('POST', '/api/v1.1/users/docuser/emails/', 'post /api/v1.1/users/{username}/emails/', 201, { email: 'doc2@example.com' });
    await check('GET', '/api/v1.1/users/docuser/emails/', 'get /api/v1.1/users/{username}/emails/', 200);
    await check('DELETE', '/api/v1.1/users/docuser/emails/', 'delete /api/v1.1/users/{username}/emails/', 204, { email: 'doc2@example.com' });
    await check('POST', '/api/v1.1/users/docuser/emails/', 'post /api/v1.1/users/{username}/emails/', 201, { email: 'doc3@example.com' });
    await check('POST', '/api/v1.1/users/docuser/emails/verification/', 'post /api/v1.1/users/{username}/emails/verification/', 202, { email: 'doc3@example.com' });
    await check('POST', '/api/v1.1/users/docuser/emails/primary/', 'post /api/v1.1/users/{username}/emails/primary/', 200, { email: 'docuser@example.com' });
    await check('GET', '/api/v1.1/users/docuser/events/', 'get /api/v1.1/users/{username}/events/', 200);
    // Every success the document names was answered and checked.
    const successes = operations().flatMap(({ key, op }) => Object.keys(op.responses).filter((status) => status.startsWith('2')).map((status) => `${key} ${status}`));
    expect([...exercised].filter((checked) => / 2\d\d$/.test(checked)).sort()).toEqual(successes.sort());
  });

  it('for errors', async () => {
    await check('PATCH', '/api/v1.1/users/docuser/', 'patch /api/v1.1/users/{username}/', 400, { bogus: 1 });
    await check('GET', '/api/v1.1/users/nobodyhere/', 'get /api/v1.1/users/{username}/', 404);
    await check('DELETE', '/api/v1.1/users/docuser/emails/', 'delete /api/v1.1/users/{username}/emails/', 404, { email: 'nope@example.com' });
    await check('POST', '/api/v1.1/users/docuser/emails/verification/', 'post /api/v1.1/users/{username}/emails/verification/', 400, { email: 'nope@example.com' });
    await check('POST', '/api/v1.1/users/docuser/emails/primary/', 'post /api/v1.1/users/{username}/emails/primary/', 404, { email: 'nope@example.com' });
  });

  it('the check itself refuses what the document does not say', () => {
    const json = { 'content-type': 'application/json; charset=utf-8' };
    const email = { email: 'a@example.com', verified: true, primary: true };
    const emails = 'post /api/v1.1/users/{username}/emails/';
    const userKey = 'get /api/v1.1/users/{username}/';
    const user = {
      id: 1,
      username: 'a',
      url: 'https://accounts.example.test/api/v1.1/users/a/',
      date_joined: '2014-02-12T17:58:01.431312Z',
      type: 'User',
      full_name: '',
      location: '',
      company: '',
      profile_url: '',
      gravatar_url: 'https://www.gravatar.com/avatar/x',
      email: 'a@example.com',
      is_active: true,
    };
    // What passes, so that each refusal below is for its one difference.
    expectDocumented(emails, 201, { statusCode: 201, headers: json, body: JSON.stringify(email) });
    expectDocumented('delete /api/v1.1/users/{username}/emails/', 204, { statusCode: 204, headers: {}, body: '' });
    expectDocumented(userKey, 200, { statusCode: 200, headers: json, body: JSON.stringify(user) });
    const refusals: Array<[string, number, Answer]> = [
      // Another status than expected, even a documented one.
      [emails, 201, { statusCode: 400, headers: json, body: JSON.stringify({ detail: 'x', code: 'invalid' }) }],
      // A status the document does not give the operation.
      [emails, 200, { statusCode: 200, headers: json, body: JSON.stringify(email) }],
      // A required property missing, one too many, one of the wrong type.
      [emails, 201, { statusCode: 201, headers: json, body: JSON.stringify({ email: 'a@example.com', verified: true }) }],
      [emails, 201, { statusCode: 201, headers: json, body: JSON.stringify({ ...email, extra: 1 }) }],
      [emails, 201, { statusCode: 201, headers: json, body: JSON.stringify({ ...email, primary: 'yes' }) }],
      // An error body where the document has an address.
      [emails, 201, { statusCode: 201, headers: json, body: JSON.stringify({ detail: 'x', code: 'invalid' }) }],
      // A media type the document does not have.
      [emails, 201, { statusCode: 201, headers: { 'content-type': 'text/html' }, body: JSON.stringify(email) }],
      // A body where the document has none.
      ['delete /api/v1.1/users/{username}/emails/', 204, { statusCode: 204, headers: json, body: '{}' }],
      // A format broken: the user's url is not a URL.
      [userKey, 200, { statusCode: 200, headers: json, body: JSON.stringify({ ...user, url: 'not a url' }) }],
    ];
    for (const [docKey, status, answer] of refusals) expect(() => expectDocumented(docKey, status, answer), `${docKey} ${status}: ${answer.body}`).toThrow();
  });
});
