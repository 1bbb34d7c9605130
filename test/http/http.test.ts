// HTTP behaviour shared by every route: 405 with Allow, unknown paths, headers, health; the
// landing page, the HTML 404 for browsers, the pages' headers and their redirect to PUBLIC_URL's host.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, makeUser, basic, type TestApp } from '../support/app.ts';
import { expectPageHeaders } from '../support/pages.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
  await makeUser(t.deps, { username: 'httpuser' });
});
afterAll(() => t.close());

describe('405 Method Not Allowed', () => {
  const cases: Array<[string, string]> = [
    ['/api/v1.1/users/httpuser/', 'GET, HEAD, PATCH'],
    ['/api/v1.1/users/httpuser', 'GET, HEAD, PATCH'],
    ['/api/v1.1/users/httpuser/emails/', 'DELETE, GET, HEAD, POST'],
    ['/api/v1.1/users/httpuser/emails', 'DELETE, GET, HEAD, POST'],
  ];
  for (const [url, allow] of cases) {
    it(`${url} → Allow: ${allow}`, async () => {
      const methods = url.includes('emails') ? ['PUT', 'PATCH', 'OPTIONS'] : ['PUT', 'POST', 'DELETE', 'OPTIONS'];
      for (const method of methods) {
        const res = await t.app.inject({ method: method as 'PUT', url });
        expect(res.statusCode, `${method} ${url}`).toBe(405);
        expect(res.headers.allow).toBe(allow);
        expect(res.json().code).toBe('method_not_allowed');
      }
    });
  }
});

