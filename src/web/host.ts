// Pages opened at another name than PUBLIC_URL's host are sent there, when that can be told (see
// asksForAnotherHost). The authorization server's cookies belong to one host name: a sign-in
// started at http://127.0.0.1:8080 while PUBLIC_URL says http://localhost:8080 would otherwise
// stop at the login page with nothing said, and the account page's cookies would live under two
// names.
//
// 302 Found, not 308: the redirect follows from the configuration, not from the resource. A 308 is
// permanent and browsers keep it without asking again, so a PUBLIC_URL set wrong once (or changed
// later) would stay in users' browsers. Only GET and HEAD are redirected, for which 302 keeps
// the method. The answer is never stored by a cache.
//
// Only browser pages: the API, the token, introspection, revocation, userinfo and JWKS endpoints,
// /metrics, /healthz and /readyz answer at any name (a client or a probe may use an address).
import type { FastifyInstance, FastifyRequest } from 'fastify';

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/** The host as a URL of `protocol` names it: lower case, without the scheme's default port; undefined if it is not a host. */
function parseHost(host: string, protocol: string): URL | undefined {
  if (!URL.canParse(`${protocol}//${host}`)) return undefined;
  const url = new URL(`${protocol}//${host}`);
  return url.pathname === '/' && url.search === '' && url.username === '' ? url : undefined;
}

/**
 * Whether the browser asked for another host than PUBLIC_URL's, as far as can be told without
 * sending a proxy's requests round in a loop:
 * - through a proxy that TRUST_PROXY names, its X-Forwarded-Host is the name the browser used
 *   (Fastify reads it only from such a proxy; one that repeats Host names that host whoever sent
 *   it). Its host name is compared, not its port: proxies that add one often add the backend's.
 * - through any other proxy (X-Forwarded-For, X-Forwarded-Host or Forwarded present) Host may be
 *   the backend's address: nothing to go by.
 * - otherwise Host is compared only when both it and PUBLIC_URL name this machine (localhost,
 *   127.0.0.1, [::1]): the developer's case. A proxy that rewrites Host to the backend's address
 *   without adding any forwarding header (nginx's default) looks exactly like a browser that came
 *   straight here, and redirecting it would loop.
 */
function asksForAnotherHost(request: FastifyRequest, target: URL): boolean {
  const { headers } = request;
  const forwardedHost = headers['x-forwarded-host'];
  if (forwardedHost !== undefined && (request.host !== headers.host || forwardedHost === headers.host)) {
    const asked = parseHost(request.host, target.protocol);
    return asked !== undefined && asked.hostname !== target.hostname;
  }
  if (forwardedHost !== undefined || headers['x-forwarded-for'] !== undefined || headers.forwarded !== undefined) return false;
  const asked = headers.host === undefined ? undefined : parseHost(headers.host, target.protocol);
  return asked !== undefined && LOOPBACK.test(asked.hostname) && LOOPBACK.test(target.hostname) && asked.host !== target.host;
}

/**
 * Registers the redirect for GET and HEAD of the pages: `/` and every path that starts with one of
 * `pagePrefixes` (each ending in a slash; the path without its trailing slash counts too).
 */
export function registerHostRedirect(app: FastifyInstance, publicUrl: string, pagePrefixes: readonly string[]): void {
  const target = new URL(publicUrl);
  const isPage = (path: string) => {
    const withSlash = path.endsWith('/') ? path : `${path}/`;
    return withSlash === '/' || pagePrefixes.some((prefix) => withSlash.startsWith(prefix));
  };
  // Every request passes here (a path that is no route's must be redirected too), so a callback
  // hook: no promise per request.
  app.addHook('onRequest', (request, reply, done) => {
    const redirect = (request.method === 'GET' || request.method === 'HEAD') && request.url.startsWith('/') && isPage(request.url.split('?')[0]!) && asksForAnotherHost(request, target);
    if (!redirect) return done();
    reply.code(302).header('location', `${publicUrl}${request.url}`).header('cache-control', 'no-store').send();
  });
}
