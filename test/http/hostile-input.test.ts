// Hostile input: property-based tests (fast-check) that send random and hostile
// bodies, headers, paths and methods to every endpoint through app.inject, and check after each
// request that
// - nothing is a 5xx;
// - every error is {"detail": string, "code": string, "errors"?} with a catalogued code and its
//   status, and shows no stack trace or SQL;
// - no response header carries anything from the request (each request holds a marker, in its
//   headers, body, path and query; no response header may contain it);
// - nothing reached Object.prototype;
// and after each property that the data invariants still hold: one primary email per user, at
// most 20 addresses (and email_count true), no address on two accounts (case-insensitively),
// profile fields trimmed strings of at most 255 characters without control characters.
// Most body-fuzzing requests carry valid credentials so that the body is actually parsed (the
// order of checks is 401 → 404 → 403 → 400).
import { METHODS } from 'node:http';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE } from '../../src/kernel/errors.ts';
import { MAX_FIELD_LENGTH } from '../../src/users/profile-fields.ts';
import { CONTROL_CHARACTERS } from '../../src/kernel/text.ts';
import { MAX_EMAILS_PER_USER } from '../../src/emails/emails.service.ts';
import { addEmail } from '../../src/emails/emails.service.ts';
import { basic, bearer, buildTestApp, makeToken, makeUser, type TestApp } from '../support/app.ts';

const ALICE = 'hostilealice';
const BOB = 'hostilebob';
const BODY_LIMIT = 64 * 1024;
const ALL_SCOPES = ['profile_read', 'profile_write', 'email_read', 'email_write'] as const;

let t: TestApp;
let tokens: { alice: string; aliceReadOnly: string; bob: string };

beforeAll(async () => {
  t = await buildTestApp();
  await makeUser(t.deps, { username: ALICE, email: 'Hostile.Alice@example.com' });
  const bob = await makeUser(t.deps, { username: BOB, email: 'hostile.bob@example.com' });
  await addEmail(t.deps, bob, 'Shared.Address@Example.com');
  tokens = {
    alice: await makeToken(t.deps, ALICE, ALL_SCOPES),
    aliceReadOnly: await makeToken(t.deps, ALICE, ['profile_read', 'email_read']),
    bob: await makeToken(t.deps, BOB, ALL_SCOPES),
  };
});
afterAll(() => t.close());

// ---------------------------------------------------------------------------------------------
// Sending one request and checking the answer

type HostileRequest = { method: string; url: string; headers?: Record<string, string>; payload?: string | Buffer };

const tally = { total: 0, byCategory: {} as Record<string, number>, byStatus: {} as Record<number, number> };
let requestNumber = 0;

