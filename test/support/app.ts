// buildTestApp: the real app on a real SQLite file in a fresh temporary directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { systemClock, type Clock } from '../../src/kernel/clock.ts';
import { loadConfig, type Config } from '../../src/kernel/config.ts';
import { openStore } from '../../src/kernel/db/connect.ts';
import type { Store } from '../../src/kernel/db/store.ts';
import { migrateToLatest } from '../../src/kernel/db/migrate.ts';
import type { Deps } from '../../src/kernel/deps.ts';
import { createAuthCache } from '../../src/auth/auth-cache.ts';
import { createDeps } from '../../src/wiring.ts';
import type { Redis } from 'ioredis';
import type { Lifecycle } from '../../src/ops/health.routes.ts';
import { createTestDatabase } from './database.ts';
import { freePort } from './processes.ts';
import type { TokenScope } from '../../src/auth/scopes.ts';
import { createToken } from '../../src/tokens/tokens.service.ts';
import { createUser, type UserRepresentation } from '../../src/users/users.service.ts';

export const PUBLIC_URL = 'https://accounts.example.test';

export type TestApp = {
  app: FastifyInstance;
  deps: Deps;
  store: Store;
  config: Config;
  dir: string;
  close(): Promise<void>;
};

export function makeTempDir(prefix = 'accounts-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A test app listening on 127.0.0.1 (for clients that speak HTTP), PUBLIC_URL its own address. */
export async function buildListeningTestApp(options: { env?: Record<string, string>; databaseUrl?: string } = {}): Promise<TestApp & { origin: string }> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const t = await buildTestApp({ ...options, env: { ...options.env, PUBLIC_URL: origin } });
  await t.app.listen({ host: '127.0.0.1', port });
  return { ...t, origin };
}

export async function buildTestApp(
  options: {
    env?: Record<string, string>;
    clock?: Clock;
    logStream?: NodeJS.WritableStream;
    lifecycle?: Lifecycle;
    redis?: Redis;
    databaseUrl?: string;
    mailRetryDelaysMs?: number[];
    httpTimeouts?: { headersMs: number; requestMs: number };
  } = {},
): Promise<TestApp> {
  const dir = makeTempDir();
  // A second app on the same database (another "instance") passes its URL and owns nothing.
  const database = options.databaseUrl ? { url: options.databaseUrl, drop: async () => undefined } : await createTestDatabase(dir);
  const config = loadConfig({ DATABASE_URL: database.url, LOG_LEVEL: 'silent', PUBLIC_URL, ...options.env });
  const store = openStore(config.database);
  await migrateToLatest(store);
  const authCache = createAuthCache();
  const app = await buildApp({
    config,
    store,
    authCache,
    clock: options.clock ?? systemClock,
    ...(options.logStream ? { logStream: options.logStream } : {}),
    ...(options.lifecycle ? { lifecycle: options.lifecycle } : {}),
    ...(options.redis ? { redis: options.redis } : {}),
    ...(options.mailRetryDelaysMs ? { mailRetryDelaysMs: options.mailRetryDelaysMs } : {}),
    ...(options.httpTimeouts ? { httpTimeouts: options.httpTimeouts } : {}),
  });
  await app.ready();
  sendPublicHost(app, config.publicUrl);
  // The app's own caches: a service called by a test invalidates them as the app's would.
  const deps: Deps = createDeps({ config, store, cache: authCache, clock: options.clock, redis: options.redis });
  return {
    app,
    deps,
    store,
    config,
    dir,
    async close() {
      await app.close();
      await store.close().catch(() => undefined); // a test may have closed it already
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * inject() sends `Host: localhost:80` unless told otherwise, and the app redirects pages asked for
 * at another host than PUBLIC_URL's (src/web/host.ts): requests without a Host of their own get
 * PUBLIC_URL's, as a browser that opened PUBLIC_URL would send. A test of another Host sets it.
 */
function sendPublicHost(app: FastifyInstance, publicUrl: string): void {
  const host = new URL(publicUrl).host;
  const inject = app.inject.bind(app);
  const withHost = (options: InjectOptions | string): InjectOptions => {
    const opts = typeof options === 'string' ? { url: options } : options;
    const headers = opts.headers ?? {};
    return Object.keys(headers).some((name) => name.toLowerCase() === 'host') ? opts : { ...opts, headers: { host, ...headers } };
  };
  app.inject = ((options?: InjectOptions | string, callback?: (error: Error | undefined, response?: LightMyRequestResponse) => void) => {
    if (options === undefined) return inject();
    return callback ? inject(withHost(options), callback) : inject(withHost(options));
  }) as FastifyInstance['inject'];
}

export const DEFAULT_PASSWORD = 'correct horse battery staple';

let counter = 0;
/** A user with a password and a verified primary address. */
export async function makeUser(
  deps: Deps,
  overrides: { username?: string; email?: string; password?: string | null; fullName?: string } = {},
): Promise<UserRepresentation & { password: string }> {
  counter += 1;
  const username = overrides.username ?? `user${process.pid}x${counter}`;
  const password = overrides.password === undefined ? DEFAULT_PASSWORD : overrides.password;
  const user = await createUser(deps, {
    username,
    email: overrides.email ?? `${username}@example.com`,
    ...(password !== null ? { password } : {}),
    ...(overrides.fullName !== undefined ? { fullName: overrides.fullName } : {}),
  });
  return { ...user, password: password ?? '' };
}

export async function makeToken(deps: Deps, username: string, scopes: readonly TokenScope[], options: { expiresInMs?: number } = {}): Promise<string> {
  return (await createToken(deps, { username, scopes, name: 'test', ...options })).token;
}

export function basic(username: string, secret: string): string {
  return `Basic ${Buffer.from(`${username}:${secret}`, 'utf8').toString('base64')}`;
}

export function bearer(token: string): string {
  return `Bearer ${token}`;
}
