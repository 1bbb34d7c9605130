// What the web layer adds to the app as a whole: the cookie and security-header plugins, the
// redirect of pages to PUBLIC_URL's host, the landing page at `/`, and the HTML 404 that browsers
// get for a path that is not there (API clients keep the JSON one).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { registerCookies } from './cookies.ts';
import { registerHostRedirect } from './host.ts';
import { html, type Html } from './html.ts';
import { layout, messagePage, SERVICE_NAME } from './layout.ts';
import { prefersHtml } from './negotiation.ts';
import { registerPageSecurity } from './security.ts';
import { sendPage } from './send.ts';

export type WebOptions = {
  publicUrl: string;
  /** Where the browser pages are, besides `/` (each ending in a slash): redirected to PUBLIC_URL's host. */
  pagePrefixes: readonly string[];
  /** Whether the landing page offers "Create an account" (SIGNUP is not closed). */
  signupLink?: boolean;
};

function landingPage(base: string, signupLink: boolean): Html {
  return layout({
    title: SERVICE_NAME,
    main: html`<main class="narrow">
<h1>${SERVICE_NAME}</h1>
<p>Your account: your profile, email addresses, access tokens and the applications you allowed.</p>
<ul class="links">
<li><a href="${base}/account/login">Sign in</a></li>
<li><a href="${base}/account/forgot-password">Forgot your password?</a></li>
!${signupLink ? html`<li><a href="${base}/account/signup">Create an account</a></li>
` : ''}<li><a href="${base}/docs">API documentation</a></li>
</ul>
</main>`,
  });
}

/** Registers the plugins and the hooks; call it before any route is added. */
export async function registerWeb(app: FastifyInstance, options: WebOptions): Promise<void> {
  const base = new URL(options.publicUrl).pathname.replace(/\/$/, '');
  await registerCookies(app);
  await registerPageSecurity(app, options.publicUrl);
  registerHostRedirect(app, options.publicUrl, options.pagePrefixes);
  const landing = landingPage(base, options.signupLink === true);
  app.get('/', { schema: { hide: true } }, async (_request, reply) => sendPage(reply, 200, landing, { referrerPolicy: 'no-referrer' }));
}

/**
 * The 404 page, for a browser (GET or HEAD preferring HTML) asking for a path outside the API;
 * undefined for anyone else, who gets the API's JSON 404.
 */
export function answerUnknownPage(request: FastifyRequest, reply: FastifyReply, publicUrl: string): FastifyReply | undefined {
  if (request.method !== 'GET' && request.method !== 'HEAD') return undefined;
  const path = request.url.split('?')[0]!;
  if (path === '/api' || path.startsWith('/api/') || !prefersHtml(request.headers.accept)) return undefined;
  const base = new URL(publicUrl).pathname.replace(/\/$/, '');
  const page = messagePage('Page not found', 'There is no page at this address.', { href: `${base}/`, label: 'Go to the start page' });
  return sendPage(reply, 404, page, { referrerPolicy: 'no-referrer' });
}
