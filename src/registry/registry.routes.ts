// The Docker Registry token endpoint (Distribution's token specification, spec/auth/token.md and
// oauth.md in its repository). A registry configured for token authentication sends clients here
// (`realm`):
// - GET with `service`, zero or more `scope`, and HTTP Basic — a password or a personal access
//   token — or nothing (anonymous); `offline_token=true` adds a refresh token (what `docker login`
//   keeps);
// - POST, the OAuth2 variant (a form): grant_type=password (username, password; access_type=offline
//   for a refresh token) or grant_type=refresh_token, with `service`, `client_id` and `scope`
//   (space-separated).
// Credentials are checked by the same sign-in core as the API (brute-force limits, two-factor's
// rule: with two-factor on, the password is refused and a token works). The answer is a token
// granting the part of each scope the caller has; asking for more is not an error.
// Only registered when REGISTRY_SERVICES names at least one service.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Counter } from 'prom-client';
import { ApiError } from '../kernel/errors.ts';
import type { Deps } from '../kernel/deps.ts';
import { selfContext } from '../audit/audit-events.ts';
import type { Principal } from '../auth/principal.ts';
import { unauthenticated, type SignIn } from '../auth/sign-in.ts';
import { grantedAccess, type Grant } from './access.ts';
import { isRegistryAdmin } from './admins.ts';
import { issueRefreshToken, mayHaveRefreshToken, refreshTokenVerifier } from './refresh-tokens.ts';
import { parseScopes } from './scope.ts';
import type { RegistryTokens } from './registry-token.service.ts';

type Options = { signIn: SignIn; tokens: RegistryTokens; requests: Counter<'service' | 'outcome'> };

function queryValues(request: FastifyRequest, name: string): string[] {
  const value = (request.query as Record<string, unknown>)[name];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
}

/** The OAuth2 variant's form: each field's values in order (`scope` may come more than once). */
type TokenForm = Map<string, string[]>;

function parseTokenForm(body: Buffer): TokenForm {
  const form: TokenForm = new Map();
  // URLSearchParams decodes as browsers do (a bad escape becomes U+FFFD, never an exception).
  for (const [name, value] of new URLSearchParams(body.toString('utf8'))) form.set(name, [...(form.get(name) ?? []), value]);
  return form;
}

/** One field's value; RFC 6749 §3.2: a parameter other than scope must not come twice. */
function formField(form: TokenForm, name: string): string | undefined {
  const values = form.get(name) ?? [];
  if (values.length > 1) throw new ApiError('invalid', { detail: `The form gives "${name}" more than once.`, fieldErrors: { [name]: ['Given more than once.'] } });
  return values[0] === '' ? undefined : values[0];
}

const missing = (field: string) => new ApiError('invalid', { detail: `The form needs "${field}".`, fieldErrors: { [field]: ['This field is required.'] } });

/** The scopes a token grants, as the OAuth2 variant's `scope` field says them. */
const scopeString = (access: readonly Grant[]) => access.map((grant) => `${grant.type}:${grant.name}:${grant.actions.join(',')}`).join(' ');

