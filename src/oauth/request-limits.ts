// What one authorization request may carry. The provider keeps every parameter it knows in the
// record of a sign-in until the user has logged in and consented, so without limits an anonymous
// client could make it store megabytes. The limits are far above what clients send (a state or a
// nonce is typically 16 to 64 random characters, a PKCE challenge 43).
import { errors } from 'oidc-provider';

/** Longest query string of an authorization request, in characters (beyond it, 414 and the error page). */
export const MAX_AUTHORIZATION_QUERY = 8192;

const DEFAULT_LIMIT = 512;
const LIMITS: Readonly<Record<string, number>> = { state: 1024, scope: 1024, redirect_uri: 2048, resource: 2048, id_token_hint: 4096 };

// Every parameter the provider reads at the authorization endpoint and would store (`request`,
// `request_uri` and `registration` are refused as unsupported before anything is stored).
const PARAMETERS = [
  'acr_values',
  'claims_locales',
  'client_id',
  'code_challenge',
  'code_challenge_method',
  'display',
  'id_token_hint',
  'login_hint',
  'max_age',
  'nonce',
  'prompt',
  'redirect_uri',
  'resource',
  'response_mode',
  'response_type',
  'scope',
  'state',
  'ui_locales',
];

function checkLength(name: string, max: number) {
  return (_ctx: unknown, value: string | string[] | undefined): void => {
    const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
    if (values.some((v) => v.length > max)) throw new errors.InvalidRequest(`${name} must not be longer than ${max} characters`);
  };
}

/**
 * The provider's `extraParams` with a validator per parameter. The provider runs them once the
 * client and its redirect URI are known good, so an over-long parameter goes back to the
 * redirect URI as invalid_request (RFC 6749 §4.1.2.1), and before the sign-in is stored.
 */
export function parameterLengthChecks(): Record<string, (ctx: unknown, value: string | undefined) => void> {
  return Object.fromEntries(PARAMETERS.map((name) => [name, checkLength(name, LIMITS[name] ?? DEFAULT_LIMIT)]));
}
