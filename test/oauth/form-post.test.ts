// response_mode=form_post (OAuth 2.0 Form Post Response Mode): the page that carries the code to
// the redirect URI is as locked down as the service's other pages.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, makeUser, type TestApp } from '../support/app.ts';
import { authorize, makeClient, pkcePair } from '../support/oauth.ts';

let t: TestApp;

beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(() => t?.close());

describe('the form_post answer page', () => {
  it('had no CSP, frame-ancestors or Referrer-Policy: now a hash-based CSP, form-action to the redirect URI only, no framing, no referrer, no-store', async () => {
    const user = await makeUser(t.deps);
    const client = await makeClient(t.deps, { redirectUris: ['https://app.example.test/callback'] });
    // Signed in and allowed once: the next request is answered at once, with the code.
    const { browser } = await authorize(t.app, client, user, { challenge: pkcePair().challenge });
    const query = new URLSearchParams({
      client_id: client.client_id,
      response_type: 'code',
      response_mode: 'form_post',
      redirect_uri: client.redirectUri,
      state: 'fp',
      code_challenge: pkcePair().challenge,
      code_challenge_method: 'S256',
    });
    const res = await browser.get(`/api/v1.1/o/authorize/?${query}`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.body).toMatch(/<form method="post" action="https:\/\/app\.example\.test\/callback">/);
    expect(res.body).toMatch(/name="code" value="[\w-]+"/);

    const script = /<script>([\s\S]*?)<\/script>/.exec(res.body)![1]!;
    const hash = createHash('sha256').update(script, 'utf8').digest('base64');
    const csp = String(res.headers['content-security-policy']);
    const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name!, values]));
    expect(directives.get('default-src')).toEqual(["'none'"]);
    expect(directives.get('script-src')).toEqual([`'sha256-${hash}'`]);
    expect(directives.get('form-action')).toEqual(['https://app.example.test']);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    expect(directives.get('base-uri')).toEqual(["'none'"]);
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['cache-control']).toBe('no-store');
    // The rest of the service's page headers (src/web/security.ts).
    // No opener policy: an application may have opened the sign-in in a popup and reads the
    // outcome through window.opener.
    expect(res.headers['cross-origin-opener-policy']).toBeUndefined();
    expect(res.headers['cross-origin-resource-policy']).toBe('same-origin');
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000');
  });

  it('an error sent by form_post gets the same headers', async () => {
    const client = await makeClient(t.deps, { redirectUris: ['https://other.example.test/cb'] });
    // No PKCE: invalid_request, sent to the redirect URI.
    const query = new URLSearchParams({ client_id: client.client_id, response_type: 'code', response_mode: 'form_post', redirect_uri: client.redirectUri, state: 'e' });
    const res = await t.app.inject({ url: `/api/v1.1/o/authorize/?${query}` });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('name="error" value="invalid_request"');
    expect(res.headers['content-security-policy']).toMatch(/form-action https:\/\/other\.example\.test;/);
    expect(res.headers['content-security-policy']).toMatch(/script-src 'sha256-[\w+/=]+';/);
    expect(res.headers['referrer-policy']).toBe('no-referrer');
  });
});
