// One hook enforces what routes declare as data: `config: { scope: 'email_read' }` marks a route
// on /users/:username/ that only that user may call, with a token carrying that scope. It runs at
// onRequest, before the body is read, so the order of answers is the spec's:
// 401 → 404 → 403 (not this user) → 403 (scope) → then body errors (400, 413, 415).
import type { FastifyInstance } from 'fastify';
import { addRouteHook } from './route-hooks.ts';
import { ApiError } from '../kernel/errors.ts';
import { rateLimitHeaders, type RateLimitState } from '../kernel/rate-limit-fields.ts';
import type { AccountRef, Principal } from '../auth/principal.ts';
import { publicFailureReason, type SignIn } from '../auth/sign-in.ts';
import { TOKEN_SCOPES, type Scope } from '../auth/scopes.ts';
import type { Metrics } from '../ops/metrics.ts';

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

export function registerAccessControl(app: FastifyInstance, signIn: SignIn, metrics: Metrics): void {
  app.decorateRequest('principal', null);
  app.decorateRequest('account', null);
  addRouteHook(app, 'onRequest', (route) => route.config?.scope !== undefined, async (request, reply) => {
    const scope = request.routeOptions.config.scope;
    if (!scope) return;
    // Authenticated answers are personal: never stored by caches on the way.
    reply.header('cache-control', 'no-store');
    // The client IP's budget of failed authentications, on every answer that spent or could spend it.
    const report = (state: RateLimitState) => reply.headers(rateLimitHeaders(state));
    const principal = await signIn.authorization(request.headers.authorization, request.ip, report).catch((error: unknown) => {
      if (error instanceof ApiError && (error.code === 'not_authenticated' || error.code === 'too_many_requests')) {
        metrics.authFailures.inc({ reason: publicFailureReason(error.internal) });
        request.log.info({ reason: error.internal }, 'authentication failed');
      }
      throw error;
    });
    // GitHub's scope headers, on every authenticated answer (the 403s and 404 below included): what
    // the credential carries, and what this endpoint needs.
    reply.header('x-oauth-scopes', TOKEN_SCOPES.filter((s) => principal.scopes.has(s)).join(', '));
    reply.header('x-accepted-oauth-scopes', scope);
    const { username } = request.params as { username: string };
    // Resolved once, here; routes and services are given it (request.account).
    const account = await signIn.account(username);
    if (!account) throw new ApiError('not_found', { detail: `No user named "${username.toLowerCase()}".` });
    if (account.id !== principal.userId) throw new ApiError('permission_denied');
    if (!principal.scopes.has(scope)) {
      throw new ApiError('insufficient_scope', {
        detail: `The access token does not have the "${scope}" scope this action needs.`,
        // RFC 6750 §3.1
        headers: { 'www-authenticate': `Bearer error="insufficient_scope", scope="${scope}"` },
      });
    }
    request.principal = principal;
    request.account = account;
  });
}

/** The path user of a route guarded by a scope; the hook has checked it. */
export function accountOf(request: { account: AccountRef | null }): AccountRef {
  if (!request.account) throw new Error('route has no scope in its config: access was not checked');
  return request.account;
}