export function registerRegistryRoutes(app: FastifyInstance, deps: Deps, options: Options): void {
  const services = new Set(deps.config.registryServices);
  if (services.size === 0) return;

  const knownService = (service: string | undefined): string => {
    if (service === undefined || !services.has(service)) {
      throw new ApiError('invalid', { detail: `Unknown service: ask for one of this token server's services (the registry's auth.token.service).`, fieldErrors: { service: ['Unknown service.'] } });
    }
    return service;
  };

  /** Counts a refusal under its service, and passes the error on. */
  const refusedIn = (service: string) => (error: unknown): never => {
    options.requests.inc({ service, outcome: 'refused' });
    throw error;
  };

  /** The token for what the caller may have of what was asked. */
  const accessFor = async (service: string, principal: Principal | undefined, scopes: readonly string[]) => {
    const requested = parseScopes(scopes);
    // One lookup, only for a caller who asks for the catalog.
    const isAdmin = principal !== undefined && requested.some((scope) => scope.type === 'registry') && (await isRegistryAdmin(deps, principal.userId));
    const access = grantedAccess(principal, requested, deps.config.registryPull, isAdmin);
    options.requests.inc({ service, outcome: access.length > 0 ? 'granted' : 'nothing_granted' });
    return { access, token: await options.tokens.issue({ service, subject: principal?.username ?? '', access }) };
  };

  const send = (reply: FastifyReply, body: object) => reply.header('cache-control', 'no-store').header('pragma', 'no-cache').send(body);

  app.get('/registry/token', { schema: { hide: true } }, async (request, reply) => {
    const service = knownService(queryValues(request, 'service')[0]);
    const scopes = queryValues(request, 'scope');
    const header = request.headers.authorization;
    // Anonymous with nothing to ask for is a login attempt without credentials: refused, so that
    // an anonymous `docker login` fails (as Harbor's does) instead of "succeeding" with nothing.
    if (header === undefined && scopes.length === 0) refusedIn(service)(unauthenticated('missing'));
    const principal = header === undefined ? undefined : await options.signIn.authorization(header, request.ip).catch(refusedIn(service));
    const { token } = await accessFor(service, principal, scopes);
    // spec/auth/token.md: a refresh token only when asked for, and only for credentials that were given.
    const offline = queryValues(request, 'offline_token')[0] === 'true' && principal !== undefined && mayHaveRefreshToken(principal);
    if (!offline) return send(reply, token);
    const refreshToken = await issueRefreshToken(deps, principal, { service, clientId: queryValues(request, 'client_id')[0] ?? '' }, selfContext(request));
    return send(reply, { ...token, refresh_token: refreshToken });
  });

  // spec/auth/oauth.md. A client that finds no POST falls back to GET; docker and skopeo use POST
  // whenever they hold a refresh token.
  // The form is read here, not by the app's parsers: `scope` may repeat (as in the GET variant), which the app's forms refuse.
  app.register(async (scoped) => {
    scoped.removeAllContentTypeParsers();
    scoped.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer', bodyLimit: 64 * 1024 }, (_request, body, done) => done(null, parseTokenForm(body as Buffer)));
    scoped.post('/registry/token', { schema: { hide: true } }, async (request, reply) => {
      const form = (request.body as TokenForm | undefined) ?? new Map<string, string[]>(); // no body: every field missing
      const service = knownService(formField(form, 'service'));
      const clientId = formField(form, 'client_id');
      if (clientId === undefined) throw missing('client_id'); // REQUIRED in the spec
      const grantType = formField(form, 'grant_type');
      let principal: Principal;
      let offline = false;
      if (grantType === 'password') {
        const username = formField(form, 'username');
        const password = formField(form, 'password');
        if (username === undefined) throw missing('username');
        if (password === undefined) throw missing('password');
        principal = await options.signIn.basic({ username, secret: password, ip: request.ip }).catch(refusedIn(service));
        offline = formField(form, 'access_type') === 'offline' && mayHaveRefreshToken(principal);
      } else if (grantType === 'refresh_token') {
        const refreshToken = formField(form, 'refresh_token');
        if (refreshToken === undefined) throw missing('refresh_token');
        // The refresh token stays as it is (docker keeps it as its identity token): no new one.
        principal = await options.signIn.token({ token: refreshToken, ip: request.ip, verifier: refreshTokenVerifier(deps, service) }).catch(refusedIn(service));
      } else {
        throw new ApiError('invalid', { detail: 'grant_type must be password or refresh_token.', fieldErrors: { grant_type: [grantType === undefined ? 'This field is required.' : 'Unsupported grant type.'] } });
      }
      const scopes = (form.get('scope') ?? []).flatMap((value) => value.split(' ')).filter((scope) => scope !== '');
      const { access, token } = await accessFor(service, principal, scopes);
      const body = { access_token: token.access_token, scope: scopeString(access), expires_in: token.expires_in, issued_at: token.issued_at };
      if (!offline) return send(reply, body);
      return send(reply, { ...body, refresh_token: await issueRefreshToken(deps, principal, { service, clientId }, selfContext(request)) });
    });
  });
}
