// The provider's own self-submitting form pages: the form_post answer (OAuth 2.0 Form Post
// Response Mode), which carries the code or the error to the redirect URI, and the steps of a
// sign-out that post back to the provider. They are locked down like the service's other pages:
// no framing, no referrer, no cache, and a CSP that runs only their one inline script (by its
// hash) and lets their form post only where it must.
import type { KoaContextWithOIDC } from 'oidc-provider';

// Set before the provider answers. When it renders a form page, the provider adds the hash of
// the page's inline script to an existing script-src (an empty source list allows none).
const DRAFT = "default-src 'none'; script-src; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

function directivesOf(csp: string): Map<string, string[]> {
  const directives = new Map<string, string[]>();
  for (const directive of csp.split(';')) {
    const [name, ...values] = directive.trim().split(/\s+/);
    if (name) directives.set(name, values);
  }
  return directives;
}

function originsOf(uri: unknown): string[] {
  if (typeof uri !== 'string' || !URL.canParse(uri)) return [];
  return [new URL(uri).origin];
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

/** Koa middleware for the provider's routes that may answer with a form page. */
export async function secureFormPages(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
  ctx.set('content-security-policy', DRAFT);
  ctx.set('referrer-policy', 'no-referrer');
  ctx.set('x-frame-options', 'DENY');
  await next();
  const scripts = directivesOf(ctx.response.get('content-security-policy')).get('script-src');
  // Replaced by one of our own pages (an error page, the sign-out page), which run no script.
  if (scripts === undefined) return;
  const targets = formTargets(ctx);
  ctx.set(
    'content-security-policy',
    `default-src 'none'; script-src ${scripts.length > 0 ? scripts.join(' ') : "'none'"}; form-action ${targets.length > 0 ? targets.join(' ') : "'none'"}; frame-ancestors 'none'; base-uri 'none'`,
  );
}
