// A posted form as the pages read it: its string fields only, in an object without a prototype
// (a field may be called "__proto__"). Whatever else the body parser made of it is dropped.
import type { FastifyRequest } from 'fastify';

export type Form = Record<string, string>;

export function formOf(request: FastifyRequest): Form {
  const form = Object.create(null) as Form;
  const body: unknown = request.body;
  if (body && typeof body === 'object') for (const [key, value] of Object.entries(body)) if (typeof value === 'string') form[key] = value;
  return form;
}

/** A string member of a parsed query or path parameters, or undefined (absent, repeated, not text). */
function stringMember(object: unknown, name: string): string | undefined {
  if (!object || typeof object !== 'object') return undefined;
  const value: unknown = Object.getOwnPropertyDescriptor(object, name)?.value;
  return typeof value === 'string' ? value : undefined;
}

/** A query parameter as text, or undefined when it is absent or repeated. */
export function queryParam(request: FastifyRequest, name: string): string | undefined {
  return stringMember(request.query, name);
}

/** A path parameter (`:name` in the route). */
export function pathParam(request: FastifyRequest, name: string): string | undefined {
  return stringMember(request.params, name);
}
