// Builds the HTTP application from its dependencies. No listen(): tests call inject() on it,
// main.ts listens.
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Redis } from 'ioredis';
import type { Config } from './config.ts';
import { createLoginThrottle } from './auth/login-throttle.ts';
import { createAuthCache, type AuthCache } from './auth/auth-cache.ts';
import { configureHashing } from './auth/passwords.ts';
import { credentialEvents, subscribeToCredentialChanges } from './auth/credential-events.ts';
import { systemClock, type Clock } from './clock.ts';
import type { Store } from './db/connect.ts';
import type { Deps } from './deps.ts';
import { registerAccessControl } from './http/access.ts';
import { registerBodyParsers } from './http/body-parsers.ts';
import { answerFrameworkError, registerErrorHandler } from './http/error-handler.ts';
import { loggerOptions } from './http/logging.ts';
import { registerMethodNotAllowed } from './http/method-not-allowed.ts';
import { ErrorSchema } from './http/schemas.ts';
import { openApiOptions } from './openapi/document.ts';
import { createMetrics } from './ops/metrics.ts';
import { registerHealthRoutes, type Lifecycle } from './ops/health.routes.ts';
import { registerEmailRoutes } from './emails/emails.routes.ts';
import { AcceptedSchema, EmailSchema } from './emails/emails.schema.ts';
import { registerVerificationPages } from './emails/verification.pages.ts';
import { registerAccountPages } from './account/account.routes.ts';
import { createVerificationThrottle } from './emails/verification-throttle.ts';
import { createMailer } from './mail/mailer.ts';
import { registerUserRoutes } from './users/users.routes.ts';
import { createProvider } from './oauth/provider.ts';
import { loadProviderSecrets } from './oauth/keys.ts';
import { registerOAuthRoutes } from './oauth/oauth.routes.ts';
import { registerInteractionRoutes } from './oauth/interaction.routes.ts';
import { UserSchema } from './users/users.schema.ts';

