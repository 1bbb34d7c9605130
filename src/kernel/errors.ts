// The public error model: every error response is {"detail", "code", "errors"?}. An ApiError is
// the only error a service throws on purpose; anything else becomes a 500 that leaks nothing.

export type FieldErrors = Record<string, string[]>;

/**
 * The catalogue of error codes: stable, snake_case, each with its status and default detail.
 * docs/reference/error-codes.md lists the same table; a test keeps the two in step.
 */
export const ERROR_CATALOGUE = {
  invalid: { status: 400, detail: 'Invalid input.' },
  malformed_body: { status: 400, detail: 'The request body could not be parsed.' },
  primary_email: { status: 400, detail: 'The primary email address cannot be deleted.' },
  not_authenticated: { status: 401, detail: 'Authentication credentials were missing or incorrect.' },
  permission_denied: { status: 403, detail: 'You do not have permission to perform this action.' },
  insufficient_scope: { status: 403, detail: 'The access token does not have the scope this action needs.' },
  not_found: { status: 404, detail: 'Not found.' },
  email_not_found: { status: 404, detail: 'This user has no such email address.' },
  method_not_allowed: { status: 405, detail: 'Method not allowed.' },
  idempotency_key_in_use: { status: 409, detail: 'A request with this Idempotency-Key is still being processed; retry once it has finished.' },
  precondition_failed: { status: 412, detail: 'The resource has changed since you read it (If-Match): read it again, then retry.' },
  request_too_large: { status: 413, detail: 'The request body is too large.' },
  unsupported_media_type: { status: 415, detail: 'Unsupported Content-Type; use application/json, application/x-www-form-urlencoded or multipart/form-data.' },
  idempotency_key_reused: { status: 422, detail: 'This Idempotency-Key was used with another request: use a new key for a new request.' },
  too_many_requests: { status: 429, detail: 'Too many failed attempts; wait as long as Retry-After says, then try again.' },
  internal_error: { status: 500, detail: 'Internal server error.' },
  service_unavailable: { status: 503, detail: 'The service is too busy to check passwords right now; retry after the time in Retry-After.' },
} as const satisfies Record<string, { status: number; detail: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export class ApiError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly detail: string;
  readonly fieldErrors: FieldErrors | undefined;
  readonly headers: Record<string, string | string[]>;
  /** Why, for logs and metrics only; never sent (e.g. which of the 401's causes it was). */
  readonly internal: string | undefined;

  constructor(
    code: ErrorCode,
    options: { detail?: string; fieldErrors?: FieldErrors; headers?: Record<string, string | string[]>; internal?: string } = {},
  ) {
    const entry = ERROR_CATALOGUE[code];
    const detail = options.detail ?? entry.detail;
    super(detail);
    this.name = 'ApiError';
    this.status = entry.status;
    this.code = code;
    this.detail = detail;
    this.fieldErrors = options.fieldErrors;
    this.headers = options.headers ?? {};
    this.internal = options.internal;
  }

  toBody(): ErrorBody {
    return this.fieldErrors ? { detail: this.detail, code: this.code, errors: this.fieldErrors } : { detail: this.detail, code: this.code };
  }
}

export type ErrorBody = { detail: string; code: string; errors?: FieldErrors };

/** A 400 with per-field messages. */
export function invalidInput(fieldErrors: FieldErrors): ApiError {
  return new ApiError('invalid', { fieldErrors });
}

/** Collects field errors while a service validates input, then throws them all at once. */
export class FieldErrorCollector {
  readonly errors: FieldErrors = Object.create(null) as FieldErrors;
  add(field: string, message: string): void {
    (this.errors[field] ??= []).push(message);
  }
  get empty(): boolean {
    return Object.keys(this.errors).length === 0;
  }
  throwIfAny(): void {
    if (!this.empty) throw invalidInput({ ...this.errors });
  }
}
