// The pages' cookies, read and written through @fastify/cookie: request.cookies, reply.setCookie.
// Every one is HttpOnly and SameSite=Lax, Secure when PUBLIC_URL is https, and scoped to the path
// of the pages that read it (but a __Host- cookie, which must have Path=/). The authorization server's own cookies are not here: oidc-provider
// reads the Cookie header and writes Set-Cookie on the raw response itself, which this plugin
// leaves alone (it parses the header into request.cookies and adds Set-Cookie only for what
// reply.setCookie was given).
import type { FastifyInstance, FastifyReply } from 'fastify';
import fastifyCookie from '@fastify/cookie';

export async function registerCookies(app: FastifyInstance): Promise<void> {
  await app.register(fastifyCookie);
}

export type CookieJar = {
  /** Sets the cookie; without maxAgeSeconds it lasts as long as the browser session. */
  set(reply: FastifyReply, name: string, value: string, maxAgeSeconds?: number): void;
  /** Tells the browser to forget the cookie (an empty value, Max-Age=0). */
  clear(reply: FastifyReply, name: string): void;
};

/** Cookies for the pages under `path`. */
export function cookieJar(options: { path: string; secure: boolean }): CookieJar {
  const attributes = { path: options.path, httpOnly: true, sameSite: 'lax' as const, secure: options.secure };
  return {
    set: (reply, name, value, maxAgeSeconds) => void reply.setCookie(name, value, maxAgeSeconds === undefined ? attributes : { ...attributes, maxAge: maxAgeSeconds }),
    clear: (reply, name) => void reply.setCookie(name, '', { ...attributes, maxAge: 0 }),
  };
}

/**
 * A cookie only this host can set: on https a `__Host-` cookie (RFC 6265bis §4.1.3.2), which no
 * other host, a subdomain included, can set, and which must be Secure with Path=/; on plain http
 * (no such guarantee exists there) an ordinary cookie under `path`.
 */
export function hostCookie(name: string, options: { path: string; secure: boolean }): { name: string; jar: CookieJar } {
  return options.secure ? { name: `__Host-${name}`, jar: cookieJar({ path: '/', secure: true }) } : { name, jar: cookieJar(options) };
}
