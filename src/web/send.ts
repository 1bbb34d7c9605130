// How a page leaves the server: HTML, never stored by a cache, with the page security headers
// (./security.ts). Redirects of the pages are never stored either.
import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import type { Html } from './html.ts';
import { pageHelmetOptions, type PagePolicy } from './security.ts';

export function sendPage(reply: FastifyReply, status: number, page: Html, policy: PagePolicy): FastifyReply {
  reply.helmet(pageHelmetOptions(policy));
  return reply.code(status).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(page);
}

/** 303 See Other: after a form, the browser GETs `location` (Post/Redirect/Get). */
export function seeOther(reply: FastifyReply, location: string): FastifyReply {
  return reply.code(303).header('cache-control', 'no-store').header('location', location).send();
}

// The authorization server (oidc-provider) writes its answers on the raw response of a reply
// Fastify handed over to it. Its pages (errors, sign-out, form_post) get the same headers from
// that reply's helmet, found by the raw response.
const handedOver = new WeakMap<ServerResponse, FastifyReply>();

/** Called before the reply is hijacked and its raw response given to someone else. */
export function handOverPages(reply: FastifyReply): void {
  handedOver.set(reply.raw, reply);
}

/** The page headers (and Cache-Control: no-store) on a raw response handed over by handOverPages. */
export function secureHandedOverPage(response: ServerResponse, policy: PagePolicy): void {
  const reply = handedOver.get(response);
  if (reply === undefined) throw new Error('a page was written on a response that was not handed over (handOverPages)');
  reply.helmet(pageHelmetOptions(policy));
  response.setHeader('cache-control', 'no-store');
}
