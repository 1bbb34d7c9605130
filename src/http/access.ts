// One hook enforces what routes declare as data: `config: { scope: 'email_read' }` marks a route
// on /users/:username/ that only that user may call, with a token carrying that scope. It runs at
// onRequest, before the body is read, so the order of answers is the spec's:
// 401 → 404 → 403 (not this user) → 403 (scope) → then body errors (400, 413, 415).
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../kernel/errors.ts';
import type { Deps } from '../kernel/deps.ts';
import { authenticateThrottled, publicFailureReason, type Principal } from '../auth/authenticate.ts';
import type { LoginThrottle } from '../auth/login-throttle.ts';
import type { Scope } from '../auth/scopes.ts';
import type { User } from '../users/users.repository.ts';
import type { Metrics } from '../ops/metrics.ts';
import { requireUser } from '../users/users.service.ts';

export type AccountRef = Pick<User, 'id' | 'username'>;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a token needs to call this route; marks the route as the path user's own. */
    scope?: Scope;
  }
  interface FastifyRequest {
    principal: Principal | null;
    /** The user named in the path, once access is granted: its immutable identity only. */
    account: AccountRef | null;
  }
}

export function registerAccessControl(app: FastifyInstance, deps: Deps, metrics: Metrics, throttle: LoginThrottle): void {
  app.decorateRequest('principal', null);
  app.decorateRequest('account', null);
  app.addHook('onRequest', async (request, reply) => {
    const scope = request.routeOptions.config.scope;
    if (!scope) return;
    // Authenticated answers are personal: never stored by caches on the way.
    reply.header('cache-control', 'no-store');
    const principal = await authenticateThrottled(deps, throttle, request.headers.authorization, request.ip).catch((error: unknown) => {
      if (error instanceof ApiError && (error.code === 'not_authenticated' || error.code === 'too_many_requests')) {
        metrics.authFailures.inc({ reason: publicFailureReason(error.internal) });
        request.log.info({ reason: error.internal }, 'authentication failed');
      }
      throw error;
    });
    const { username } = request.params as { username: string };
    // Usernames never change and accounts are never deleted: the path lookup can be cached.
    let account = deps.authCache?.getUser(username.toLowerCase());
    if (!account) {
      account = await requireUser(deps, username);
      deps.authCache?.setUser(account);
    }
    if (account.id !== principal.userId) throw new ApiError('permission_denied');
    if (!principal.scopes.has(scope)) {
      throw new ApiError('insufficient_scope', {
        detail: `The access token does not have the "${scope}" scope this action needs.`,
        // RFC 6750 §3.1
        headers: { 'www-authenticate': `Bearer error="insufficient_scope", scope="${scope}"` },
      });
    }
    request.principal = principal;
    request.account = { id: account.id, username: account.username };
  });
}

/** The path user of a route guarded by a scope; the hook has checked it. */
export function accountOf(request: { account: AccountRef | null }): AccountRef {
  if (!request.account) throw new Error('route has no scope in its config: access was not checked');
  return request.account;
}
