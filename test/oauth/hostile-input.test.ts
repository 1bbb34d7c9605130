// Hostile input on the authorization server: property-based requests
// (fast-check) to the authorize, token, revocation, introspection and interaction endpoints, with
// parameters drawn from what clients send, mixed with garbage. After each request:
// - nothing is a 5xx;
// - the token, revocation and introspection endpoints answer JSON, errors in the RFC 6749 shape
//   ({"error", "error_description"}) with a registered error code, and never let a cache keep it;
// - the authorize endpoint either shows an HTML page or redirects to one of the client's
//   registered redirect URIs or to our own pages: never anywhere else (RFC 9700 §4.1, open redirect);
// - no stack trace, source path or SQL leaks.
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, makeUser, type TestApp } from '../support/app.ts';
import { authorize, makeClient, pkcePair, redeem } from '../support/oauth.ts';

const FACTOR = Math.max(1, Number(process.env.HOSTILE_INPUT_FACTOR ?? 1) || 1);
const RUNS = { token: 300 * FACTOR, authorize: 300 * FACTOR, interaction: 100 * FACTOR, other: 150 * FACTOR };

// RFC 6749 §5.2, RFC 7009 §2.2.1, RFC 8707 §2, RFC 9449 and what oidc-provider adds.
const OAUTH_ERRORS = new Set([
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'unsupported_token_type',
  'invalid_target',
  'invalid_dpop_proof',
  'use_dpop_nonce',
]);
const LEAK = /\bat \S+ \(|\.(?:ts|js|mjs):\d+|node_modules|SQLITE_|no such (?:table|column)|duplicate key|violates|syntax error at|kysely|TypeError|ReferenceError/i;

let t: TestApp;
let client: Awaited<ReturnType<typeof makeClient>>;
let publicClient: Awaited<ReturnType<typeof makeClient>>;
let live: { code: string; verifier: string; refresh: string; access: string };
const statuses: Record<string, Record<number, number>> = {};

beforeAll(async () => {
  // The per-IP budget of sign-ins would answer most of these 429 before the code under test runs.
  t = await buildTestApp({ env: { OAUTH_AUTHORIZE_PER_MINUTE: '1000000' } });
  const user = await makeUser(t.deps);
  client = await makeClient(t.deps, { redirectUris: ['https://app.example.test/cb', 'http://127.0.0.1:8000/cb'] });
  publicClient = await makeClient(t.deps, { public: true, redirectUris: ['http://localhost:9000/cb'] });
  const { verifier, challenge } = pkcePair();
  const first = await authorize(t.app, client, user, { challenge });
  const tokens = await redeem(t.app, client, first.code!, verifier);
  const second = pkcePair();
  const unused = await authorize(t.app, client, user, { challenge: second.challenge, browser: first.browser });
  live = { code: unused.code!, verifier: second.verifier, refresh: String(tokens.body.refresh_token), access: String(tokens.body.access_token) };
});
afterAll(() => t?.close());

function count(category: string, res: LightMyRequestResponse): void {
  statuses[category] ??= {};
  statuses[category][res.statusCode] = (statuses[category][res.statusCode] ?? 0) + 1;
}

function expectNoLeak(res: LightMyRequestResponse, where: string): void {
  expect(res.statusCode, `${where} → ${res.body.slice(0, 300)}`).toBeLessThan(500);
  expect(LEAK.test(res.body), `${where} leaked: ${res.body.slice(0, 300)}`).toBe(false);
}

function expectOAuthJson(res: LightMyRequestResponse, where: string, noStore: boolean): void {
  expectNoLeak(res, where);
  if (res.statusCode === 200) return;
  expect(res.headers['content-type'], where).toMatch(/^application\/json/);
  // RFC 6749 §5.1 and RFC 7662 §2.2 answers carry tokens or what is known of them.
  if (noStore) expect(res.headers['cache-control'], where).toBe('no-store');
  const body = res.json() as { error?: unknown; error_description?: unknown };
  expect(OAUTH_ERRORS.has(String(body.error)), `${where} → ${res.body}`).toBe(true);
  expect(typeof body.error_description, where).toBe('string');
}

// Values a client would send, values it should not, and garbage.
const valueArb = fc.oneof(
  fc.constantFrom('authorization_code', 'code', 'refresh_token', 'password', 'client_credentials', 'implicit', 'urn:ietf:params:oauth:grant-type:device_code'),
  fc.constantFrom('profile_read', 'profile_read email_read', 'openid profile email', 'admin', 'profile_read\u0000', ''),
  fc.constantFrom('https://app.example.test/cb', 'https://evil.example/cb', 'http://127.0.0.1:8000/cb', 'javascript:alert(1)', '//evil.example'),
  fc.constantFrom('S256', 'plain', 'none', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'),
  fc.string({ maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('a'.repeat(5000), '%', '%00', '\uD800', '[]', '{}', '__proto__', 'constructor'),
);
const keyArb = fc.oneof(
  fc.constantFrom('grant_type', 'code', 'redirect_uri', 'code_verifier', 'refresh_token', 'scope', 'client_id', 'client_secret', 'token', 'token_type_hint', 'resource', 'username', 'password'),
  fc.constantFrom('__proto__', 'constructor', 'prototype', ''),
  fc.string({ maxLength: 20 }),
);
const pairsArb = fc.array(fc.tuple(keyArb, valueArb), { maxLength: 8 });

type Body = { contentType?: string; payload?: string };
function encode(kind: string, pairs: [string, string][], extras: { live: boolean; clientParams: boolean }): Body {
  const all: [string, string][] = [...pairs];
  if (extras.live) all.push(['code', live.code], ['code_verifier', live.verifier], ['refresh_token', live.refresh], ['token', live.access]);
  if (extras.clientParams) all.push(['client_id', client.client_id], ['client_secret', client.client_secret!]);
  switch (kind) {
    case 'form':
      return { contentType: 'application/x-www-form-urlencoded', payload: new URLSearchParams(all).toString() };
    case 'json':
      return { contentType: 'application/json', payload: JSON.stringify(Object.fromEntries(all)) };
    case 'json-nested':
      return { contentType: 'application/json', payload: JSON.stringify({ grant_type: { $ne: 1 }, list: all }) };
    case 'broken-json':
      return { contentType: 'application/json', payload: '{"grant_type": "code",' };
    case 'text':
      return { contentType: 'text/plain', payload: all.map((p) => p.join('=')).join('&') };
    case 'multipart':
      return { contentType: 'multipart/form-data; boundary=x', payload: '--x\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\ncode\r\n--x--\r\n' };
    default:
      return {};
  }
}

const authArb = fc.oneof(
  fc.constant(undefined),
  fc.constant('client'),
  fc.constant('wrong-secret'),
  fc.constant('public'),
  fc.string({ maxLength: 40 }).map((s) => `Basic ${s}`),
  fc.string({ maxLength: 40 }).map((s) => `Basic ${Buffer.from(s).toString('base64')}`),
  fc.constant('Bearer x'),
);
function authorization(kind: string | undefined): string | undefined {
  const b = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
  if (kind === 'client') return b(client.client_id, client.client_secret!);
  if (kind === 'wrong-secret') return b(client.client_id, 'nope');
  if (kind === 'public') return b(publicClient.client_id, '');
  return kind;
}
const encodingArb = fc.constantFrom('form', 'form', 'json', 'json-nested', 'broken-json', 'text', 'multipart', 'none');

describe('hostile input on the authorization server never gets a 5xx, a leak or an open redirect', () => {
  for (const [path, category] of [
    ['/api/v1.1/o/token/', 'token'],
    ['/api/v1.1/o/revoke/', 'other'],
    ['/api/v1.1/o/introspect/', 'other'],
  ] as const) {
    it(`${path}: any body, any credentials → an RFC 6749 answer`, async () => {
      await fc.assert(
        fc.asyncProperty(encodingArb, pairsArb, authArb, fc.boolean(), fc.boolean(), fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT', 'DELETE'), async (kind, pairs, auth, withLive, withClient, method) => {
          const body = encode(kind, pairs, { live: withLive, clientParams: withClient });
          const headers: Record<string, string> = {};
          if (body.contentType) headers['content-type'] = body.contentType;
          const auth2 = authorization(auth);
          if (auth2 !== undefined) headers.authorization = auth2;
          const res = await t.app.inject({ method, url: path, headers, ...(body.payload !== undefined && method !== 'GET' ? { payload: body.payload } : {}) });
          count(category, res);
          const where = `${method} ${path} ${kind} ${JSON.stringify(pairs).slice(0, 200)}`;
          if (method !== 'POST') {
            // The API's 405, listing what is allowed (RFC 9110 §15.5.6) — or its 400/415 when the
            // body could not even be read, as on any other path.
            expectNoLeak(res, where);
            expect([400, 405, 415], where).toContain(res.statusCode);
            if (res.statusCode === 405) expect(res.headers.allow, where).toBe('OPTIONS, POST');
            expect(res.json(), where).toHaveProperty('code');
            return;
          }
          expectOAuthJson(res, where, path !== '/api/v1.1/o/revoke/');
        }),
        {
          numRuns: category === 'token' ? RUNS.token : RUNS.other,
          // Run first, so that the counts below never hang on chance: the generated requests
          // meet a wrong client secret on a readable POST only ≈ 2–8 times in 300.
          examples: [
            ['form', [['grant_type', 'authorization_code']], 'wrong-secret', false, false, 'POST'],
            ['form', [['grant_type', 'refresh_token']], 'client', false, false, 'POST'],
          ],
        },
      );
      // Requests get past the client check to the endpoint itself, and are refused there too.
      if (category === 'token') {
        expect(statuses.token?.[400]).toBeGreaterThan(0);
        expect(statuses.token?.[401]).toBeGreaterThan(0);
      }
    });
  }

  it('the authorize endpoint: a page, or a redirect to a registered URI or our own pages only', async () => {
    const registered = ['https://app.example.test/cb', 'http://127.0.0.1:8000/cb', 'http://localhost:9000/cb'];
    await fc.assert(
      fc.asyncProperty(pairsArb, fc.constantFrom('client', 'public', 'unknown', 'none'), fc.constantFrom('code', 'token', 'code id_token', 'none', ''), fc.boolean(), async (pairs, who, responseType, withPkce) => {
        const query = new URLSearchParams(pairs.filter(([k]) => k !== 'client_id' && k !== 'response_type'));
        if (who === 'client') query.set('client_id', client.client_id);
        if (who === 'public') query.set('client_id', publicClient.client_id);
        if (who === 'unknown') query.set('client_id', 'not-a-client');
        if (responseType) query.set('response_type', responseType);
        if (withPkce) {
          query.set('code_challenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
          query.set('code_challenge_method', 'S256');
        }
        const res = await t.app.inject({ url: `/api/v1.1/o/authorize/?${query}` });
        count('authorize', res);
        const where = `authorize ?${query.toString().slice(0, 300)}`;
        expectNoLeak(res, where);
        if (res.statusCode >= 300 && res.statusCode < 400) {
          const location = String(res.headers.location);
          const ours = location.startsWith('/api/v1.1/o/interaction/');
          const theirs = registered.some((uri) => location === uri || location.startsWith(`${uri}?`) || location.startsWith(`${uri}#`));
          expect(ours || theirs, `${where} → ${location}`).toBe(true);
        } else {
          expect(res.headers['content-type'], where).toMatch(/^text\/html/);
        }
      }),
      { numRuns: RUNS.authorize },
    );
    // The generators reach both outcomes.
    expect(Object.keys(statuses.authorize ?? {}).length).toBeGreaterThan(1);
  });

  it('the interaction pages: unknown or forged interactions and forms', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 50 }), fc.constantFrom('x', '..', '%2e%2e', 'a'.repeat(43))), fc.constantFrom('', 'login', 'consent', 'abort'), pairsArb, fc.constantFrom('GET', 'POST'), async (uid, action, pairs, method) => {
        const url = `/api/v1.1/o/interaction/${encodeURIComponent(uid)}/${action}`;
        const res = await t.app.inject({ method, url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, ...(method === 'POST' ? { payload: new URLSearchParams(pairs).toString() } : {}) });
        count('interaction', res);
        expectNoLeak(res, `${method} ${url}`);
        expect(res.statusCode, `${method} ${url}`).not.toBe(200);
        expect(res.statusCode, `${method} ${url}`).not.toBe(303);
      }),
      { numRuns: RUNS.interaction },
    );
  });
});
