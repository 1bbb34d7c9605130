// Builds the HTTP application from its dependencies. No listen(): tests call inject() on it,
// main.ts listens.
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Redis } from 'ioredis';
import type { Config } from './kernel/config.ts';
import { createLoginThrottle } from './auth/login-throttle.ts';
import { createAuthCache, type AuthCache } from './auth/auth-cache.ts';
import { subscribeToCredentialChanges } from './auth/credential-events.ts';
import type { Clock } from './kernel/clock.ts';
import type { Store } from './kernel/db/store.ts';
import { createDeps, createServerSignIn } from './wiring.ts';
import { registerAccessControl } from './http/access.ts';
import { registerIdempotency } from './http/idempotency.ts';
import { addRouteHook } from './http/route-hooks.ts';
import { registerSecurityLogRoutes } from './audit/events.routes.ts';
import { registerBodyParsers } from './http/body-parsers.ts';
import { discardRestOfBody } from './http/linger.ts';
import { answerFrameworkError, registerErrorHandler } from './http/error-handler.ts';
import { lazyChildLogger, loggerOptions } from './http/logging.ts';
import { registerMethodNotAllowed } from './http/method-not-allowed.ts';
import { ErrorSchema } from './http/schemas.ts';
import { openApiOptions } from './openapi/document.ts';
import { createMetrics, type Metrics } from './ops/metrics.ts';
import { onceASecond } from './ops/once-a-second.ts';
import { registerHealthRoutes, type Lifecycle } from './ops/health.routes.ts';
import { registerEmailRoutes } from './emails/emails.routes.ts';
import { AcceptedSchema, EmailSchema } from './emails/emails.schema.ts';
import { registerVerificationPages } from './emails/verification.pages.ts';
import { registerAccountPages } from './account/account.routes.ts';
import { registerPasswordResetPages } from './account/password-reset.routes.ts';
import { createResetThrottle } from './account/password-reset-throttle.ts';
import { registerSignupPages } from './signup/signup.routes.ts';
import { createSignupThrottle } from './signup/signup-throttle.ts';
import { endLoginSessionOfBrowser } from './oauth/login-sessions.ts';
import { createVerificationThrottle } from './emails/verification-throttle.ts';
import { createMailer } from './mail/mailer.ts';
import { registerUserRoutes } from './users/users.routes.ts';
import { createProvider } from './oauth/provider.ts';
import { createAuthorizeThrottle } from './oauth/authorize-throttle.ts';
import { endOtherSessions } from './account/sessions.service.ts';
import { loadProviderSecrets } from './oauth/keys.ts';
import { registerOAuthRoutes } from './oauth/oauth.routes.ts';
import { registerRegistryRoutes } from './registry/registry.routes.ts';
import { createRegistryTokens } from './registry/registry-token.service.ts';
import { registerInteractionRoutes } from './oauth/interaction.routes.ts';
import { UserSchema } from './users/users.schema.ts';
import { OAUTH_PATHS } from './oauth/paths.ts';
import { answerUnknownPage, registerWeb } from './web/site.ts';

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
  /** How long a client may take to send its headers, and its whole request; tests shorten them. */
  httpTimeouts?: { headersMs: number; requestMs: number };
  /** main.ts passes its own when it serves them on METRICS_PORT; otherwise the app makes them. */
  metrics?: Metrics;
  /** Waits between attempts to send a mail (tests make them short); see src/mail/mailer.ts. */
  mailRetryDelaysMs?: readonly number[];
};