// What a leaked internal error would look like: a stack frame, a source path, driver messages, SQL.
const LEAK =
  /\bat \S+ \(|\(\/|\.(?:ts|js|cjs|mjs):\d+|node_modules|SQLITE_|sqlite3|no such (?:table|column)|duplicate key|violates|syntax error|invalid byte sequence|constraint failed|\b(?:select|insert into|update|delete from)\s+["*]|from "\w+"|kysely|PostgreSQL|\bpg\b|FST_ERR/i;

/** The catalogue codes and their statuses (../../src/errors.ts). */
const CATALOGUE = ERROR_CATALOGUE as Record<string, { status: number; detail: string }>;

function checkErrorBody(where: string, res: LightMyRequestResponse): void {
  expect(res.headers['content-type'], where).toMatch(/^application\/json/);
  let body: unknown;
  expect(() => (body = JSON.parse(res.body)), where).not.toThrow();
  expect(body !== null && typeof body === 'object' && !Array.isArray(body), where).toBe(true);
  const { detail, code, errors, ...rest } = body as { detail?: unknown; code?: unknown; errors?: unknown };
  expect(Object.keys(rest), where).toEqual([]);
  expect(typeof detail, where).toBe('string');
  expect(typeof code, where).toBe('string');
  expect(Object.hasOwn(CATALOGUE, code as string), `${where}: code ${String(code)} is not in the catalogue`).toBe(true);
  expect(CATALOGUE[code as string]!.status, where).toBe(res.statusCode);
  const messages: string[] = [];
  if (errors !== undefined) {
    expect(errors !== null && typeof errors === 'object' && !Array.isArray(errors), where).toBe(true);
    for (const list of Object.values(errors as Record<string, unknown>)) {
      expect(Array.isArray(list), where).toBe(true);
      for (const m of list as unknown[]) {
        expect(typeof m, where).toBe('string');
        messages.push(m as string);
      }
    }
  }
  // A detail may quote what the request named (a username, a field name): that part is the
  // request's own text, so only the rest is checked. Field names (the keys of `errors`) likewise.
  const ours = [(detail as string).replace(/".*"/s, '""'), ...messages].join('\n');
  expect(ours, `${where}: leaks internals`).not.toMatch(LEAK);
  expect(res.body, `${where}: a stack trace`).not.toMatch(/\\n\s+at /);
}

/** Sends `req` with decoy headers that all carry `marker`, checks the answer, and returns it. */
async function send(category: string, marker: string, req: HostileRequest): Promise<LightMyRequestResponse> {
  requestNumber += 1;
  const n = requestNumber;
  const headers: Record<string, string> = {
    'user-agent': `hostile/${marker}`,
    'x-hostile': marker,
    'x-request-id': marker,
    cookie: `session=${marker}`,
    origin: `https://${marker}.example`,
    referer: `https://example.com/${marker}`,
    accept: `application/json, text/${marker}`,
    'accept-language': marker,
    'x-forwarded-for': marker,
    ...req.headers,
  };
  const options: InjectOptions = {
    method: req.method as InjectOptions['method'],
    url: req.url,
    headers,
    // A fresh address per request: the per-IP budget of failed authentications is not what is
    // tested here (test/auth/brute-force.test.ts is), and must not turn later requests into 429s.
    remoteAddress: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
    ...(req.payload !== undefined ? { payload: req.payload } : {}),
  };
  const res = await t.app.inject(options);

  tally.total += 1;
  tally.byCategory[category] = (tally.byCategory[category] ?? 0) + 1;
  tally.byStatus[res.statusCode] = (tally.byStatus[res.statusCode] ?? 0) + 1;

  const where = `${category}: ${req.method} ${req.url.slice(0, 200)} → ${res.statusCode} ${res.body.slice(0, 300)}`;
  expect(res.statusCode, where).toBeGreaterThanOrEqual(200);
  expect(res.statusCode, where).toBeLessThan(500);
  expect(res.headers['x-content-type-options'], where).toBe('nosniff');
  expect(res.headers['x-powered-by'], where).toBeUndefined();
  for (const [name, value] of Object.entries(res.headers)) {
    const text = [value ?? ''].flat().join('\n').toLowerCase();
    expect(text.includes(marker.toLowerCase()), `${where}: response header ${name} echoes the request (${text.slice(0, 200)})`).toBe(false);
  }
  if (res.statusCode >= 400 && req.method !== 'HEAD') checkErrorBody(where, res);
  expect(({} as { polluted?: unknown }).polluted, `${where}: Object.prototype was polluted`).toBeUndefined();
  expect(Object.getOwnPropertyNames(Object.prototype).filter((k) => !BUILTIN_PROTOTYPE_KEYS.has(k)), where).toEqual([]);
  return res;
}

const BUILTIN_PROTOTYPE_KEYS = new Set(Object.getOwnPropertyNames(Object.prototype));

// ---------------------------------------------------------------------------------------------
// The invariants, read straight from the database

async function checkInvariants(): Promise<void> {
  const users = await t.store.db
    .selectFrom('users')
    .select(['id', 'username', 'email_count', 'full_name', 'location', 'company', 'profile_url', 'gravatar_email'])
    .execute();
  const emails = await t.store.db.selectFrom('emails').select(['user_id', 'email', 'email_key', 'is_primary']).execute();
  expect(users.length).toBe(2);
  for (const user of users) {
    const own = emails.filter((e) => e.user_id === user.id);
    expect(own.filter((e) => e.is_primary === 1).length, `${user.username}: exactly one primary`).toBe(1);
    expect(own.length, `${user.username}: at most ${MAX_EMAILS_PER_USER} addresses`).toBeLessThanOrEqual(MAX_EMAILS_PER_USER);
    expect(Number(user.email_count), `${user.username}: email_count`).toBe(own.length);
    for (const field of ['full_name', 'location', 'company', 'profile_url', 'gravatar_email'] as const) {
      const value = user[field];
      expect(typeof value, `${user.username}.${field}`).toBe('string');
      expect([...value].length, `${user.username}.${field}`).toBeLessThanOrEqual(MAX_FIELD_LENGTH);
      expect(value, `${user.username}.${field}`).not.toMatch(CONTROL_CHARACTERS);
      expect(value.isWellFormed(), `${user.username}.${field}`).toBe(true);
      expect(value, `${user.username}.${field}`).toBe(value.trim());
    }
  }
  // No address on two accounts, compared case-insensitively (and by the stored key).
  const folded = emails.map((e) => e.email.normalize('NFC').toLowerCase());
  expect(new Set(folded).size, `addresses: ${folded.join(', ')}`).toBe(folded.length);
  expect(new Set(emails.map((e) => e.email_key)).size).toBe(emails.length);
  for (const e of emails) {
    expect(e.email.isWellFormed()).toBe(true);
    expect(e.email).not.toMatch(CONTROL_CHARACTERS);
    expect(e.email).not.toContain('\uFFFD'); // nothing decoded leniently from invalid UTF-8
  }
  expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
}

// ---------------------------------------------------------------------------------------------
// Generators

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
/** A string no response could contain by chance. */
const markerArb = fc.string({ unit: fc.constantFrom(...ALNUM), minLength: 12, maxLength: 12 }).map((s) => `zq${s}qz`);

const CONTROL_CHARS = [...Array.from({ length: 0x20 }, (_, i) => i), ...Array.from({ length: 0x21 }, (_, i) => 0x7f + i)].map((c) => String.fromCharCode(c));
const controlChar = fc.constantFrom(...CONTROL_CHARS);
const loneSurrogate = fc.oneof(fc.integer({ min: 0xd800, max: 0xdbff }), fc.integer({ min: 0xdc00, max: 0xdfff })).map((c) => String.fromCharCode(c));

/** Byte sequences that are not UTF-8: stray continuation bytes, overlong forms, surrogates, > U+10FFFF, truncations. */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const invalidUtf8 = fc.oneof(
  fc.constantFrom(
    [0xff],
    [0xfe],
    [0x80],
    [0xbf],
    [0xc0, 0xaf],
    [0xc1, 0xbf],
    [0xe0, 0x80, 0xaf],
    [0xf0, 0x80, 0x80, 0xaf],
    [0xed, 0xa0, 0x80],
    [0xed, 0xbf, 0xbf],
    [0xf4, 0x90, 0x80, 0x80],
    [0xf8, 0x88, 0x80, 0x80, 0x80],
    [0xc3],
    [0xe2, 0x82],
    [0xf0, 0x9f, 0x98],
  ),
  fc
    .uint8Array({ minLength: 1, maxLength: 6 })
    .map((bytes) => [...bytes])
    .filter((bytes) => {
      try {
        strictUtf8.decode(Uint8Array.from(bytes));
        return false;
      } catch {
        return true;
      }
    }),
).map((bytes) => Buffer.from(bytes));

const HOSTILE_SNIPPETS = [
  '"',
  "'",
  '\\',
  '%',
  '%00',
  '%zz',
  '&',
  '=',
  '+',
  ';',
  '\r\n',
  '\r\nX-Injected: 1',
  '<script>alert(1)</script>',
  "' OR '1'='1",
  '"; DROP TABLE users; --',
  '${jndi:ldap://x}',
  '{{7*7}}',
  '../../etc/passwd',
  '\u202e',
  '\u2028',
  '\ufeff',
  '\uffff',
  '\u{1f600}',
  'e\u0301',
  '\u0130',
  'ß',
  '__proto__',
  'constructor',
  'javascript:alert(1)',
  'data:text/html,x',
  'http://',
  'https://example.com/',
];

const hostileString = fc
  .array(
    fc.oneof(
      { weight: 3, arbitrary: fc.string({ maxLength: 8 }) },
      { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_SNIPPETS) },
      { weight: 1, arbitrary: controlChar },
      { weight: 1, arbitrary: loneSurrogate },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
      { weight: 1, arbitrary: fc.integer({ min: 250, max: 300 }).map((n) => 'x'.repeat(n)) },
    ),
    { maxLength: 6 },
  )
  .map((parts) => parts.join(''));

/** Addresses from a small pool, in many cases: collisions with one's own and the other account's are likely. */
const emailLike = fc
  .tuple(
    fc.constantFrom('a', 'B', 'c.d', 'ünï', 'x+tag', 'hostile.bob', 'Hostile.Alice', 'shared.address', 'e'.repeat(64), 'f'.repeat(65)),
    fc.constantFrom('example.com', 'EXAMPLE.com', 'Example.Com', 'bücher.example', 'xn--bcher-kva.example', 'localhost', '127.0.0.1', 'ex_ample.com', 'a'.repeat(64) + '.com'),
    fc.constantFrom('', ' ', '\t'),
  )
  .map(([local, domain, pad]) => `${pad}${local}@${domain}${pad}`);

const PROFILE_KEYS = ['full_name', 'location', 'company', 'profile_url', 'gravatar_email'] as const;
const READ_ONLY_KEYS = ['id', 'username', 'url', 'date_joined', 'type', 'gravatar_url', 'email', 'is_active'] as const;
const PROTO_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

const bodyKey = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...PROFILE_KEYS, 'email') },
  { weight: 2, arbitrary: fc.constantFrom(...READ_ONLY_KEYS) },
  { weight: 1, arbitrary: fc.constantFrom(...PROTO_KEYS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
);
const fieldValue = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  { weight: 3, arbitrary: emailLike },
  { weight: 2, arbitrary: fc.constantFrom('', 'Jane Doe', ' San Francisco, CA ', 'https://docker.io/', 'javascript:alert(1)', 'hostile.alice@example.com') },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);