describe('everything else', () => {
  it('404 in the error shape for an unknown path', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1.1/nothing/here/' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ detail: 'No such resource.', code: 'not_found' });
  });

  it('GET /healthz', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('sends nosniff and no X-Powered-By', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1.1/users/httpuser/', headers: { authorization: basic('httpuser', 'wrong-password') } });
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('serves the docs page', async () => {
    const page = await t.app.inject({ method: 'GET', url: '/docs' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toMatch(/swagger-ui/i);
    const doc = await t.app.inject({ method: 'GET', url: '/docs/json' });
    expect(doc.json().openapi).toBe('3.1.0');
  });

  it('the docs pages are never framed nor kept by a cache', async () => {
    for (const url of ['/docs', '/docs/', '/docs/static/index.html', '/docs/json']) {
      const res = await t.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBeLessThan(400);
      expect(res.headers['x-frame-options'], url).toBe('DENY');
      expect(res.headers['cache-control'], url).toBe('no-store');
      if (url === '/docs/static/index.html') expect(res.headers['content-security-policy'], url).toContain("frame-ancestors 'none'");
    }
  });
});

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const NOT_FOUND = { detail: 'No such resource.', code: 'not_found' };

let plain: TestApp; // PUBLIC_URL on plain http, under a path (a proxy strips it), behind a trusted proxy
beforeAll(async () => {
  plain = await buildTestApp({ env: { PUBLIC_URL: 'http://localhost:8080/prefix', TRUST_PROXY: 'loopback' } });
});
afterAll(() => plain?.close());

describe('pages for browsers', () => {
  it('/ is a landing page: the name, Sign in, the API docs (it was a 404)', async () => {
    for (const accept of [BROWSER_ACCEPT, undefined]) {
      const res = await t.app.inject({ url: '/', headers: accept ? { accept } : {} });
      expect(res.statusCode).toBe(200);
      expectPageHeaders(res, { referrerPolicy: 'no-referrer', https: true });
      expect(res.body).toContain('<h1>Accounts</h1>');
      expect(res.body).toContain('<a href="/account/login">Sign in</a>');
      expect(res.body).toContain('<a href="/account/forgot-password">Forgot your password?</a>');
      expect(res.body).toContain('<a href="/docs">API documentation</a>');
    }
    expect((await t.app.inject({ method: 'HEAD', url: '/' })).statusCode).toBe(200);
    // Under PUBLIC_URL's path, the links carry it.
    expect((await plain.app.inject({ url: '/' })).body).toContain('<a href="/prefix/account/login">Sign in</a>');
  });

  it('an unknown path: an HTML 404 for a browser, the JSON 404 for everyone else', async () => {
    for (const method of ['GET', 'HEAD'] as const) {
      const page = await t.app.inject({ method, url: '/no/such/page?x=1', headers: { accept: BROWSER_ACCEPT } });
      expect(page.statusCode, method).toBe(404);
      expectPageHeaders(page, { referrerPolicy: 'no-referrer', https: true });
      if (method === 'GET') expect(page.body).toContain('<h1>Page not found</h1>');
    }
    expect((await t.app.inject({ url: '/account/no-such-page', headers: { accept: BROWSER_ACCEPT } })).headers['content-type']).toMatch(/^text\/html/);
    const json = [
      t.app.inject({ url: '/no/such/page' }), // no Accept
      t.app.inject({ url: '/no/such/page', headers: { accept: '*/*' } }),
      t.app.inject({ url: '/no/such/page', headers: { accept: 'application/json' } }),
      t.app.inject({ url: '/no/such/page', headers: { accept: 'application/json, text/html' } }),
      t.app.inject({ url: '/api/v1.1/nothing/here/', headers: { accept: BROWSER_ACCEPT } }), // the API's paths
      t.app.inject({ url: '/api', headers: { accept: BROWSER_ACCEPT } }),
      t.app.inject({ method: 'POST', url: '/no/such/page', headers: { accept: BROWSER_ACCEPT } }),
    ];
    for (const res of await Promise.all(json)) {
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual(NOT_FOUND);
      expect(res.headers['content-security-policy']).toBeUndefined();
    }
    // A known path with another method is still the API's 405.
    const wrongMethod = await t.app.inject({ url: '/account/logout', headers: { accept: BROWSER_ACCEPT } });
    expect(wrongMethod.statusCode).toBe(405);
    expect(wrongMethod.json().code).toBe('method_not_allowed');
  });

  it('the page headers are on pages only: the API, the probes and /docs keep theirs', async () => {
    const page = await t.app.inject({ url: '/account/login' });
    expectPageHeaders(page, { referrerPolicy: 'same-origin', https: true, webauthn: true });
    const others = await Promise.all([
      t.app.inject({ url: '/api/v1.1/users/httpuser/', headers: { authorization: basic('httpuser', 'wrong-password'), accept: BROWSER_ACCEPT } }),
      t.app.inject({ url: '/api/v1.1/users/httpuser/' }),
      t.app.inject({ url: '/healthz' }),
      t.app.inject({ url: '/api/v1.1/o/jwks/' }),
      t.app.inject({ url: '/.well-known/openid-configuration' }),
    ]);
    for (const res of others) {
      expect(res.statusCode).toBeLessThan(500);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      for (const name of ['content-security-policy', 'strict-transport-security', 'cross-origin-opener-policy', 'cross-origin-resource-policy', 'referrer-policy', 'x-frame-options']) {
        expect(res.headers[name], name).toBeUndefined();
      }
    }
    const docs = await t.app.inject({ url: '/docs/static/index.html' });
    expect(docs.headers['strict-transport-security']).toBeUndefined();
    expect(docs.headers['cross-origin-opener-policy']).toBeUndefined();
  });

  it('HSTS only when PUBLIC_URL is https', async () => {
    expect((await t.app.inject({ url: '/account/login' })).headers['strict-transport-security']).toBe('max-age=31536000');
    const res = await plain.app.inject({ url: '/account/login' });
    expect(res.statusCode).toBe(200);
    expectPageHeaders(res, { referrerPolicy: 'same-origin', https: false, webauthn: true });
  });
});

describe('pages opened at another host name than PUBLIC_URL’s', () => {
  const other = { host: '127.0.0.1:8080' };

  it('on this machine (PUBLIC_URL and Host both loopback names) are redirected there (302, never stored), with their path and query', async () => {
    const pages = [
      '/',
      '/account/login',
      '/account',
      '/account/?done=profile',
      '/account/verify-email?token=abc',
      '/api/v1.1/o/authorize/?client_id=x&scope=profile_read%20email_read',
      '/api/v1.1/o/authorize/some-uid',
      '/api/v1.1/o/interaction/some-uid/',
      '/api/v1.1/o/session/end/',
      '/api/v1.1/o/session/end/success',
    ];
    for (const url of pages) {
      for (const method of ['GET', 'HEAD'] as const) {
        const res = await plain.app.inject({ method, url, headers: other });
        expect(res.statusCode, `${method} ${url}`).toBe(302);
        expect(res.headers.location, url).toBe(`http://localhost:8080/prefix${url}`);
        expect(res.headers['cache-control'], url).toBe('no-store');
      }
    }
    // Another port of this machine is another host; a name in capitals is the same host.
    expect((await plain.app.inject({ url: '/account/login', headers: { host: 'localhost:8081' } })).headers.location).toBe('http://localhost:8080/prefix/account/login');
    expect((await plain.app.inject({ url: '/account/login', headers: { host: 'LOCALHOST:8080' } })).statusCode).toBe(200);
  });

  it('are not redirected on a Host that a proxy may have rewritten (nginx’s default adds no forwarding header): no loop', async () => {
    // PUBLIC_URL is a public name: a request with the backend's address as Host and no forwarding
    // header is as likely a proxy's as a browser's.
    for (const host of ['127.0.0.1:8080', '10.0.0.5:8080', 'www.accounts.example.test', 'ACCOUNTS.example.test', 'accounts.example.test:443']) {
      expect((await t.app.inject({ url: '/account/login', headers: { host } })).statusCode, host).toBe(200);
    }
  });

  it('the API, the token endpoints, the probes, /docs and forms are answered at any name', async () => {
    const answers = await Promise.all([
      plain.app.inject({ url: '/api/v1.1/users/httpuser/', headers: other }),
      plain.app.inject({ url: '/api/v1.1/o/jwks/', headers: other }),
      plain.app.inject({ url: '/api/v1.1/o/userinfo/', headers: other }),
      plain.app.inject({ method: 'POST', url: '/api/v1.1/o/token/', headers: other, payload: { grant_type: 'authorization_code' } }),
      plain.app.inject({ method: 'POST', url: '/api/v1.1/o/introspect/', headers: other, payload: { token: 'x' } }),
      plain.app.inject({ method: 'POST', url: '/api/v1.1/o/revoke/', headers: other, payload: { token: 'x' } }),
      plain.app.inject({ url: '/.well-known/openid-configuration', headers: other }),
      plain.app.inject({ url: '/healthz', headers: other }),
      plain.app.inject({ url: '/readyz', headers: other }),
      plain.app.inject({ url: '/metrics', headers: other }),
      plain.app.inject({ url: '/docs/json', headers: other }),
      plain.app.inject({ method: 'POST', url: '/account/login', headers: other, payload: {} }),
    ]);
    for (const res of answers) expect([301, 302, 307, 308]).not.toContain(res.statusCode);
  });

  it('behind a proxy that may have rewritten Host, only a trusted X-Forwarded-Host is believed (no redirect loop)', async () => {
    // Host is the backend's address, the request came through a proxy: nothing to go by.
    const proxied = await t.app.inject({ url: '/account/login', headers: { host: '10.0.0.5:8080', 'x-forwarded-for': '203.0.113.7' } });
    expect(proxied.statusCode).toBe(200);
    // TRUST_PROXY names the proxy (inject comes from 127.0.0.1): its X-Forwarded-Host is the browser's.
    const right = await plain.app.inject({ url: '/account/login', headers: { host: '10.0.0.5:8080', 'x-forwarded-host': 'localhost:8080', 'x-forwarded-for': '203.0.113.7' } });
    expect(right.statusCode).toBe(200);
    const wrong = await plain.app.inject({ url: '/account/login?a=1', headers: { host: '10.0.0.5:8080', 'x-forwarded-host': '127.0.0.1:8080', 'x-forwarded-for': '203.0.113.7' } });
    expect(wrong.statusCode).toBe(302);
    // PUBLIC_URL's path is kept: the proxy strips it before the request gets here.
    expect(wrong.headers.location).toBe('http://localhost:8080/prefix/account/login?a=1');
    // A trusted proxy that passes Host through and repeats it in X-Forwarded-Host: that is the name asked.
    const repeated = await plain.app.inject({ url: '/account/login', headers: { host: '127.0.0.1:8080', 'x-forwarded-host': '127.0.0.1:8080', 'x-forwarded-for': '203.0.113.7' } });
    expect(repeated.statusCode).toBe(302);
    expect(repeated.headers.location).toBe('http://localhost:8080/prefix/account/login');
    // The port a proxy adds is not compared (often the backend's, or 80 behind TLS): no loop.
    const ported = await plain.app.inject({ url: '/account/login', headers: { host: '10.0.0.5:8080', 'x-forwarded-host': 'localhost:80', 'x-forwarded-for': '203.0.113.7' } });
    expect(ported.statusCode).toBe(200);
    // Without TRUST_PROXY an X-Forwarded-Host is anyone's: not believed, not redirected on.
    expect((await t.app.inject({ url: '/account/login', headers: { host: '10.0.0.5:8080', 'x-forwarded-host': 'evil.example' } })).statusCode).toBe(200);
  });
});