export const HTTP_TIMEOUTS = { headersMs: 10_000, requestMs: 30_000 };

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config, store } = options;
  const timeouts = options.httpTimeouts ?? HTTP_TIMEOUTS;
  // Each refused check is answered 503 on its own; the log hears of them once a second at most.
  const hashingRefused = onceASecond((count) =>
    app.log.warn({ refused: count, concurrency: config.hashConcurrency, queue: config.hashQueue }, 'password hashing saturated: checks refused with 503 (HASH_CONCURRENCY, HASH_QUEUE)'),
  );
  const authCache = options.authCache ?? createAuthCache();
  const deps = createDeps({
    config,
    store,
    cache: authCache,
    clock: options.clock,
    redis: options.redis,
    onRedisError: (error) => app.log.warn({ err: error.message }, 'redis: could not announce a credential change'),
    onHashingRefused: hashingRefused,
  });

  const app = Fastify({
    logger: loggerOptions(config.logLevel, options.logStream),
    childLoggerFactory: lazyChildLogger,
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
    requestTimeout: timeouts.requestMs,
    connectionTimeout: 0,
    keepAliveTimeout: 5_000,
    // Node checks the two time-outs only this often (30 s by default, which let slow headers
    // live ~26 s and slow bodies ~55 s); checking every second makes the figures true to 1 s.
    http: { connectionsCheckingInterval: Math.min(1_000, Math.max(50, Math.floor(timeouts.headersMs / 5))) },
  });

  // A client gets 10 s to send its headers (slowloris) and 30 s for the whole request.
  app.server.headersTimeout = timeouts.headersMs;

  // Started now, awaited where the provider is made: on a first start the signing key is
  // generated in the thread pool while the routes below are set up.
  const providerSecretsReady = loadProviderSecrets(deps, app.log);
  providerSecretsReady.catch(() => undefined); // a failure is thrown where it is awaited
  app.addSchema(ErrorSchema);
  app.addSchema(UserSchema);
  app.addSchema(EmailSchema);
  app.addSchema(AcceptedSchema);
  registerMethodNotAllowed(app, (request, reply) => answerUnknownPage(request, reply, config.publicUrl));
  // The web layer (src/web): cookies, the pages' security headers, pages redirected to
  // PUBLIC_URL's host, the landing page at /; browsers get an HTML 404 (above), API clients JSON.
  await registerWeb(app, {
    publicUrl: config.publicUrl,
    pagePrefixes: ['/account/', OAUTH_PATHS.authorization, OAUTH_PATHS.interaction, OAUTH_PATHS.endSession],
    signupLink: config.signup !== 'closed',
  });
  await app.register(swagger, openApiOptions(config));
  // The API browser is a page like the others: never framed (clickjacking), never kept by a cache.
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    transformStaticCSP: (csp) => csp.replace("frame-ancestors 'self'", "frame-ancestors 'none'"),
    uiHooks: {
      onRequest: (_request, reply, done) => {
        reply.header('x-frame-options', 'DENY').header('cache-control', 'no-store');
        done();
      },
    },
  });

  registerBodyParsers(app, config.bodyLimit);
  registerErrorHandler(app);
  const metrics = options.metrics ?? createMetrics(store);
  const lifecycle = options.lifecycle ?? { draining: false };
  const throttle = createLoginThrottle({
    maxFailures: config.loginMaxFailures,
    ipFailuresPerMinute: config.loginIpMaxFailuresPerMinute,
    redis: options.redis,
    keyPrefix: config.redisPrefix,
    clock: deps.clock,
  });
  const signIn = createServerSignIn(deps, throttle, authCache);
  registerAccessControl(app, signIn, metrics);
  registerIdempotency(app, deps);
  const mailer = createMailer({
    smtpUrl: config.smtpUrl,
    from: config.mailFrom,
    service: { name: config.serviceName, url: config.publicUrl },
    log: app.log,
    metrics,
    ...(options.mailRetryDelaysMs ? { retryDelaysMs: options.mailRetryDelaysMs } : {}),
  });
  app.addHook('onClose', async () => hashingRefused.flush());
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
  // The hooks every request runs take a callback rather than being async: no promise per request.
  app.addHook('onResponse', (request, reply, done) => {
    // The route pattern, not the URL: usernames must not become label values.
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.observeHttp(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  // Once closing starts, answers say Connection: close, so clients drop their keep-alive
  // connections at once and the process can exit without waiting for them to time out.
  app.addHook('preClose', async () => {
    lifecycle.draining = true;
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-content-type-options', 'nosniff');
    // Every 429 and 503 says when to come back; those that know better have said so already.
    if ((reply.statusCode === 429 || reply.statusCode === 503) && !reply.hasHeader('retry-after')) reply.header('retry-after', '1');
    if (reply.statusCode === 413 && !lifecycle.draining) {
      // Fastify asks for Connection: close after a refused body; read the rest instead, so the
      // client gets to read the 413 (see linger.ts).
      reply.removeHeader('connection');
      discardRestOfBody(request.raw);
    }
    if (lifecycle.draining) reply.header('connection', 'close');
    done(null, payload);
  });
  // A body that is absent is an empty object: PATCH {} is a no-op, DELETE without one names `email`.
  addRouteHook(app, 'preValidation', (route) => route.schema?.body !== undefined, (request, _reply, done) => {
    if (request.body === undefined) request.body = Object.create(null);
    done();
  });

  registerUserRoutes(app, deps);
  registerSecurityLogRoutes(app, deps);
  registerEmailRoutes(app, { ...deps, mailer, verificationThrottle });
  registerVerificationPages(app, deps);
  const providerSecrets = await providerSecretsReady;
  // The login forms' CSRF tokens are keyed with the provider's cookie key (each use with its own
  // label), so every instance checks what another made.
  registerAccountPages(app, { ...deps, mailer, verificationThrottle }, {
    signIn,
    csrfKey: providerSecrets.cookieKeys[0]!,
    // One sign-in for the product: logging out of the account page ends the browser's sign-in
    // at the authorization server too.
    onLogout: (cookies) => endLoginSessionOfBrowser(deps, cookies),
  });
  // Forgotten passwords: the link by mail, limited per client IP and per account.
  registerPasswordResetPages(app, { ...deps, mailer, resetThrottle: createResetThrottle({ redis: options.redis, keyPrefix: config.redisPrefix }) });
  // Self-service sign-up (SIGNUP); its form's CSRF token is keyed as the login form's is.
  registerSignupPages(app, { ...deps, mailer, verificationThrottle, signupThrottle: createSignupThrottle({ redis: options.redis, keyPrefix: config.redisPrefix }) }, {
    csrfKey: providerSecrets.cookieKeys[0]!,
  });
  const provider = createProvider(deps, providerSecrets, {
    authorizeThrottle: createAuthorizeThrottle({ perMinute: config.oauthAuthorizePerMinute, redis: options.redis, keyPrefix: config.redisPrefix }),
    // Signing out at the authorization server signs the user out of the account page too.
    onSignOut: (userId) => endOtherSessions(deps, userId),
    log: app.log,
  });
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
  // The Docker Registry token endpoint, when REGISTRY_SERVICES names a registry.
  registerRegistryRoutes(app, deps, { signIn, tokens: createRegistryTokens(deps), requests: metrics.registryTokens });
  registerInteractionRoutes(app, { ...deps, mailer }, provider, signIn, providerSecrets.cookieKeys[0]!);

  registerHealthRoutes(app, store, lifecycle, config.metricsPort === undefined ? metrics : undefined);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  return app;
}