/** A body as key/value pairs in order (repeats allowed), so that keys such as __proto__ stay data. */
type Pairs = Array<[string, unknown]>;
const pairsArb: fc.Arbitrary<Pairs> = fc.array(fc.tuple(bodyKey, fieldValue), { maxLength: 4 });

type Encoding = 'json' | 'form' | 'multipart';
const encodingArb = fc.constantFrom<Encoding>('json', 'json', 'form', 'multipart');

function pairsToJson(pairs: Pairs): string {
  return `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;
}

/** Percent-encodes every byte that is not unreserved (lone surrogates become U+FFFD, as UTF-8 must). */
function percentEncode(value: string | Buffer): string {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  let out = '';
  for (const b of bytes) out += /[A-Za-z0-9._~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

/** The three bytes UTF-8 would give a surrogate code unit if it allowed one (it does not). */
function surrogateBytes(char: string): Buffer {
  const c = char.charCodeAt(0);
  return Buffer.from([0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)]);
}

function formValue(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function pairsToForm(pairs: Array<[string, unknown]>): string {
  return pairs.map(([k, v]) => `${percentEncode(k)}=${percentEncode(formValue(v))}`).join('&');
}

const BOUNDARY = 'hostile-boundary-7MA4YWxkTrZu0gW';

function multipart(parts: Array<[string, string | Buffer]>, boundary = BOUNDARY): Buffer {
  const chunks: Buffer[] = [];
  for (const [name, value] of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n`, 'utf8'));
    chunks.push(typeof value === 'string' ? Buffer.from(value, 'utf8') : value);
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

