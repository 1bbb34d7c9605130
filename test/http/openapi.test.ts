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
  'get /api/v1.1/users/{username}/': { scope: 'profile_read', statuses: [200, 401, 403, 404, 405, 429, 503] },
  'patch /api/v1.1/users/{username}/': { scope: 'profile_write', statuses: [200, 400, 401, 403, 404, 405, 413, 415, 429, 503] },
  'get /api/v1.1/users/{username}/emails/': { scope: 'email_read', statuses: [200, 401, 403, 404, 405, 429, 503] },
  'post /api/v1.1/users/{username}/emails/': { scope: 'email_write', statuses: [201, 400, 401, 403, 404, 405, 413, 415, 429, 503] },
  'delete /api/v1.1/users/{username}/emails/': { scope: 'email_write', statuses: [204, 400, 401, 403, 404, 405, 413, 415, 429, 503] },
  // 429 is also the per-address limit on verification mails.
  'post /api/v1.1/users/{username}/emails/verification/': { scope: 'email_write', statuses: [202, 400, 401, 403, 404, 405, 413, 415, 429, 503] },
  'post /api/v1.1/users/{username}/emails/primary/': { scope: 'email_write', statuses: [200, 400, 401, 403, 404, 405, 413, 415, 429, 503] },
};

beforeAll(async () => {
  t = await buildTestApp();
  const user = await makeUser(t.deps, { username: 'docuser' });
  auth = basic('docuser', user.password);
  doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
});
afterAll(() => t.close());

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ key: `${method} ${path}`, method, path, op })));

function resolveRefs(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(resolveRefs);
  if (schema && typeof schema === 'object') {
    const ref = (schema as { $ref?: string }).$ref;
    if (ref) return resolveRefs(doc.components.schemas[ref.replace('#/components/schemas/', '')]);
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
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addFormat('uri', (s: string) => URL.canParse(s));

  async function check(method: string, url: string, docKey: string, payload?: unknown) {
    const res = await t.app.inject({ method: method as 'GET', url, headers: { authorization: auth, 'content-type': 'application/json' }, ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }) });
    const op = operations().find((o) => o.key === docKey)!.op;
    const documented = op.responses[String(res.statusCode)];
    expect(documented, `${docKey} answered ${res.statusCode}, which is not documented`).toBeDefined();
    const schema = documented!.content?.['application/json']?.schema;
    if (schema === undefined) {
      expect(res.body).toBe('');
      return res;
    }
    const validate = ajv.compile(resolveRefs(schema) as object);
    expect(validate(res.json()), JSON.stringify(validate.errors)).toBe(true);
    return res;
  }

  it('for successes', async () => {
    await check('GET', '/api/v1.1/users/docuser/', 'get /api/v1.1/users/{username}/');
    await check('PATCH', '/api/v1.1/users/docuser/', 'patch /api/v1.1/users/{username}/', { location: 'Doc Town' });
    await check('POST', '/api/v1.1/users/docuser/emails/', 'post /api/v1.1/users/{username}/emails/', { email: 'doc2@example.com' });
    await check('GET', '/api/v1.1/users/docuser/emails/', 'get /api/v1.1/users/{username}/emails/');
    await check('DELETE', '/api/v1.1/users/docuser/emails/', 'delete /api/v1.1/users/{username}/emails/', { email: 'doc2@example.com' });
    await check('POST', '/api/v1.1/users/docuser/emails/', 'post /api/v1.1/users/{username}/emails/', { email: 'doc3@example.com' });
    const accepted = await check('POST', '/api/v1.1/users/docuser/emails/verification/', 'post /api/v1.1/users/{username}/emails/verification/', { email: 'doc3@example.com' });
    expect(accepted.statusCode).toBe(202);
    await check('POST', '/api/v1.1/users/docuser/emails/primary/', 'post /api/v1.1/users/{username}/emails/primary/', { email: 'docuser@example.com' });
  });

  it('for errors', async () => {
    expect((await check('PATCH', '/api/v1.1/users/docuser/', 'patch /api/v1.1/users/{username}/', { bogus: 1 })).statusCode).toBe(400);
    expect((await check('GET', '/api/v1.1/users/nobodyhere/', 'get /api/v1.1/users/{username}/')).statusCode).toBe(404);
    expect((await check('DELETE', '/api/v1.1/users/docuser/emails/', 'delete /api/v1.1/users/{username}/emails/', { email: 'nope@example.com' })).statusCode).toBe(404);
    expect((await check('POST', '/api/v1.1/users/docuser/emails/verification/', 'post /api/v1.1/users/{username}/emails/verification/', { email: 'nope@example.com' })).statusCode).toBe(400);
    expect((await check('POST', '/api/v1.1/users/docuser/emails/primary/', 'post /api/v1.1/users/{username}/emails/primary/', { email: 'nope@example.com' })).statusCode).toBe(404);
  });
});
