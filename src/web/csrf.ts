// One CSRF scheme for every form of the service. A form's token is
//   base64url(HMAC-SHA256(key, purpose + ':' + binding))
// under a server key every instance shares (the provider's first cookie key, kept in the
// database), where the binding is what ties the form to this browser:
// - account-session: the account page's session id (its HttpOnly cookie);
// - account-login, account-signup: the random, time-stamped value of the login (sign-up) form's cookie;
// - oauth-interaction: the sign-in's interaction uid (tied to the browser by the provider's cookie).
// Nothing is stored; an attacker who cannot read the browser's cookies cannot compute a token, and
// a token made for one purpose is not one for another. Checked in constant time.
//
// Not covered here: the OAuth sign-out confirmation is the provider's own form, checked with the
// provider's own `xsrf` value (kept in its session); that is its mechanism and it is left to it.
import { createHmac } from 'node:crypto';
import { sameSecret } from '../kernel/crypto.ts';

export type CsrfPurpose = 'account-session' | 'account-login' | 'account-signup' | 'account-second-factor' | 'oauth-interaction';

export type Csrf = {
  /** The token the forms bound to `binding` carry. */
  tokenFor(purpose: CsrfPurpose, binding: string): string;
  /** Whether `sent` (a form field, anything) is that token; false without a binding. */
  accepts(purpose: CsrfPurpose, binding: string | undefined, sent: unknown): boolean;
};

export function createCsrf(key: string): Csrf {
  if (key === '') throw new Error('the CSRF key is empty');
  const tokenFor = (purpose: CsrfPurpose, binding: string) => createHmac('sha256', key).update(`${purpose}:${binding}`, 'utf8').digest('base64url');
  return {
    tokenFor,
    accepts: (purpose, binding, sent) => binding !== undefined && binding !== '' && sameSecret(sent, tokenFor(purpose, binding)),
  };
}

/**
 * True when a form was posted from another site, as the browser tells it. Fetch Metadata's
 * Sec-Fetch-Site decides when it is there: anything but same-origin is refused, a sibling
 * subdomain included (it could also have planted our cookies). Browsers without it send Origin:
 * it must be PUBLIC_URL's origin, or name the host the request came to (a page opened under
 * another name; a proxy may have rewritten Host, hence PUBLIC_URL first). Origin "null" is what
 * browsers send for a form on a page with Referrer-Policy no-referrer, so it is not refused here;
 * the form's own token still is checked.
 */
export function isCrossSiteForm(request: { headers: Record<string, string | string[] | undefined>; host: string }, publicOrigin: string): boolean {
  const site = request.headers['sec-fetch-site'];
  if (typeof site === 'string') return site !== 'same-origin' && site !== 'none';
  const origin = request.headers.origin;
  if (typeof origin !== 'string' || origin === 'null' || origin === publicOrigin) return false;
  try {
    return new URL(origin).host !== request.host;
  } catch {
    return true;
  }
}
