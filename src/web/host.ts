// Pages opened at another name than PUBLIC_URL's host are sent there. The authorization server's
// cookies belong to one host name: a sign-in started at http://127.0.0.1:8080 while PUBLIC_URL
// says http://localhost:8080 would otherwise stop at the login page with nothing said, and the
// account page's cookies would live under two names.
//
// 302 Found, not 308: the redirect follows from the configuration, not from the resource. A 308 is
// permanent and browsers keep it without asking again, so a PUBLIC_URL set wrong once (or changed
// later) would stay in users' browsers. Only GET and HEAD are redirected, for which 302 keeps
// the method. The answer is never stored by a cache.
//
// Only browser pages: the API, the token, introspection, revocation, userinfo and JWKS endpoints,
// /metrics, /healthz and /readyz answer at any name (a client or a probe may use an address).
import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * The host the browser asked for, or undefined when it cannot be told. Behind a proxy (the request
 * carries X-Forwarded-For, X-Forwarded-Host or Forwarded) Host may have been rewritten to the
 * backend's address, and redirecting on it would loop: only an X-Forwarded-Host that Fastify
 * believed (TRUST_PROXY names the proxy) is used then.
 */
function hostAsked(request: FastifyRequest): string | undefined {
  const { headers } = request;
  const forwardedHost = headers['x-forwarded-host'];
  // Fastify reads X-Forwarded-Host only from a trusted proxy (request.host then differs from Host);
  // one that says the same as Host names the same host whoever sent it.
  if (forwardedHost !== undefined && (request.host !== headers.host || forwardedHost === headers.host)) return request.host;
  if (forwardedHost !== undefined || headers['x-forwarded-for'] !== undefined || headers.forwarded !== undefined) return undefined;
  return headers.host;
}

/** The host as a URL of `protocol` names it: lower case, without the scheme's default port; undefined if it is not a host. */
function normalHost(host: string, protocol: string): string | undefined {
  if (!URL.canParse(`${protocol}//${host}`)) return undefined;
  const url = new URL(`${protocol}//${host}`);
  return url.pathname === '/' && url.search === '' && url.username === '' ? url.host : undefined;
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
  app.addHook('onRequest', async (request, reply) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return;
    if (!request.url.startsWith('/') || !isPage(request.url.split('?')[0]!)) return;
    const asked = hostAsked(request);
    if (asked === undefined || normalHost(asked, target.protocol) === target.host) return;
    return reply.code(302).header('location', `${publicUrl}${request.url}`).header('cache-control', 'no-store').send();
  });
}
