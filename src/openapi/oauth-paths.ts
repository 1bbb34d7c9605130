// The authorization server's endpoints in the OpenAPI document. They are served by oidc-provider,
// not by Fastify routes, so their descriptions are written here (docs/reference/oauth.md is the
// reference); RFC 8414 metadata at /.well-known/oauth-authorization-server stays the source for
// OAuth clients. Errors here are OAuth's {"error", "error_description"}.
import { OAUTH_PATHS } from '../oauth/paths.ts';

const OAuthError = {
  type: 'object',
  required: ['error'],
  properties: { error: { type: 'string', description: 'RFC 6749 §5.2, RFC 7009, RFC 7662.' }, error_description: { type: 'string' } },
};

const form = (properties: Record<string, unknown>, required: string[]) => ({
  required: true,
  content: { 'application/x-www-form-urlencoded': { schema: { type: 'object', properties, required } } },
});

const clientAuth = [{ clientBasic: [] }, {}];
const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: OAuthError } } });

export const oauthPaths = {
  [OAUTH_PATHS.authorization]: {
    get: {
      summary: 'Authorization endpoint (RFC 6749 §4.1.1, PKCE RFC 7636)',
      description: 'Starts the authorization code flow in the browser: the user signs in and consents, then is sent to redirect_uri with code and state (and iss, RFC 9207). PKCE S256 is required. Not for programs to call directly.',
      tags: ['oauth'],
      parameters: [
        { name: 'response_type', in: 'query', required: true, schema: { type: 'string', enum: ['code'] } },
        { name: 'client_id', in: 'query', required: true, schema: { type: 'string' } },
        { name: 'redirect_uri', in: 'query', schema: { type: 'string' }, description: 'One of the registered URIs, exactly; default the first.' },
        { name: 'scope', in: 'query', schema: { type: 'string' }, description: 'Space-separated; default "profile_read email_read".' },
        { name: 'state', in: 'query', schema: { type: 'string' } },
        { name: 'code_challenge', in: 'query', required: true, schema: { type: 'string' } },
        { name: 'code_challenge_method', in: 'query', required: true, schema: { type: 'string', enum: ['S256'] } },
        { name: 'nonce', in: 'query', schema: { type: 'string' } },
        { name: 'prompt', in: 'query', schema: { type: 'string' } },
      ],
      responses: {
        '303': { description: 'To the login or consent page, or back to redirect_uri with code (or error) and state.' },
        '400': { description: 'An unknown client or a redirect_uri it did not register: an error page (never a redirect).' },
        '429': { description: 'Too many sign-ins started from this address; see Retry-After.' },
      },
    },
  },
  [OAUTH_PATHS.token]: {
    post: {
      summary: 'Token endpoint (RFC 6749 §3.2)',
      description: 'Trades an authorization code (with the PKCE code_verifier) or a refresh token for an access token. Confidential clients authenticate (client_secret_basic or client_secret_post). Refresh tokens rotate.',
      tags: ['oauth'],
      security: clientAuth,
      requestBody: form(
        {
          grant_type: { type: 'string', enum: ['authorization_code', 'refresh_token'] },
          code: { type: 'string' },
          redirect_uri: { type: 'string' },
          code_verifier: { type: 'string' },
          refresh_token: { type: 'string' },
          client_id: { type: 'string' },
          client_secret: { type: 'string' },
        },
        ['grant_type'],
      ),
      responses: {
        '200': {
          description: 'The tokens (RFC 6749 §5.1).',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['access_token', 'token_type', 'expires_in'],
                properties: {
                  access_token: { type: 'string' },
                  token_type: { type: 'string', enum: ['Bearer'] },
                  expires_in: { type: 'integer' },
                  refresh_token: { type: 'string' },
                  scope: { type: 'string' },
                  id_token: { type: 'string' },
                },
              },
            },
          },
        },
        '400': errorResponse('invalid_request, invalid_grant (a spent, expired or foreign code or refresh token), unsupported_grant_type, invalid_scope.'),
        '401': errorResponse('invalid_client: the client failed to authenticate.'),
      },
    },
  },
  [OAUTH_PATHS.revocation]: {
    post: {
      summary: 'Token revocation (RFC 7009)',
      description: 'Revokes an access or refresh token the client holds; a refresh token ends the whole authorization. 200 also for a token that is unknown or not the client\'s.',
      tags: ['oauth'],
      security: clientAuth,
      requestBody: form({ token: { type: 'string' }, token_type_hint: { type: 'string', enum: ['access_token', 'refresh_token'] }, client_id: { type: 'string' } }, ['token']),
      responses: { '200': { description: 'Revoked (or nothing to revoke).' }, '400': errorResponse('invalid_request.'), '401': errorResponse('invalid_client.') },
    },
  },
  [OAUTH_PATHS.introspection]: {
    post: {
      summary: 'Token introspection (RFC 7662)',
      description: 'For confidential clients: whether a token the client holds is active, with its scope, client, subject and times. Another client\'s token is {"active": false}.',
      tags: ['oauth'],
      security: [{ clientBasic: [] }],
      requestBody: form({ token: { type: 'string' }, token_type_hint: { type: 'string' } }, ['token']),
      responses: {
        '200': {
          description: 'RFC 7662 §2.2.',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['active'],
                properties: {
                  active: { type: 'boolean' },
                  scope: { type: 'string' },
                  client_id: { type: 'string' },
                  sub: { type: 'string' },
                  exp: { type: 'integer' },
                  iat: { type: 'integer' },
                  token_type: { type: 'string' },
                },
              },
            },
          },
        },
        '400': errorResponse('invalid_request.'),
        '401': errorResponse('invalid_client.'),
      },
    },
  },
} as const;
