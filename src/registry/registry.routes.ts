// GET /registry/token: the Docker Registry token endpoint (Distribution's token specification, spec/auth/token.md in its repository).
// A registry configured for token authentication sends clients here (`realm`); they come back
// with `service`, zero or more `scope`, and HTTP Basic — a password or a personal access token,
// checked by the same sign-in core as the API (brute-force limits, two-factor's rule: with
// two-factor on, the password is refused and a token works) — or nothing (anonymous). The answer
// is a token granting the part of each scope the caller has; asking for more is not an error.
// Only registered when REGISTRY_SERVICES names at least one service.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Counter } from 'prom-client';
import { ApiError } from '../kernel/errors.ts';
import type { Deps } from '../kernel/deps.ts';
import { unauthenticated, type SignIn } from '../auth/sign-in.ts';
import { grantedAccess } from './access.ts';
import { isRegistryAdmin } from './admins.ts';
import { parseScopes } from './scope.ts';
import type { RegistryTokens } from './registry-token.service.ts';

function queryValues(request: FastifyRequest, name: string): string[] {
  const value = (request.query as Record<string, unknown>)[name];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
}

export function registerRegistryRoutes(app: FastifyInstance, deps: Deps, options: { signIn: SignIn; tokens: RegistryTokens; requests: Counter<'service' | 'outcome'> }): void {
  const services = new Set(deps.config.registryServices);
  if (services.size === 0) return;

  app.get('/registry/token', { schema: { hide: true } }, async (request, reply) => {
    const [service] = queryValues(request, 'service');
    if (service === undefined || !services.has(service)) {
      throw new ApiError('invalid', { detail: `Unknown service: ask for one of this token server's services (the registry's auth.token.service).`, fieldErrors: { service: ['Unknown service.'] } });
    }
    const requested = parseScopes(queryValues(request, 'scope'));
    const header = request.headers.authorization;
    // Anonymous with nothing to ask for is a login attempt without credentials: refused, so that
    // an anonymous `docker login` fails (as Harbor's does) instead of "succeeding" with nothing.
    if (header === undefined && queryValues(request, 'scope').length === 0) {
      options.requests.inc({ service, outcome: 'refused' });
      throw unauthenticated('missing');
    }
    const principal = header === undefined ? undefined : await options.signIn.authorization(header, request.ip).catch((error: unknown) => {
      options.requests.inc({ service, outcome: 'refused' });
      throw error;
    });
    // One lookup, only for a caller who asks for the catalog.
    const isAdmin = principal !== undefined && requested.some((scope) => scope.type === 'registry') && (await isRegistryAdmin(deps, principal.userId));
    const access = grantedAccess(principal, requested, deps.config.registryPull, isAdmin);
    options.requests.inc({ service, outcome: access.length > 0 ? 'granted' : 'nothing_granted' });
    const token = await options.tokens.issue({ service, subject: principal?.username ?? '', access });
    return reply.header('cache-control', 'no-store').send(token);
  });
}
