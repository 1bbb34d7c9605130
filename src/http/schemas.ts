// Schemas shared by every route: errors and the path parameter.
import { Type } from '@sinclair/typebox';

export const ErrorSchema = Type.Object(
  {
    detail: Type.String({ description: 'For people.' }),
    code: Type.String({ description: 'For programs: stable, snake_case. See the error-code catalogue, docs/reference/error-codes.md.' }),
    errors: Type.Optional(Type.Record(Type.String(), Type.Array(Type.String()), { description: 'Field name → messages, for field errors.' })),
  },
  { $id: 'Error', title: 'Error' },
);

export const UsernameParams = Type.Object({
  username: Type.String({ description: 'The username; matched case-insensitively.' }),
});

const error = (description: string) => ({ description, ...Type.Ref(ErrorSchema) });

/** The error responses every authenticated account route can give. */
export const accountErrorResponses = {
  401: error('No, malformed or wrong credentials, or a deactivated account. Carries WWW-Authenticate.'),
  403: error('The caller is not this user (permission_denied), or the token lacks the scope (insufficient_scope).'),
  404: error('No user has this username.'),
  405: error('Method not allowed; see the Allow header.'),
  429: error('Too many failed authentications for this account or from this address; see Retry-After.'),
  503: error('Too many password checks at once; see Retry-After.'),
} as const;

export const bodyErrorResponses = {
  400: error('The body is malformed or invalid; `errors` names the fields.'),
  413: error('The body is over the size limit.'),
  415: error('The Content-Type is not JSON, url-encoded form or multipart form.'),
} as const;

export const BODY_CONTENT_TYPES = ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'];

export function securityFor(scope: string): Array<Record<string, string[]>> {
  // Basic with the password carries every scope; a token (Basic or Bearer) needs this one.
  return [{ basicAuth: [] }, { bearerAuth: [scope] }];
}
