// How the parts are put together, the same way for the server (app.ts) and the CLI
// (cli/context.ts): the dependencies every service is given, with the features' subscribers to the
// credential-change events, and the sign-in core with the features' token verifiers. Only this
// file (and app.ts) may import from every layer.
import type { Redis } from 'ioredis';
import { systemClock, type Clock } from './kernel/clock.ts';
import type { Config } from './kernel/config.ts';
import type { Store } from './kernel/db/store.ts';
import type { Deps } from './kernel/deps.ts';
import { createSecretBox } from './kernel/secret-box.ts';
import type { AuthCache } from './auth/auth-cache.ts';
import { credentialEvents } from './auth/credential-events.ts';
import type { LoginThrottle } from './auth/login-throttle.ts';
import { createPasswordHasher } from './auth/passwords.ts';
import { createSignIn, type SignIn } from './auth/sign-in.ts';
import { recordAuditEvent } from './audit/audit.service.ts';
import { oauthTokenVerifier } from './oauth/access-tokens.ts';
import { endLoginSessionsOnPasswordChange } from './oauth/login-sessions.ts';
import { forgetDeletedAccount } from './oauth/account-deletion.ts';
import { endRegistryRefreshTokens } from './registry/refresh-tokens.ts';
import { personalTokenVerifier } from './tokens/token-verifier.ts';
import { secondFactorGate } from './two-factor/two-factor.service.ts';

export type DepsOptions = {
  config: Config;
  store: Store;
  /** This process's credential caches, emptied by the credential-change events. */
  cache: AuthCache;
  clock?: Clock | undefined;
  /** When set, credential changes are announced to every other process through it. */
  redis?: Redis | undefined;
  onRedisError?: (error: Error) => void;
  /** Told of each password check refused because hashing is saturated (the server logs it). */
  onHashingRefused?: () => void;
};

export function createDeps(options: DepsOptions): Deps {
  const { config } = options;
  const clock = options.clock ?? systemClock;
  return {
    config,
    store: options.store,
    clock,
    secrets: createSecretBox({ store: options.store, configuredKey: config.secretKey, nowIso: () => clock.nowIso() }),
    // The thread pool is per process, so the cap is too; the CLI honours HASH_CONCURRENCY as well.
    passwords: createPasswordHasher({
      concurrency: config.hashConcurrency,
      maxWaiting: config.hashQueue,
      ...(options.onHashingRefused ? { onRefused: options.onHashingRefused } : {}),
    }),
    credentialEvents: credentialEvents({
      cache: options.cache,
      redis: options.redis,
      prefix: config.redisPrefix,
      ...(options.onRedisError ? { onError: options.onRedisError } : {}),
      handlers: [endLoginSessionsOnPasswordChange, forgetDeletedAccount, endRegistryRefreshTokens],
    }),
  };
}

/** The sign-in core with the tokens of both issuers, auditing password attempts. */
export function createServerSignIn(deps: Deps, throttle: LoginThrottle, cache: AuthCache): SignIn {
  return createSignIn(deps, {
    throttle,
    cache,
    personalTokens: personalTokenVerifier(deps, cache),
    bearerTokens: [oauthTokenVerifier(deps, cache)],
    secondFactor: secondFactorGate(deps),
    audit: (event) => {
      const base = { actor: 'self' as const, clientIp: event.ip, userId: null, username: event.username };
      return event.event === 'login_failed'
        ? recordAuditEvent(deps, { ...base, event: 'login_failed', outcome: 'failure', detail: { reason: event.reason } })
        : recordAuditEvent(deps, { ...base, event: 'login_throttled', outcome: 'denied', detail: { wait_seconds: event.waitSeconds } });
    },
  });
}
