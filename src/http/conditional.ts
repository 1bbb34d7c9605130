// Conditional requests on the API (RFC 9110 §13): GETs answer a strong ETag (the hash of the
// representation, src/kernel/entity-tags.ts) and 304 to a matching If-None-Match; writes take
// If-Match, which their services check in the write's own transaction.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { entityTag, notModified } from '../kernel/entity-tags.ts';

/** The representation with its ETag, or an empty 304 when the client has it already. */
export function sendTagged<T>(request: FastifyRequest, reply: FastifyReply, representation: T): T | FastifyReply {
  const tag = entityTag(representation);
  reply.header('etag', tag);
  if (request.method === 'GET' && notModified(request.headers['if-none-match'], tag)) return reply.code(304).send();
  return representation;
}

/** The If-Match field, for a service to check. */
export function ifMatchOf(request: FastifyRequest): { ifMatch?: string } {
  const field = request.headers['if-match'];
  return field === undefined ? {} : { ifMatch: field };
}
