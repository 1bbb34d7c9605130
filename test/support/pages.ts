// What the page tests read from an answer: the directives of its Content-Security-Policy, the
// attributes of a Set-Cookie line (in any order, as RFC 6265 allows), and the header set every
// page of the service carries (src/web/security.ts).
import { expect } from 'vitest';
import { WEBAUTHN_SCRIPT_SOURCE } from '../../src/web/webauthn-script.ts';

type Headers = Record<string, unknown>;

/** The CSP's directives by name, each with its sources. */
export function cspOf(header: unknown): Record<string, string[]> {
  const directives: Record<string, string[]> = {};
  for (const directive of String(header ?? '').split(';')) {
    const [name, ...sources] = directive.trim().split(/\s+/);
    if (name) directives[name] = sources;
  }
  return directives;
}

/** A Set-Cookie line: its name, value and attributes (names in lower case; a flag is true). */
export function parseSetCookie(line: string): { name: string; value: string; attributes: Record<string, string | true> } {
  const [pair, ...rest] = line.split(';');
  const eq = pair!.indexOf('=');
  const attributes: Record<string, string | true> = {};
  for (const part of rest) {
    const [key, ...value] = part.trim().split('=');
    attributes[key!.toLowerCase()] = value.length > 0 ? value.join('=') : true;
  }
  return { name: pair!.slice(0, eq).trim(), value: pair!.slice(eq + 1).trim(), attributes };
}

/**
 * The headers of every page: HTML, no cache, the hash-based CSP (form-action 'self' and
 * `formTargets`), no framing, the page's referrer policy, the cross-origin isolation headers (no
 * opener policy on the authorization server's pages), and
 * HSTS exactly when PUBLIC_URL is https. `webauthn`: the pages that offer passkeys allow the one
 * passkey script by its hash and requests to their own origin; no other page runs any script.
 */
export function expectPageHeaders(
  res: { headers: Headers },
  options: { referrerPolicy: 'same-origin' | 'no-referrer'; https: boolean; formTargets?: string[]; openedByApplications?: boolean; webauthn?: boolean },
): void {
  const { headers } = res;
  expect(headers['content-type']).toBe('text/html; charset=utf-8');
  expect(headers['cache-control']).toBe('no-store');
  expect(headers['x-frame-options']).toBe('DENY');
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['referrer-policy']).toBe(options.referrerPolicy);
  // The authorization server's pages may be a popup an application reads through window.opener.
  expect(headers['cross-origin-opener-policy']).toBe(options.openedByApplications ? undefined : 'same-origin');
  expect(headers['cross-origin-resource-policy']).toBe('same-origin');
  if (options.https) expect(headers['strict-transport-security']).toBe('max-age=31536000');
  else expect(headers['strict-transport-security']).toBeUndefined();
  const csp = cspOf(headers['content-security-policy']);
  const scripts = options.webauthn ? ['script-src', 'connect-src'] : [];
  expect(Object.keys(csp)).toEqual(['default-src', 'style-src', ...scripts, 'form-action', 'frame-ancestors', 'base-uri']);
  if (options.webauthn) {
    expect(csp['script-src']).toEqual([WEBAUTHN_SCRIPT_SOURCE]);
    expect(csp['connect-src']).toEqual(["'self'"]);
  }
  expect(csp['default-src']).toEqual(["'none'"]);
  expect(csp['style-src']).toEqual([expect.stringMatching(/^'sha256-[A-Za-z0-9+/]{43}='$/)]);
  expect(csp['form-action']).toEqual(["'self'", ...(options.formTargets ?? [])]);
  expect(csp['frame-ancestors']).toEqual(["'none'"]);
  expect(csp['base-uri']).toEqual(["'none'"]);
}
