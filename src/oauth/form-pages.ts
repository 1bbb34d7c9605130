// The provider's own self-submitting form pages: the form_post answer (OAuth 2.0 Form Post
// Response Mode), which carries the code or the error to the redirect URI, and the steps of a
// sign-out that post back to the provider. They get the headers of the service's other pages
// (src/web/security.ts: no framing, no referrer, no cache, …) with a CSP of their own, which runs
// only their one inline script (by its hash) and lets their form post only where it must.
import type { KoaContextWithOIDC } from 'oidc-provider';
import { formPageDirectives, originsOf } from '../web/security.ts';
import { secureHandedOverPage } from '../web/send.ts';

function directivesOf(csp: string): Map<string, string[]> {
  const directives = new Map<string, string[]>();
  for (const directive of csp.split(';')) {
    const [name, ...values] = directive.trim().split(/\s+/);
    if (name) directives.set(name, values);
  }
  return directives;
}

/** Where the page's form may post; CSP Level 3 checks the redirects that follow a form too. */
function formTargets(ctx: KoaContextWithOIDC): string[] {
  const params = (ctx.oidc?.params ?? {}) as Record<string, unknown>;
  // Signing out without a sign-in posts to the provider, which then sends the browser on.
  if (ctx.oidc?.route === 'end_session') return ["'self'", ...originsOf(params.post_logout_redirect_uri)];
  // The form_post answer posts to the redirect URI. When someone else is signed in than the user
  // who just logged in, the provider first posts that sign-out to itself.
  const state = (ctx.oidc?.session as { state?: { secret?: unknown } } | undefined)?.state;
  return [...originsOf(params.redirect_uri), ...(state?.secret !== undefined ? ["'self'"] : [])];
}

/**
 * Koa middleware for the provider's routes that may answer with a form page. Before the provider
 * answers, the page headers with a draft CSP: when it renders a form page, the provider adds the
 * hash of the page's inline script to the draft's script-src (empty: it allows none).
 */
export async function secureFormPages(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
  secureHandedOverPage(ctx.res, { referrerPolicy: 'no-referrer', directives: formPageDirectives([], ["'self'"]), openedByApplications: true });
  await next();
  const scripts = directivesOf(ctx.response.get('content-security-policy')).get('script-src');
  // Replaced by one of our own pages (an error page, the sign-out page), which run no script.
  if (scripts === undefined) return;
  secureHandedOverPage(ctx.res, { referrerPolicy: 'no-referrer', directives: formPageDirectives(scripts, formTargets(ctx)), openedByApplications: true });
}
