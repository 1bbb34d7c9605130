// Turns every error into the public error body. An error that is not an ApiError and not one of
// Fastify's known client errors is a 500 whose detail says nothing about its cause; the cause
// goes to the log only.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, type FieldErrors } from '../kernel/errors.ts';

type AjvError = { instancePath: string; keyword: string; params: Record<string, unknown>; message?: string };

function fieldOf(error: AjvError): string {
  if (error.keyword === 'additionalProperties') return String(error.params.additionalProperty);
  if (error.keyword === 'required') return String(error.params.missingProperty);
  return error.instancePath.split('/').filter(Boolean)[0] ?? '';
}

function messageOf(error: AjvError): string {
  switch (error.keyword) {
    case 'additionalProperties':
      return 'Unknown field.';
    case 'required':
      return 'This field is required.';
    case 'type':
      return `Must be ${error.params.type === 'string' ? 'a string' : `of type ${String(error.params.type)}`}.`;
    case 'maxLength':
      return `Ensure this field has no more than ${String(error.params.limit)} characters.`;
    default:
      return 'Invalid value.';
  }
}

/** Schema validation errors → a 400 with `errors` per field. */
export function validationError(errors: AjvError[]): ApiError {
  if (errors.some((e) => e.instancePath === '' && e.keyword === 'type')) {
    return new ApiError('invalid', { detail: 'The request body must be a JSON object or a form.' });
  }
  // Field names come from the request (an unknown key may be "__proto__"): no prototype here.
  const fields = Object.create(null) as FieldErrors;
  for (const e of errors) {
    const field = fieldOf(e);
    const message = messageOf(e);
    const list = (fields[field] ??= []);
    if (!list.includes(message)) list.push(message);
  }
  return new ApiError('invalid', { fieldErrors: fields });
}

const FASTIFY_CLIENT_ERRORS: Record<string, ApiError['code']> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'request_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'malformed_body',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed_body',
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed_body',
};

export function toApiError(error: FastifyError): ApiError | undefined {
  if (error instanceof ApiError) return error;
  if (Array.isArray(error.validation)) return validationError(error.validation as AjvError[]);
  const code = FASTIFY_CLIENT_ERRORS[error.code];
  if (code) return new ApiError(code);
  // Errors raised while reading the request (aborted, bad framing) are the client's.
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    if (error.statusCode === 413) return new ApiError('request_too_large');
    if (error.statusCode === 415) return new ApiError('unsupported_media_type');
    return new ApiError('malformed_body');
  }
  return undefined;
}

export function sendApiError(reply: FastifyReply, error: ApiError): FastifyReply {
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  return reply.code(error.status).type('application/json; charset=utf-8').send(error.toBody());
}

/**
 * Fastify's `frameworkErrors`: what it finds wrong before routing (a path whose percent-encoding
 * is not UTF-8, a path parameter over maxParamLength) answered in the API's error shape. Fastify's
 * own answer has another shape and echoes the path.
 */
export function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  // No route, so no onSend hook: the header every other answer carries is set here.
  reply.header('x-content-type-options', 'nosniff');
  if (error.code === 'FST_ERR_BAD_URL') return sendApiError(reply, new ApiError('invalid', { detail: 'The request URL is not valid.' }));
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') return sendApiError(reply, new ApiError('not_found', { detail: 'No such resource.' }));
  request.log.error({ err: error }, 'unexpected error');
  return sendApiError(reply, new ApiError('internal_error'));
}

/** A 503 because password hashing is at capacity: expected under load, logged by the limiter's reporter instead. */
export function isSaturation(error: ApiError): boolean {
  return error.code === 'service_unavailable' && error.internal === 'hashing_saturated';
}

export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const apiError = toApiError(error);
    if (apiError) {
      if (apiError.status >= 500 && !isSaturation(apiError)) request.log.error({ err: error }, 'request failed');
      return sendApiError(reply, apiError);
    }
    request.log.error({ err: error }, 'unexpected error');
    return sendApiError(reply, new ApiError('internal_error'));
  });
}