function encode(encoding: Encoding, pairs: Pairs): { contentType: string; payload: string | Buffer } {
  switch (encoding) {
    case 'json':
      return { contentType: 'application/json', payload: pairsToJson(pairs) };
    case 'form':
      return { contentType: 'application/x-www-form-urlencoded', payload: pairsToForm(pairs) };
    case 'multipart':
      return {
        contentType: `multipart/form-data; boundary=${BOUNDARY}`,
        payload: multipart(pairs.map(([k, v]) => [k.replace(/["\r\n]/g, '_'), formValue(v)])),
      };
  }
}

// Who calls, and on whose path. Most callers may write, so that bodies are parsed and validated.
type CallerKind = 'alice' | 'aliceBasicToken' | 'aliceReadOnly' | 'bobOnAlice' | 'bob';
const callerArb = fc.oneof(
  { weight: 6, arbitrary: fc.constant<CallerKind>('alice') },
  { weight: 2, arbitrary: fc.constant<CallerKind>('aliceBasicToken') },
  { weight: 1, arbitrary: fc.constant<CallerKind>('aliceReadOnly') },
  { weight: 1, arbitrary: fc.constant<CallerKind>('bobOnAlice') },
  { weight: 2, arbitrary: fc.constant<CallerKind>('bob') },
);

function caller(kind: CallerKind): { authorization: string; username: string; canWrite: boolean } {
  switch (kind) {
    case 'alice':
      return { authorization: bearer(tokens.alice), username: ALICE, canWrite: true };
    case 'aliceBasicToken':
      return { authorization: basic('HostileAlice', tokens.alice), username: ALICE, canWrite: true };
    case 'aliceReadOnly':
      return { authorization: bearer(tokens.aliceReadOnly), username: ALICE, canWrite: false };
    case 'bobOnAlice':
      return { authorization: bearer(tokens.bob), username: ALICE, canWrite: false };
    case 'bob':
      return { authorization: `bearer  ${tokens.bob}`, username: BOB, canWrite: true };
  }
}

type WriteOp = 'PATCH' | 'POST' | 'DELETE';
const writeOpArb = fc.constantFrom<WriteOp>('PATCH', 'POST', 'DELETE');
const queryArb = fc.option(
  fc.oneof(
    fc.constantFrom('access_token=dapat_x', 'a=1&a=2', '%zz=%', '__proto__[polluted]=1', 'constructor.prototype.polluted=1', '&&&==', '?'),
    fc.string({ maxLength: 20 }).map(percentEncode),
  ),
  { nil: undefined },
);
const pathShapeArb = fc.record({ slash: fc.boolean(), usernameCase: fc.constantFrom('lower', 'upper', 'title'), query: queryArb });

function apiUrl(username: string, op: WriteOp | 'GET_USER' | 'GET_EMAILS', shape: { slash: boolean; usernameCase: string; query: string | undefined }): string {
  const name = shape.usernameCase === 'upper' ? username.toUpperCase() : shape.usernameCase === 'title' ? username[0]!.toUpperCase() + username.slice(1) : username;
  const resource = op === 'PATCH' || op === 'GET_USER' ? '' : '/emails';
  return `/api/v1.1/users/${name}${resource}${shape.slash ? '/' : ''}${shape.query !== undefined ? `?${shape.query}` : ''}`;
}

/** The field a write operation takes, for generators that aim at one. */
function targetField(op: WriteOp, profileField: (typeof PROFILE_KEYS)[number]): string {
  return op === 'PATCH' ? profileField : 'email';
}

const WRITE_OUTCOMES = [200, 201, 204, 400, 404, 413, 415];

function expectWriteOutcome(res: LightMyRequestResponse, canWrite: boolean, where: string): void {
  if (canWrite) expect(WRITE_OUTCOMES, `${where} → ${res.statusCode} ${res.body.slice(0, 200)}`).toContain(res.statusCode);
  else expect(res.statusCode, `${where} → ${res.body.slice(0, 200)}`).toBe(403);
}

// Runs per property; HOSTILE_INPUT_FACTOR=10 (say) fuzzes longer, locally.
const FACTOR = Math.max(1, Number(process.env.HOSTILE_INPUT_FACTOR ?? 1) || 1);
const RUNS = Object.fromEntries(
  Object.entries({ bodies: 500, reads: 80, deep: 40, proto: 100, badText: 300, overlong: 20, contentTypes: 250, urlencoded: 200, multipart: 200, auth: 250, paths: 500 }).map(([k, n]) => [k, n * FACTOR]),
) as Record<'bodies' | 'reads' | 'deep' | 'proto' | 'badText' | 'overlong' | 'contentTypes' | 'urlencoded' | 'multipart' | 'auth' | 'paths', number>;

// ---------------------------------------------------------------------------------------------

describe('hostile input never gets a 5xx, a leak or a broken invariant', () => {
  it('arbitrary JSON, form and multipart bodies on every write endpoint', async () => {
    await fc.assert(
      fc.asyncProperty(markerArb, callerArb, writeOpArb, pathShapeArb, encodingArb, pairsArb, fc.constantFrom('field', 'whole', 'none'), async (marker, kind, op, shape, encoding, pairs, markerMode) => {
        const who = caller(kind);
        // The marker as a valid value (so that it is stored and sent back in bodies, never in headers).
        const withMarker: Pairs = markerMode === 'field' ? [...pairs, op === 'PATCH' ? ['location', marker] : ['email', `${marker}@example.com`]] : pairs;
        // Now and then a body that is not an object at all (an array, a number, a string, null).
        const body =
          markerMode === 'whole' && encoding === 'json'
            ? { contentType: 'application/json', payload: JSON.stringify([marker, ...pairs.map(([, v]) => v)][pairs.length % 3] ?? null) }
            : encode(encoding, withMarker);
        const url = apiUrl(who.username, op, shape) + (shape.query === undefined ? `?m=${marker}` : '');
        const res = await send('bodies', marker, { method: op, url, headers: { authorization: who.authorization, 'content-type': body.contentType }, payload: body.payload });
        expectWriteOutcome(res, who.canWrite, `${op} ${url}`);
      }),
      { numRuns: RUNS.bodies },
    );
    // The generators reach the handlers: some writes are refused as invalid, some go through.
    expect(tally.byStatus[400]).toBeGreaterThan(0);
    expect((tally.byStatus[200] ?? 0) + (tally.byStatus[201] ?? 0)).toBeGreaterThan(0);
    await checkInvariants();
  });

  it('reads (GET user, GET emails) with random query strings and callers', async () => {
    await fc.assert(
      fc.asyncProperty(markerArb, callerArb, fc.constantFrom('GET_USER', 'GET_EMAILS', 'HEAD_USER') , pathShapeArb, async (marker, kind, op, shape) => {
        const who = caller(kind);
        const url = apiUrl(who.username, op === 'GET_EMAILS' ? 'GET_EMAILS' : 'GET_USER', shape);
        const res = await send('reads', marker, { method: op === 'HEAD_USER' ? 'HEAD' : 'GET', url, headers: { authorization: who.authorization } });
        // Reads need read scopes, which every caller has but Bob on Alice's path.
        expect(res.statusCode, url).toBe(kind === 'bobOnAlice' ? 403 : 200);
      }),
      { numRuns: RUNS.reads },
    );
  });

  it('deeply nested JSON (up to 10,000 levels of [ or {) is a 400', async () => {
    await fc.assert(
      fc.asyncProperty(
        markerArb,
        writeOpArb,
        fc.oneof(fc.constant(10_000), fc.integer({ min: 33, max: 10_000 })),
        fc.constantFrom('array', 'object'),
        fc.constantFrom('top', 'id', 'email', 'full_name'),
        fc.boolean(),
        async (marker, op, depth, kind, under, closed) => {
          const [open, close] = kind === 'array' ? ['[', ']'] : ['{"a":', '}'];
          const inner = `${open.repeat(depth)}${kind === 'array' ? '' : '1'}${closed ? close.repeat(depth) : ''}`;
          const payload = under === 'top' ? inner : `{${JSON.stringify(under)}:${inner}}`;
          const res = await send('deep', marker, {
            method: op,
            url: `${apiUrl(ALICE, op, { slash: true, usernameCase: 'lower', query: undefined })}?m=${marker}`,
            headers: { authorization: bearer(tokens.alice), 'content-type': 'application/json' },
            payload,
          });
          expect(res.statusCode, `${op} depth ${depth} ${kind} under ${under}`).toBe(400);
          expect(res.json().code).toBe('malformed_body');
        },
      ),
      { numRuns: RUNS.deep },
    );
    await checkInvariants();
  });

  it('__proto__, constructor and prototype keys never reach a prototype', async () => {
    const protoBody = fc.oneof(
      fc.constantFrom(
        '{"__proto__":{"polluted":"yes"}}',
        '{"constructor":{"prototype":{"polluted":"yes"}}}',
        '{"prototype":{"polluted":"yes"}}',
        '{"__proto__":{"polluted":"yes"},"full_name":"x"}',
        '{"email":"a@example.com","__proto__":{"polluted":"yes"}}',
        '{"__proto__":"yes","__proto__":{"polluted":"yes"}}',
        '{"__proto__":[{"polluted":"yes"}]}',
        '{"constructor":"x","prototype":"y","__proto__":null}',
      ),
      fc.tuple(fc.constantFrom(...PROTO_KEYS), fc.constantFrom(...PROTO_KEYS, 'polluted'), fc.jsonValue({ maxDepth: 2 })).map(([a, b, v]) => `{${JSON.stringify(a)}:{${JSON.stringify(b)}:{"polluted":${JSON.stringify(v)}}}}`),
    );
    const protoForm = fc.constantFrom(
      '__proto__[polluted]=yes',
      '__proto__.polluted=yes',
      'constructor[prototype][polluted]=yes',
      'constructor.prototype.polluted=yes',
      '__proto__=yes',
      'prototype=yes&constructor=yes',
      'full_name=x&__proto__=yes',
      'email=a%40example.com&__proto__%5Bpolluted%5D=yes',
    );
    const protoMultipart = fc.constantFrom('__proto__', '__proto__[polluted]', 'constructor', 'constructor[prototype][polluted]', 'prototype', '__proto__.polluted').map((name) => multipart([[name, 'yes']]));
    await fc.assert(
      fc.asyncProperty(
        markerArb,
        writeOpArb,
        fc.oneof(
          protoBody.map((payload) => ({ contentType: 'application/json', payload: payload as string | Buffer })),
          protoForm.map((payload) => ({ contentType: 'application/x-www-form-urlencoded', payload: payload as string | Buffer })),
          protoMultipart.map((payload) => ({ contentType: `multipart/form-data; boundary=${BOUNDARY}`, payload: payload as string | Buffer })),
        ),
        async (marker, op, body) => {
          const res = await send('prototype', marker, {
            method: op,
            url: `${apiUrl(ALICE, op, { slash: false, usernameCase: 'lower', query: undefined })}?__proto__[polluted]=${marker}`,
            headers: { authorization: bearer(tokens.alice), 'content-type': body.contentType },
            payload: body.payload,
          });
          // Every body names a key no endpoint takes (or repeats one): 400.
          expect(res.statusCode, `${op} ${body.payload.toString()}`).toBe(400);
          expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
          expect((Object.prototype as { polluted?: unknown }).polluted).toBeUndefined();
        },
      ),
      { numRuns: RUNS.proto },
    );
    await checkInvariants();
  });

  it('NUL and other control characters, lone surrogates and invalid UTF-8 in a field are a 400', async () => {
    type Bad = { kind: 'control'; char: string } | { kind: 'surrogate'; char: string } | { kind: 'bytes'; bytes: Buffer };
    const badArb: fc.Arbitrary<Bad> = fc.oneof(
      controlChar.map((char) => ({ kind: 'control' as const, char })),
      loneSurrogate.map((char) => ({ kind: 'surrogate' as const, char })),
      invalidUtf8.map((bytes) => ({ kind: 'bytes' as const, bytes })),
    );
    await fc.assert(
      fc.asyncProperty(markerArb, writeOpArb, fc.constantFrom(...PROFILE_KEYS), encodingArb, badArb, async (marker, op, profileField, encoding, bad) => {
        const field = targetField(op, profileField);
        // Inside the value, where trimming cannot remove it. The value is otherwise valid.
        const [before, after] = field === 'email' || field === 'gravatar_email' ? ['ab', 'c@example.com'] : field === 'profile_url' ? ['https://exa', 'mple.com/'] : ['Jane', 'Doe'];
        const raw = bad.kind === 'bytes' ? Buffer.concat([Buffer.from(before), bad.bytes, Buffer.from(after)]) : undefined;
        // Raw bytes for the form and multipart encodings: a lone surrogate as its (invalid) three-byte form.
        const bytes = raw ?? (bad.kind === 'surrogate' ? Buffer.concat([Buffer.from(before), surrogateBytes(bad.char), Buffer.from(after)]) : Buffer.from(before + (bad as { char: string }).char + after, 'utf8'));
        let contentType: string;
        let payload: string | Buffer;
        if (encoding === 'json') {
          contentType = 'application/json';
          // Control characters and lone surrogates as JSON escapes (\u0000, \ud800); bad bytes raw.
          payload = raw ? Buffer.concat([Buffer.from(`{"${field}":"`), raw, Buffer.from('"}')]) : `{"${field}":${JSON.stringify(before + (bad as { char: string }).char + after)}}`;
        } else if (encoding === 'form') {
          contentType = 'application/x-www-form-urlencoded';
          payload = `${field}=${percentEncode(bytes)}`;
        } else {
          contentType = `multipart/form-data; boundary=${BOUNDARY}`;
          payload = multipart([[field, bytes]]);
        }
        const res = await send('bad-text', marker, {
          method: op,
          url: `${apiUrl(ALICE, op, { slash: true, usernameCase: 'lower', query: undefined })}?x=${marker}`,
          headers: { authorization: bearer(tokens.alice), 'content-type': contentType },
          payload,
        });
        expect(res.statusCode, `${op} ${encoding} ${field} ${JSON.stringify(bad)}: ${res.body}`).toBe(400);
      }),
      { numRuns: RUNS.badText },
    );
    await checkInvariants();
  });

  it('bodies over the 64 KiB limit are a 413', async () => {
    await fc.assert(
      fc.asyncProperty(markerArb, writeOpArb, encodingArb, fc.integer({ min: BODY_LIMIT + 1, max: 4 * BODY_LIMIT }), async (marker, op, encoding, size) => {
        const field = targetField(op, 'full_name');
        const filler = 'x'.repeat(size);
        const body = encode(encoding, [[field, filler], ['m', marker]]);
        const res = await send('overlong', marker, {
          method: op,
          url: apiUrl(ALICE, op, { slash: true, usernameCase: 'lower', query: undefined }),
          headers: { authorization: bearer(tokens.alice), 'content-type': body.contentType },
          payload: body.payload,
        });
        expect(res.statusCode, `${op} ${encoding} ${size}`).toBe(413);
        expect(res.json().code).toBe('request_too_large');
      }),
      { numRuns: RUNS.overlong },
    );
  });

  it('random Content-Types (with parameters, without a boundary, other charsets) are a 4xx or accepted', async () => {
    const mediaType = fc.oneof(
      fc.constantFrom(
        'application/json',
        'APPLICATION/JSON',
        'application/x-www-form-urlencoded',
        'multipart/form-data',
        'text/plain',
        'text/html',
        'application/xml',
        'application/jsonx',
        'application/json-patch+json',
        'application/merge-patch+json',
        'application/octet-stream',
        'multipart/mixed',
        '*/*',
        'application/*',
        '',
        ';',
        '/',
        'json',
      ),
      fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz/+-.*; =\t"'), maxLength: 30 }),
    );
    const parameters = fc.array(
      fc.oneof(
        fc.constantFrom('charset=utf-8', 'charset=latin1', 'charset=utf-16', 'charset="UTF-8"', 'charset=', 'boundary=', 'boundary=""', 'boundary=x', `boundary=${BOUNDARY}`, 'boundary="a b"', '=', ';', 'q=0.5'),
        fc.tuple(fc.string({ unit: fc.constantFrom(...ALNUM), maxLength: 8 }), fc.string({ unit: fc.constantFrom(...'abc"=; \t/'), maxLength: 8 })).map(([k, v]) => `${k}=${v}`),
      ),
      { maxLength: 3 },
    );
    const bodyArb = fc.oneof(
      pairsArb.map(pairsToJson),
      pairsArb.map(pairsToForm),
      pairsArb.map((pairs) => multipart(pairs.map(([k, v]) => [k.replace(/["\r\n]/g, '_'), formValue(v)]))),
      fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
      fc.constant(''),
    );
    await fc.assert(
      fc.asyncProperty(markerArb, writeOpArb, mediaType, parameters, bodyArb, async (marker, op, type, params, payload) => {
        const contentType = [type, ...params, `x-marker=${marker}`].join('; ');
        const res = await send('content-type', marker, {
          method: op,
          url: apiUrl(ALICE, op, { slash: false, usernameCase: 'lower', query: undefined }),
          headers: { authorization: bearer(tokens.alice), 'content-type': contentType },
          payload,
        });
        expectWriteOutcome(res, true, `${op} Content-Type: ${contentType}`);
        const essence = contentType.split(';')[0]!.trim().toLowerCase();
        const supported = ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'];
        if (payload.length > 0 && !supported.includes(essence)) expect(res.statusCode, `Content-Type: ${contentType}`).toBe(415);
      }),
      { numRuns: RUNS.contentTypes },
    );
    await checkInvariants();
  });

  it('malformed url-encoded bodies (bad percent escapes, repeats, stray separators)', async () => {
    const token = fc.oneof(
      fc.constantFrom('email', 'full_name', 'location', '__proto__', 'x', '=', '&', '+', '%', '%2', '%ZZ', '%zz', '%00', '%E0%A4%A', '%C0%AF', '%ED%A0%80', '%FF', '%F4%90%80%80', '%25', '%3D', '%26', '%40', 'a%40example.com', '%F0%9F%98%80', ';'),
      fc.string({ unit: fc.constantFrom(...'abc@.%&=+0123456789ABCDEFZ'), maxLength: 12 }),
    );
    await fc.assert(
      fc.asyncProperty(markerArb, writeOpArb, fc.array(token, { maxLength: 12 }), async (marker, op, tokensOfBody) => {
        const payload = `${tokensOfBody.join('')}&m=${marker}`;
        const res = await send('urlencoded', marker, {
          method: op,
          url: apiUrl(ALICE, op, { slash: true, usernameCase: 'upper', query: undefined }),
          headers: { authorization: bearer(tokens.alice), 'content-type': 'application/x-www-form-urlencoded' },
          payload,
        });
        expectWriteOutcome(res, true, `${op} ${payload}`);
      }),
      { numRuns: RUNS.urlencoded },
    );
    await checkInvariants();
  });

  it('malformed multipart bodies (bad boundaries, truncation, missing headers, files, repeats)', async () => {
    const fragment = fc.oneof(
      fc.constantFrom(
        `--${BOUNDARY}\r\n`,
        `--${BOUNDARY}--\r\n`,
        `--${BOUNDARY}`,
        '--wrong-boundary\r\n',
        'Content-Disposition: form-data; name="email"\r\n\r\n',
        'Content-Disposition: form-data; name="full_name"\r\n\r\n',
        'Content-Disposition: form-data; name="email"; filename="x.txt"\r\nContent-Type: text/plain\r\n\r\n',
        'Content-Disposition: form-data; name="location"\r\nContent-Type: application/octet-stream\r\n\r\n',
        'Content-Disposition: form-data; name="company"\r\nContent-Type: text/plain; charset=utf-16le\r\n\r\n',
        'Content-Disposition: form-data; name*=UTF-8\'\'%C3%A9\r\n\r\n',
        'Content-Disposition: attachment\r\n\r\n',
        'Content-Disposition: form-data\r\n\r\n',
        'Content-Disposition: form-data; name="\r\n\r\n',
        'Content-Transfer-Encoding: base64\r\n',
        'a@example.com',
        'Jane Doe',
        '\r\n',
        '\r\n\r\n',
        '\0',
        '--',
      ),
      fc.string({ maxLength: 20 }),
    );
    await fc.assert(
      fc.asyncProperty(markerArb, writeOpArb, fc.array(fragment, { maxLength: 14 }), fc.constantFrom(BOUNDARY, '', 'x', '"quoted boundary"', '-'.repeat(80)), async (marker, op, fragments, boundary) => {
        const payload = Buffer.from(fragments.join('') + marker, 'utf8');
        const res = await send('multipart', marker, {
          method: op,
          url: apiUrl(ALICE, op, { slash: false, usernameCase: 'title', query: undefined }),
          headers: { authorization: bearer(tokens.alice), 'content-type': `multipart/form-data; boundary=${boundary}` },
          payload,
        });
        expectWriteOutcome(res, true, `${op} ${payload.toString().slice(0, 200)}`);
      }),
      { numRuns: RUNS.multipart },
    );
    await checkInvariants();
  });

  it('random Authorization headers are a 401 (or 429), with both challenges', async () => {
    // Header values as HTTP allows them: visible ASCII, space, tab, and obs-text (bytes 0x80-0xff, read as Latin-1).
    const headerChars = fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.constant(0x09), fc.integer({ min: 0x80, max: 0xff })).map((c) => String.fromCharCode(c));
    const headerText = (maxLength: number) => fc.string({ unit: headerChars, maxLength });
    const authArb = fc.oneof(
      headerText(60),
      fc.tuple(fc.constantFrom('Basic', 'basic', 'BASIC', 'Basic ', 'Basic\t'), fc.uint8Array({ maxLength: 60 })).map(([scheme, bytes]) => `${scheme} ${Buffer.from(bytes).toString('base64')}`),
      fc
        .tuple(fc.constantFrom('hostilevictim', 'HostileVictim', '', 'nobody', 'hostilebob\u0000', '\u0000', '../admin', 'a'.repeat(500)), fc.string({ unit: 'binary', maxLength: 40 }))
        .map(([user, password]) => basic(user, password)),
      fc.tuple(fc.constantFrom('Basic', 'Basic ', 'Basic ==', 'Basic =', 'Basic a', 'Basic YQ', 'Basic YTpi==='), headerText(20)).map(([a, b]) => a + b),
      fc.tuple(fc.constantFrom('Bearer', 'bearer', 'BEARER', 'Bearer  ', 'Token', 'Digest', 'Negotiate'), headerText(80)).map(([scheme, value]) => `${scheme} ${value}`),
      fc.string({ unit: fc.constantFrom(...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_'), minLength: 20, maxLength: 60 }).map((s) => `Bearer dapat_${s}`),
      fc.integer({ min: 8 * 1024, max: 80 * 1024 }).map((n) => `Bearer ${'A'.repeat(n)}`),
      fc.integer({ min: 8 * 1024, max: 80 * 1024 }).map((n) => `Basic ${Buffer.from(`hostilevictim:${'p'.repeat(n)}`).toString('base64')}`),
    );
    await fc.assert(
      fc.asyncProperty(markerArb, fc.constantFrom('GET_USER', 'PATCH', 'GET_EMAILS', 'POST', 'DELETE'), pathShapeArb, authArb, async (marker, op, shape, authorization) => {
        const method = op === 'GET_USER' || op === 'GET_EMAILS' ? 'GET' : op;
        // The marker goes into the header too, where a scheme would keep it (after the credentials).
        const header = `${authorization}${authorization.length % 2 === 0 ? ` ${marker}` : ''}`;
        const res = await send('authorization', marker, {
          method,
          url: apiUrl(ALICE, op as WriteOp, shape),
          headers: { authorization: header, 'content-type': 'application/json' },
          ...(method === 'GET' ? {} : { payload: `{"full_name":"${marker}"}` }),
        });
        expect([401, 429], `${method} Authorization: ${header.slice(0, 120)}`).toContain(res.statusCode);
        if (res.statusCode === 401) {
          const challenges = [res.headers['www-authenticate'] ?? []].flat().join('\n');
          expect(challenges).toMatch(/^Basic realm="accounts", charset="UTF-8"$/m);
          expect(challenges).toMatch(/^Bearer realm="accounts"/m);
        }
      }),
      { numRuns: RUNS.auth },
    );
    await checkInvariants();
  });

  it('random paths (percent-encoded junk, .., long and unicode usernames) and odd methods', async () => {
    const segment = fc.oneof(
      fc.constantFrom('..', '.', '%2e%2e', '%2E%2E%2F', '%2F', '%00', '%ZZ', '%', '%E0%A4%A', '%ED%A0%80', '%C0%AF', '%FF', '%F0%9F%98%80', '%u0041', '~', '*', '@', ';', ',', '\u00e9', 'ünïcode', '\u{1f600}', 'HOSTILEALICE', ALICE, BOB, 'con', 'null', 'undefined', '__proto__', 'constructor'),
      fc.integer({ min: 31, max: 20_000 }).map((n) => 'a'.repeat(n)),
      fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789%-._~!$&\'()*+,;=:@'), maxLength: 20 }),
      fc.string({ maxLength: 10 }).map(percentEncode),
      fc.string({ unit: 'binary', maxLength: 6 }).map((s) => encodeURIComponent(s.toWellFormed())),
    );
    const pathArb = fc.oneof(
      { weight: 4, arbitrary: fc.tuple(segment, fc.constantFrom('', '/', '/emails', '/emails/', '/emails/x', '//', '/emails//', '/.', '/../emails/')).map(([s, rest]) => `/api/v1.1/users/${s}${rest}`) },
      { weight: 1, arbitrary: fc.array(segment, { minLength: 1, maxLength: 5 }).map((segments) => `/api/v1.1/users/${segments.join('/')}`) },
      {
        weight: 2,
        arbitrary: fc.tuple(
          fc.constantFrom('/healthz', '/readyz', '/openapi.json', '/metrics', '/docs', '/docs/json', '/docs/static/', '/api/v1.1/', '/api/v1.1/users/', '/api/v1.0/users/', '/', '//', '/api', '/API/V1.1/USERS/HOSTILEALICE/', '/docs/static/../../'),
          fc.array(segment, { maxLength: 2 }),
        ).map(([prefix, segments]) => prefix + segments.join('/')),
      },
      { weight: 1, arbitrary: fc.array(segment, { minLength: 1, maxLength: 4 }).map((segments) => `/${segments.join('/')}`) },
    );
    const methodArb = fc.oneof({ weight: 3, arbitrary: fc.constantFrom('GET', 'HEAD', 'PATCH', 'POST', 'DELETE') }, { weight: 2, arbitrary: fc.constantFrom(...METHODS) });
    await fc.assert(
      fc.asyncProperty(markerArb, methodArb, pathArb, fc.option(segment, { nil: undefined }), fc.boolean(), async (marker, method, path, query, authenticated) => {
        const url = `${path}?m=${marker}${query !== undefined ? `&${query}` : ''}`;
        const res = await send('paths', marker, {
          method,
          url,
          headers: { ...(authenticated ? { authorization: bearer(tokens.alice) } : {}), 'content-type': 'application/json' },
          ...(['GET', 'HEAD'].includes(method) ? {} : { payload: `{"m":"${marker}"}` }),
        });
        // Nothing behind /docs/static/ is outside the UI's own files.
        expect(res.body, url).not.toMatch(/"name":\s*"docker-accounts"|DATABASE_URL=/);
      }),
      { numRuns: RUNS.paths },
    );
    await checkInvariants();
  });

  it('the invariants hold afterwards, and every kind of hostile request was tried', async () => {
    await checkInvariants();
    const categories = ['bodies', 'reads', 'deep', 'prototype', 'bad-text', 'overlong', 'content-type', 'urlencoded', 'multipart', 'authorization', 'paths'];
    for (const category of categories) expect(tally.byCategory[category] ?? 0, category).toBeGreaterThan(0);
    // Writes got through as well as being refused: the bodies were parsed, not only rejected.
    expect((tally.byStatus[200] ?? 0) + (tally.byStatus[201] ?? 0) + (tally.byStatus[204] ?? 0)).toBeGreaterThan(0);
    expect(tally.total).toBeGreaterThanOrEqual(Object.values(RUNS).reduce((a, b) => a + b, 0));
    if (process.env.HOSTILE_INPUT_REPORT) process.stdout.write(`hostile requests: ${JSON.stringify(tally)}\n`);
  });
});
