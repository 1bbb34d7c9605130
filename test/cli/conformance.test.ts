// The conformance kit against this server over HTTP (both stores): every check passes and the
// account is left as it was; against a server that breaks rules, the checks say which and why,
// and the exit code is not 0.
import { createServer, request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildListeningTestApp, makeToken, makeUser, type TestApp } from '../support/app.ts';
import { runCliInProcess } from '../support/cli-in-process.ts';
import { freePort } from '../support/processes.ts';

let t: TestApp;
let origin: string;
beforeAll(async () => {
  const listening = await buildListeningTestApp();
  t = listening;
  origin = listening.origin;
});
afterAll(() => t?.close());

describe('accounts conformance', () => {
  it('passes every check against this server, with a token too, and leaves the account as it was', async () => {
    const user = await makeUser(t.deps, { username: 'conformer' });
    const token = await makeToken(t.deps, 'conformer', ['profile_read', 'email_read']);
    const before = (await t.app.inject({ url: '/api/v1.1/users/conformer/emails/', headers: { authorization: `Bearer ${await makeToken(t.deps, 'conformer', ['email_read'])}` } })).body;
    const profileBefore = await t.store.db.selectFrom('users').select(['full_name', 'location', 'company', 'profile_url']).where('id', '=', user.id).executeTakeFirstOrThrow();
    const run = await runCliInProcess(['conformance', origin, '--username', 'conformer', '--password-stdin', '--token', token], { stdin: `${user.password}\n` });
    expect(run.stdout).not.toContain('FAIL');
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^CHECK\s+RESULT\s+REASON/m);
    expect(run.stdout).toMatch(/(\d+) of \1 checks passed\./);
    expect(run.stdout).toContain('the token lacks profile_write (403 checked)');
    const after = (await t.app.inject({ url: '/api/v1.1/users/conformer/emails/', headers: { authorization: `Bearer ${await makeToken(t.deps, 'conformer', ['email_read'])}` } })).body;
    expect(after).toBe(before);
    expect(await t.store.db.selectFrom('users').select(['full_name', 'location', 'company', 'profile_url']).where('id', '=', user.id).executeTakeFirstOrThrow()).toEqual(profileBefore);
  });

  it('names what a server gets wrong, with the reason, and exits non-zero', async () => {
    // A proxy in front of this server that breaks two rules on purpose: 401s lose their
    // challenges, 204s lose their Content-Length.
    const port = await freePort();
    const proxy = createServer((request, response) => {
      const upstream = httpRequest(`${origin}${request.url}`, { method: request.method, headers: request.headers }, (answer) => {
        const headers = { ...answer.headers };
        if (answer.statusCode === 401) delete headers['www-authenticate'];
        if (answer.statusCode === 204) delete headers['content-length'];
        response.writeHead(answer.statusCode ?? 502, headers);
        answer.pipe(response);
      });
      request.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve));
    try {
      const user = await makeUser(t.deps, { username: 'breaker' });
      const run = await runCliInProcess(['conformance', `http://127.0.0.1:${port}`, '--username', 'breaker', '--password-stdin'], { stdin: `${user.password}\n` });
      expect(run.code).not.toBe(0);
      const failed = run.stdout.split('\n').filter((line) => line.includes('FAIL'));
      expect(failed.some((line) => line.includes('both challenges') && line.includes('WWW-Authenticate is ""'))).toBe(true);
      expect(failed.some((line) => line.includes('DELETE emails') && line.includes('Content-Length'))).toBe(true);
      expect(run.stdout).toMatch(/checks passed\./);
    } finally {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('refuses a base URL that is not http(s)', async () => {
    const run = await runCliInProcess(['conformance', 'ftp://example.com', '--username', 'x', '--password-stdin'], { stdin: 'x\n' });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('not an http or https URL');
  });
});
