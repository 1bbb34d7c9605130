// HTTP behaviour shared by every route: 405 with Allow, unknown paths, headers, health.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, makeUser, basic, type TestApp } from '../support/app.ts';

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
