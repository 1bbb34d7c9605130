// Which scopes a client may ask for, and how the consent page explains them. The four API scopes
// belong to the API as a resource server (RFC 8707); the OpenID ones to the provider itself.
import { SCOPES } from '../auth/scopes.ts';

/** The scope a client gets when it names none (docs/reference/oauth.md). */
export const DEFAULT_SCOPE = 'profile_read email_read';

/**
 * OpenID Connect scopes: `openid` for an ID token, `profile` and `email` for claims in it.
 * `offline_access` is accepted but changes nothing: every client gets a refresh token.
 */
export const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'] as const;

export const KNOWN_SCOPES: ReadonlySet<string> = new Set<string>([...SCOPES, ...OIDC_SCOPES]);

/** What the consent page says each scope lets the application do, in plain words. */
export const SCOPE_DESCRIPTIONS: Record<string, string> = {
  profile_read: 'See your profile: your username, full name, location, company, profile link and Gravatar address.',
  profile_write: 'Change your profile: full name, location, company, profile link and Gravatar address.',
  email_read: 'See your email addresses and which of them are verified.',
  email_write: 'Add and remove email addresses on your account.',
  security_read: 'Read your security log: sign-ins and failed attempts, password and address changes, tokens, applications and second factors.',
  openid: 'Sign you in: learn that it is you, by your account number.',
  profile: 'Learn your username and full name when you sign in.',
  email: 'Learn your primary email address when you sign in.',
  offline_access: 'Keep this access while you are away, until you revoke it.',
};

/** The scopes of a space-separated list that we do not know; empty when all are known. */
export function unknownScopes(scope: string | undefined): string[] {
  if (!scope) return [];
  return scope.split(' ').filter((s) => s !== '' && !KNOWN_SCOPES.has(s));
}
