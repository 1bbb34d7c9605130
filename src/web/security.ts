// The security headers of every page, set with @fastify/helmet. Registered with `global: false`:
// the JSON API, the metrics and health endpoints and the API browser at /docs keep their own
// headers; a page applies them as it is sent (./send.ts), because its CSP depends on the request
// (the OAuth pages let their forms lead on to the client's redirect URI).
//
// A page gets:
// - Content-Security-Policy: default-src 'none'; style-src 'sha256-…' (the one style sheet);
//   form-action 'self' (plus the client's origin on OAuth pages); frame-ancestors 'none';
//   base-uri 'none'. No image, no font, no framing, and no script but, on the pages that offer
//   passkeys, the one passkey script by its hash (with connect-src 'self' for its requests);
// - Strict-Transport-Security (a year) when PUBLIC_URL is https, never on plain http;
// - Cross-Origin-Opener-Policy: same-origin (not on the authorization server's pages, which an
//   application may open in a popup), Cross-Origin-Resource-Policy: same-origin;
// - X-Frame-Options: DENY (for browsers without frame-ancestors);
// - Referrer-Policy: as the page says (no-referrer where the URL or the page holds something to
//   keep, same-origin on the account page);
// - X-Content-Type-Options: nosniff, and helmet's other defaults (Origin-Agent-Cluster,
//   X-DNS-Prefetch-Control: off, X-Download-Options, X-Permitted-Cross-Domain-Policies: none,
//   X-XSS-Protection: 0);
// and Cache-Control: no-store, which is not helmet's and ./send.ts sets.
import type { FastifyInstance, FastifyReply } from 'fastify';
import helmet from '@fastify/helmet';
import { STYLE_SOURCE } from './style.ts';
import { WEBAUTHN_SCRIPT_SOURCE } from './webauthn-script.ts';

export type HelmetOptions = NonNullable<Parameters<FastifyReply['helmet']>[0]>;
export type ReferrerPolicy = 'no-referrer' | 'same-origin';
export type Directives = Record<string, string[]>;

/** What varies between pages. */
export type PagePolicy = {
  referrerPolicy: ReferrerPolicy;
  /** Origins (besides this one) a form's redirects may lead to: CSP Level 3 checks them too. */
  formTargets?: readonly string[];
  /** Another CSP than pageDirectives(formTargets): the provider's form pages' (formPageDirectives). */
  directives?: Directives;
  /**
   * The authorization server's pages: an application may open them in a popup and read the
   * outcome through window.opener (oidc-client-ts, MSAL), which Cross-Origin-Opener-Policy:
   * same-origin would cut. They go without it; the account pages keep it.
   */
  openedByApplications?: boolean;
  /** The page may run the passkey script (./webauthn-script.ts): its hash, and fetch to this origin. */
  webauthn?: boolean;
};

const ONE_YEAR_SECONDS = 365 * 24 * 60 * 60;

/**
 * The origin of a URI, for form-action; none for an unparsable one, one without an origin (a
 * custom scheme), or one that could not stand in a CSP source list (a host with ';' or ',', which
 * URL parsing lets through and would end the directive).
 */
export function originsOf(uri: unknown): string[] {
  if (typeof uri !== 'string' || !URL.canParse(uri)) return [];
  const { origin } = new URL(uri);
  return origin === 'null' || /[\s;,'"]/.test(origin) ? [] : [origin];
}

/** A page's CSP: its one style sheet, forms to this origin and to `formTargets`; the passkey script when asked. */
export function pageDirectives(formTargets: readonly string[] = [], webauthn = false): Directives {
  return {
    'default-src': ["'none'"],
    'style-src': [STYLE_SOURCE],
    ...(webauthn ? { 'script-src': [WEBAUTHN_SCRIPT_SOURCE], 'connect-src': ["'self'"] } : {}),
    'form-action': ["'self'", ...formTargets],
    'frame-ancestors': ["'none'"],
    'base-uri': ["'none'"],
  };
}

/**
 * The CSP of the provider's self-submitting form pages (src/oauth/form-pages.ts): their inline
 * scripts by hash, no style, forms only to `formAction` (none when empty). With `scripts` empty
 * the script-src directive is present but allows nothing; the provider adds its script's hash to it.
 */
export function formPageDirectives(scripts: readonly string[], formAction: readonly string[]): Directives {
  return {
    'default-src': ["'none'"],
    'script-src': [...scripts],
    'form-action': formAction.length > 0 ? [...formAction] : ["'none'"],
    'frame-ancestors': ["'none'"],
    'base-uri': ["'none'"],
  };
}

/** The options reply.helmet() takes for a page with this policy (the rest is registerPageSecurity's). */
export function pageHelmetOptions(policy: PagePolicy): HelmetOptions {
  return {
    contentSecurityPolicy: { useDefaults: false, directives: policy.directives ?? pageDirectives(policy.formTargets, policy.webauthn) },
    referrerPolicy: { policy: policy.referrerPolicy },
    ...(policy.openedByApplications ? { crossOriginOpenerPolicy: false } : {}),
  };
}

/** Registers helmet for pages only (global: false); HSTS only when PUBLIC_URL is https. */
export async function registerPageSecurity(app: FastifyInstance, publicUrl: string): Promise<void> {
  const https = new URL(publicUrl).protocol === 'https:';
  const page = pageHelmetOptions({ referrerPolicy: 'no-referrer' });
  await app.register(helmet, {
    global: false,
    contentSecurityPolicy: page.contentSecurityPolicy,
    referrerPolicy: page.referrerPolicy,
    strictTransportSecurity: https ? { maxAge: ONE_YEAR_SECONDS, includeSubDomains: false } : false,
    crossOriginOpenerPolicy: { policy: 'same-origin' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    xFrameOptions: { action: 'deny' },
  });
}
