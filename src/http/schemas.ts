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

// The optional headers beyond v1.1 (docs/reference/api.md#beyond-v11-optional-headers).
const RATE_LIMIT_HEADERS = {
  'RateLimit-Policy': { description: 'IETF draft RateLimit fields: the limit policies of this operation, e.g. "auth-failures";q=100;w=60.', schema: { type: 'string' } },
  RateLimit: { description: 'What is left of each policy, e.g. "auth-failures";r=99;t=0.', schema: { type: 'string' } },
};
const SCOPE_HEADERS = {
  'X-OAuth-Scopes': { description: 'The scopes the credential carries, separated by ", ".', schema: { type: 'string' } },
  'X-Accepted-OAuth-Scopes': { description: 'The scope this operation needs.', schema: { type: 'string' } },
};
const ETAG_HEADER = { ETag: { description: 'A strong entity tag of the representation: the same for every credential and instance.', schema: { type: 'string' } } };

/** Headers of a success: the scope and rate-limit headers, and the ETag when the resource has one. */
export function successHeaders(options: { etag?: boolean; idempotent?: boolean } = {}) {
  return {
    ...SCOPE_HEADERS,
    ...RATE_LIMIT_HEADERS,
    ...(options.etag ? ETAG_HEADER : {}),
    ...(options.idempotent ? { 'Idempotent-Replayed': { description: '"true" when this is the kept answer of an earlier request with the same Idempotency-Key.', schema: { type: 'string' } } } : {}),
  };
}

/** GET with If-None-Match. */
export const notModifiedResponses = {
  304: { description: 'If-None-Match named the current ETag: no body.', headers: ETAG_HEADER, type: 'null' },
} as const;

/** Writes that honour If-Match. */
export const preconditionResponses = {
  412: { ...error('If-Match named a tag the resource no longer has (precondition_failed); nothing was changed.'), headers: ETAG_HEADER },
} as const;

/** POSTs that take Idempotency-Key. */
export const idempotencyResponses = {
  409: error('A request with this Idempotency-Key is still running (idempotency_key_in_use); see Retry-After.'),
  422: error('This Idempotency-Key was used with another request (idempotency_key_reused).'),
} as const;

/** Request headers, documented as parameters. */
export const ConditionalReadHeaders = Type.Object({
  'if-none-match': Type.Optional(Type.String({ description: 'An ETag from an earlier answer (or *): 304 when it is still current.' })),
});
export const ConditionalWriteHeaders = Type.Object({
  'if-match': Type.Optional(Type.String({ description: 'The ETag the change is based on (or *): 412 when the resource has changed since.' })),
});
export const IdempotentWriteHeaders = Type.Object({
  'if-match': Type.Optional(Type.String({ description: 'The ETag of the list the change is based on (or *): 412 when it has changed since.' })),
  'idempotency-key': Type.Optional(Type.String({ description: 'IETF draft Idempotency-Key: a retry with the same key and body within 24 hours gets the first answer again.' })),
});
export const IdempotencyKeyHeader = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ description: 'IETF draft Idempotency-Key: a retry with the same key and body within 24 hours gets the first answer again.' })),
});
