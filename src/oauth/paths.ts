// Where the authorization server lives: the docker.io v1.1 paths (docs/reference/oauth.md) and
// the ones the service adds beside them. No imports, so anything may use it cheaply.

export const OAUTH_PATHS = {
  authorization: '/api/v1.1/o/authorize/',
  token: '/api/v1.1/o/token/',
  revocation: '/api/v1.1/o/revoke/',
  introspection: '/api/v1.1/o/introspect/',
  userinfo: '/api/v1.1/o/userinfo/',
  jwks: '/api/v1.1/o/jwks/',
  interaction: '/api/v1.1/o/interaction/',
  // OpenID Connect RP-Initiated Logout; the provider serves …/confirm and …/success beside it.
  endSession: '/api/v1.1/o/session/end/',
} as const;

/** The Accounts API as a resource server (RFC 8707): the audience of every access token. */
export function apiResource(publicUrl: string): string {
  return `${publicUrl}/api/v1.1/`;
}
