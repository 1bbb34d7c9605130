// /healthz, /readyz and /metrics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lifecycle } from '../../src/ops/health.routes.ts';
import { generateToken } from '../../src/auth/token-format.ts';
import { basic, bearer, buildTestApp, makeUser, type TestApp } from '../support/app.ts';
import { loadConfig } from '../../src/kernel/config.ts';
import { createMetrics } from '../../src/ops/metrics.ts';
import { startMetricsServer } from '../../src/ops/metrics-server.ts';
import { setActive } from '../../src/users/users.service.ts';

let t: TestApp;
const lifecycle: Lifecycle = { draining: false };

beforeAll(async () => {
  t = await buildTestApp({ lifecycle });
  await makeUser(t.deps, { username: 'opsuser' });
});
afterAll(() => t.close());

const get = (url: string, authorization?: string) => t.app.inject({ method: 'GET', url, headers: authorization ? { authorization } : {} });

describe('metrics', () => {
  it('counts requests by route pattern and status, times them, and counts auth failures by reason', async () => {
    await get('/api/v1.1/users/opsuser/', basic('opsuser', 'correct horse battery staple'));
    await get('/api/v1.1/users/opsuser/', basic('opsuser', 'wrong password!'));
    await get('/api/v1.1/users/opsuser/', basic('nosuchperson', 'wrong password!'));
    await get('/api/v1.1/users/opsuser/');
    await get('/api/v1.1/users/opsuser/', bearer(generateToken()));
    await get('/api/v1.1/users/opsuser/', 'Basic %%%');
    const res = await get('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const text = res.body;
    expect(text).toContain('accounts_http_requests_total{method="GET",route="/api/v1.1/users/:username/",status="200"} 1');
    expect(text).toContain('accounts_http_requests_total{method="GET",route="/api/v1.1/users/:username/",status="401"} 5');
    expect(text).toMatch(/accounts_http_request_duration_seconds_count\{method="GET",route="\/api\/v1.1\/users\/:username\/"\} 6/);
    for (const reason of ['missing', 'invalid_token', 'malformed']) {
      expect(text).toContain(`accounts_auth_failures_total{reason="${reason}"} 1`);
    }
    // A wrong password and an unknown username are one reason here (see below).
    expect(text).toContain('accounts_auth_failures_total{reason="bad_credentials"} 2');
    expect(text).toMatch(/accounts_db_pool_connections\{state="idle"\} \d+/);
    expect(text).toMatch(/accounts_db_pool_connections\{state="in_use"\} \d+/);
    expect(text).toContain('process_resident_memory_bytes');
    // Usernames never become label values.
    expect(text).not.toContain('opsuser');
    expect(text).not.toContain('nosuchperson');
  });
});

describe('metrics do not tell whether a username exists', () => {
  it('counts an unknown username, a wrong password and a deactivated account under one reason', async () => {
    const other = await buildTestApp();
    await makeUser(other.deps, { username: 'exists' });
    await makeUser(other.deps, { username: 'gone' });
    await setActive(other.deps, 'gone', false);
    const metricsAfter = async (authorization: string) => {
      await other.app.inject({ method: 'GET', url: '/api/v1.1/users/exists/', headers: { authorization } });
      return (await other.app.inject({ method: 'GET', url: '/metrics' })).body.split('\n').filter((l) => l.startsWith('accounts_auth_failures_total'));
    };
    const afterWrongPassword = await metricsAfter(basic('exists', 'wrong password!'));
    expect(afterWrongPassword).toEqual(['accounts_auth_failures_total{reason="bad_credentials"} 1']);
    const afterUnknownUser = await metricsAfter(basic('nobody-here', 'wrong password!'));
    expect(afterUnknownUser).toEqual(['accounts_auth_failures_total{reason="bad_credentials"} 2']);
    const afterDeactivated = await metricsAfter(basic('gone', 'correct horse battery staple'));
    expect(afterDeactivated).toEqual(['accounts_auth_failures_total{reason="bad_credentials"} 3']);
    await other.close();
  });
});

describe('METRICS_PORT', () => {
  it('serves /metrics on its own port only, and no longer on the API\'s', async () => {
    const other = await buildTestApp({ env: { METRICS_PORT: '0' } });
    expect((await other.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(404);
    const metrics = createMetrics(other.store);
    metrics.authFailures.inc({ reason: 'missing' });
    const server = await startMetricsServer(metrics, '127.0.0.1', 0);
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await res.text()).toContain('accounts_auth_failures_total{reason="missing"} 1');
      expect((await fetch(`http://127.0.0.1:${server.port}/api/v1.1/users/x/`)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${server.port}/metrics`, { method: 'POST' })).status).toBe(405);
    } finally {
      await server.close();
      await other.close();
    }
  });

  it('is refused when it equals PORT', () => {
    expect(() => loadConfig({ PORT: '9100', METRICS_PORT: '9100' })).toThrow(/METRICS_PORT: must differ from PORT/);
  });
});

describe('health', () => {
  it('/healthz says the process is alive', async () => {
    expect((await get('/healthz')).json()).toEqual({ status: 'ok' });
  });

  it('/readyz is 200 while the database answers and 503 once draining', async () => {
    const ready = await get('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready' });
    lifecycle.draining = true;
    const draining = await get('/readyz');
    expect(draining.statusCode).toBe(503);
    expect(draining.json()).toEqual({ status: 'draining' });
    expect(draining.headers.connection).toBe('close');
    expect((await get('/healthz')).statusCode).toBe(200);
    lifecycle.draining = false;
  });

  it('/readyz is 503 when the database does not answer', async () => {
    const other = await buildTestApp();
    await other.store.close();
    const res = await other.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: 'database_unavailable' });
    await other.close();
  });
});
