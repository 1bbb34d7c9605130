// The server's logs never contain a secret: not a password, not a token, not
// the Authorization or Cookie header (nor the base64 inside it), not a query string, not a body,
// at the chattiest level and at the default one.
import { rmSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, bearer, makeTempDir } from '../support/app.ts';
import { startServer, type ServerProcess } from '../support/processes.ts';
import type { TestDatabase } from '../support/database.ts';
import { ALL_SCOPES, cliCreateToken, cliCreateUser, databaseEnv } from '../support/e2e.ts';

const PASSWORD = 'PwSecretHunter2xyz';
const WRONG_PASSWORD = 'WrongPwSecretQ9z';
const QUERY_SECRET = 'QuerySecretK7v3';
const COOKIE_SECRET = 'CookieSecretM4p8';
const BODY_SECRET = 'BodySecretR2d2';

const dir = makeTempDir('accounts-e2e-logs-');
let env: Record<string, string>;
let database: TestDatabase | undefined;
let bearerToken = '';
let basicToken = '';
const servers: ServerProcess[] = [];

beforeAll(async () => {
  ({ env, database } = await databaseEnv(dir));
  await cliCreateUser(env, 'logger', 'logger@example.com', PASSWORD);
  [bearerToken, basicToken] = await Promise.all([cliCreateToken(env, 'logger', ALL_SCOPES), cliCreateToken(env, 'logger', ALL_SCOPES)]);
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
});

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** Every form in which a secret of this file could show up in a log line. */
function secrets(): Record<string, string> {
  return {
    password: PASSWORD,
    'wrong password': WRONG_PASSWORD,
    'bearer token': bearerToken,
    'basic token': basicToken,
    'basic credentials (password)': base64(`logger:${PASSWORD}`),
    'basic credentials (wrong password)': base64(`logger:${WRONG_PASSWORD}`),
    'basic credentials (token)': base64(`logger:${basicToken}`),
    'query secret': QUERY_SECRET,
    'cookie value': COOKIE_SECRET,
    'body secret': BODY_SECRET,
  };
}

/** The contents of every Buffer that pino serialised as {"type":"Buffer","data":[…]}. */
function decodedBuffers(output: string): string[] {
  return [...output.matchAll(/"type":"Buffer","data":\[([\d,]*)\]/g)].map((m) => Buffer.from(m[1]!.split(',').filter(Boolean).map(Number)).toString('latin1'));
}

/** Sends raw bytes (for what fetch refuses to send) and waits for the server to close the socket. */
function rawRequest(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
    socket.end(bytes);
  });
}

async function exercise(server: ServerProcess): Promise<number[]> {
  const user = `${server.url}/api/v1.1/users/logger/`;
  const emails = `${user}emails/`;
  const cookie = `sessionid=${COOKIE_SECRET}; csrftoken=${COOKIE_SECRET}`;
  const json = { 'content-type': 'application/json' };
  const requests: Array<[string, RequestInit]> = [
    [user, { headers: { authorization: basic('logger', PASSWORD) } }],
    [user, { headers: { authorization: basic('logger', WRONG_PASSWORD) } }],
    [user, { headers: { authorization: basic('logger', basicToken) } }],
    [emails, { headers: { authorization: bearer(bearerToken) } }],
    [user, { headers: { authorization: `bearer ${bearerToken}x` } }], // a rejected (malformed) token
    [user, { method: 'PATCH', headers: { authorization: bearer(bearerToken), ...json }, body: JSON.stringify({ full_name: BODY_SECRET }) }],
    // Invalid bodies: unknown field, malformed JSON, form data; each mentions a secret.
    [user, { method: 'PATCH', headers: { authorization: bearer(bearerToken), ...json }, body: JSON.stringify({ password: PASSWORD, token: bearerToken }) }],
    [user, { method: 'PATCH', headers: { authorization: bearer(bearerToken), ...json }, body: `{"full_name": "${BODY_SECRET}", "password": "${PASSWORD}",` }],
    [
      emails,
      {
        method: 'POST',
        headers: { authorization: basic('logger', PASSWORD), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ email: `${BODY_SECRET}@example.com`, password: PASSWORD }).toString(),
      },
    ],
    // Secrets in the query string, on a route, on an unknown path, on a 405 and without credentials.
    [`${user}?access_token=${QUERY_SECRET}`, { headers: { authorization: bearer(bearerToken) } }],
    [`${user}?access_token=${QUERY_SECRET}`, {}],
    [`${server.url}/nowhere?access_token=${QUERY_SECRET}&password=${PASSWORD}`, {}],
    [`${user}?access_token=${QUERY_SECRET}`, { method: 'PUT', headers: { authorization: bearer(bearerToken) } }],
    [`${server.url}/healthz?access_token=${QUERY_SECRET}`, { headers: { cookie } }],
    // A Cookie header alongside each kind of credentials.
    [user, { headers: { cookie, authorization: basic('logger', PASSWORD) } }],
    [emails, { headers: { cookie, authorization: bearer(bearerToken) } }],
    [user, { headers: { cookie } }],
  ];
  const statuses: number[] = [];
  for (const [url, init] of requests) {
    const response = await fetch(url, init);
    await response.arrayBuffer();
    statuses.push(response.status);
  }
  // A request the HTTP parser rejects (a header over Node's 16 KiB limit): the client-error path.
  await rawRequest(
    server.port,
    `GET /api/v1.1/users/logger/?access_token=${QUERY_SECRET} HTTP/1.1\r\nHost: x\r\nAuthorization: ${basic('logger', PASSWORD)}\r\n` +
      `Cookie: sessionid=${COOKIE_SECRET}\r\nX-Padding: ${'p'.repeat(20_000)}\r\n\r\n`,
  );
  // And a malformed one that carries the secrets in its first bytes.
  await rawRequest(server.port, `GET /?access_token=${QUERY_SECRET} HTTP/1.1\r\nAuthorization: ${bearer(bearerToken)}\r\nCookie: ${COOKIE_SECRET}\r\nBad Header\r\n\r\n`);
  return statuses;
}

describe.each(['trace', 'info'])('with LOG_LEVEL=%s', (level) => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServer({ ...env, LOG_LEVEL: level });
    servers.push(server);
  });

  it('no secret reaches the log, from any kind of request', async () => {
    const statuses = await exercise(server);
    // The requests did what they were meant to (so the log had something to say about each).
    expect(statuses).toEqual([200, 401, 200, 200, 401, 200, 400, 400, 400, 200, 401, 404, 405, 200, 200, 200, 401]);
    // Let the server write everything about them, then stop it (its last lines come on shutdown).
    expect(await server.stop()).toBe(0);

    const output = server.output();
    expect(output).toContain('"msg":"incoming request"');
    expect(output).toContain('"msg":"stopped"');
    // Bytes logged as a JSON Buffer ({"type":"Buffer","data":[71,69,84,…]}) are text all the same.
    const text = output + decodedBuffers(output).join('\n');
    for (const [what, secret] of Object.entries(secrets())) {
      expect(secret.length, what).toBeGreaterThan(8);
      expect(text.includes(secret), `the log contains the ${what}`).toBe(false);
    }
    // Nor the header values in any other shape: no Authorization or Cookie header is logged at all.
    expect(output).not.toMatch(/authorization"\s*:\s*"(?!\[redacted\])/i);
    expect(output).not.toMatch(/cookie"\s*:\s*"(?!\[redacted\])/i);
  });
});