export type AppOptions = {
  config: Config;
  store: Store;
  clock?: Clock;
  /** Where logs go; standard output by default. */
  logStream?: NodeJS.WritableStream;
  /** Set `draining` to make /readyz answer 503 (main.ts does on SIGTERM). */
  lifecycle?: Lifecycle;
  /** Connected by main.ts when REDIS_URL is set; shared state then lives there. */
  redis?: Redis | undefined;
  /** Tests pass their own, to call services with the same caches as the app. */
  authCache?: AuthCache;
  /** Waits between attempts to send a mail (tests make them short); see src/mail/mailer.ts. */
  mailRetryDelaysMs?: readonly number[];
};

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config, store } = options;
  configureHashing({ concurrency: config.hashConcurrency, maxWaiting: config.hashQueue });
  const authCache = options.authCache ?? createAuthCache();
  const onRedisError = (error: Error) => app.log.warn({ err: error.message }, 'redis: could not announce a credential change');
  const deps: Deps = {
    config,
    store,
    clock: options.clock ?? systemClock,
    authCache,
    credentialEvents: credentialEvents({ cache: authCache, redis: options.redis, prefix: config.redisPrefix, onError: onRedisError }),
  };

  const app = Fastify({
    logger: loggerOptions(config.logLevel, options.logStream),
    // maxParamLength: any username Node's header size limit lets through reaches the route (and
    // gets the spec's 401 or 404), rather than Fastify's 414.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 16 * 1024 },
    // A malformed path (bad percent-encoding) is answered in the API's error shape.
    frameworkErrors: answerFrameworkError,
    bodyLimit: config.bodyLimit,
    // Strict validation: no type coercion ("5" is not 5), unknown keys are reported, not dropped.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: true, useDefaults: false } },
    // While draining, a request that arrives on an open connection is still served (then the
    // connection closes), rather than refused with a body that is not in our error shape.
    return503OnClosing: false,
    // request.ip is the socket's address unless it is one of these proxies (X-Forwarded-For).
    trustProxy: config.trustProxy.length > 0 ? config.trustProxy : false,
    // Slow clients cannot hold connections open forever.
    requestTimeout: 30_000,
    connectionTimeout: 0,
    keepAliveTimeout: 5_000,
  });

  // A client gets 10 s to send its headers (slowloris) and 30 s for the whole request.
  app.server.headersTimeout = 10_000;

  app.addSchema(ErrorSchema);
  app.addSchema(UserSchema);
  app.addSchema(EmailSchema);
  app.addSchema(AcceptedSchema);
  registerMethodNotAllowed(app);
  await app.register(swagger, openApiOptions(config));
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });

  registerBodyParsers(app, config.bodyLimit);
  registerErrorHandler(app);
  const metrics = createMetrics(store);
  const lifecycle = options.lifecycle ?? { draining: false };
  const throttle = createLoginThrottle({
    maxFailures: config.loginMaxFailures,
    ipFailuresPerMinute: config.loginIpMaxFailuresPerMinute,
    redis: options.redis,
    keyPrefix: config.redisPrefix,
  });
  registerAccessControl(app, deps, metrics, throttle);
  const mailer = createMailer({
    smtpUrl: config.smtpUrl,
    from: config.mailFrom,
    log: app.log,
    metrics,
    ...(options.mailRetryDelaysMs ? { retryDelaysMs: options.mailRetryDelaysMs } : {}),
  });
  // Messages still being sent or retried finish before the app has closed.
  app.addHook('onClose', () => mailer.close());
  const verificationThrottle = createVerificationThrottle({ redis: options.redis, keyPrefix: config.redisPrefix });
  if (options.redis) {
    // Changes announced by other processes (instances, the CLI) empty our caches at once.
    const subscriber = options.redis.duplicate();
    subscriber.on('error', () => undefined); // reported by the main connection's handler
    await subscribeToCredentialChanges(subscriber, authCache, config.redisPrefix);
    app.addHook('onClose', async () => {
      subscriber.disconnect();
    });
  }
  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, not the URL: usernames must not become label values.
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
  // Once closing starts, answers say Connection: close, so clients drop their keep-alive
  // connections at once and the process can exit without waiting for them to time out.
  app.addHook('preClose', async () => {
    lifecycle.draining = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    if (lifecycle.draining) reply.header('connection', 'close');
  });
  // A body that is absent is an empty object: PATCH {} is a no-op, DELETE without one names `email`.
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && request.routeOptions.schema?.body) request.body = Object.create(null);
  });

  registerUserRoutes(app, deps);
  registerEmailRoutes(app, { ...deps, mailer, verificationThrottle });
  registerVerificationPages(app, deps);
  registerAccountPages(app, { ...deps, mailer, verificationThrottle }, throttle);
  const providerSecrets = await loadProviderSecrets(deps);
  const provider = createProvider(deps, providerSecrets);
  // The provider answers its own errors (RFC 6749 shape); the unexpected ones go to our log.
  provider.on('server_error', (_ctx: unknown, error: Error) => app.log.error({ err: error }, 'oauth: unexpected error'));
  provider.on('grant.success', (ctx: { oidc?: { params?: { grant_type?: unknown } } }) => {
    metrics.oauthTokens.inc({ grant_type: String(ctx.oidc?.params?.grant_type ?? 'unknown') });
  });
  // Error codes are the RFC's short list (the provider's errors carry one), so labels stay few.
  const countError = (endpoint: string) => (_ctx: unknown, error: { error?: unknown }) =>
    metrics.oauthErrors.inc({ endpoint, error: typeof error.error === 'string' ? error.error : 'server_error' });
  provider.on('authorization.error', countError('authorization'));
  provider.on('grant.error', countError('token'));
  provider.on('introspection.error', countError('introspection'));
  provider.on('revocation.error', countError('revocation'));
  provider.on('userinfo.error', countError('userinfo'));
  await registerOAuthRoutes(app, deps, provider);
  registerInteractionRoutes(app, deps, provider, throttle, providerSecrets.cookieKeys[0]!);

  registerHealthRoutes(app, store, metrics, lifecycle);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  return app;
}
