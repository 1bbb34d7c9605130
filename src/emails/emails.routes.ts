import type { FastifyInstance } from 'fastify';
import type { Deps } from '../deps.ts';
import { selfContext } from '../audit/audit-events.ts';
import { accountOf } from '../http/access.ts';
import { BODY_CONTENT_TYPES, UsernameParams, accountErrorResponses, bodyErrorResponses, securityFor } from '../http/schemas.ts';
import { EmailBody } from './emails.schema.ts';
import { addEmail, deleteEmail, listUserEmails } from './emails.service.ts';

const emailRef = { $ref: 'Email#' };
const path = '/api/v1.1/users/:username/emails/';

export function registerEmailRoutes(app: FastifyInstance, deps: Deps): void {
  app.get(
    path,
    {
      config: { scope: 'email_read' },
      schema: {
        summary: 'List email addresses for a user',
        description: 'Primary first, then in the order they were added.',
        tags: ['emails'],
        security: securityFor('email_read'),
        params: UsernameParams,
        response: { 200: { description: 'The addresses.', type: 'array', items: emailRef }, ...accountErrorResponses },
      },
    },
    (request) => listUserEmails(deps, accountOf(request).id),
  );

  app.post(
    path,
    {
      config: { scope: 'email_write' },
      schema: {
        summary: 'Add email address for a user',
        description: 'The new address is unverified and not primary; no mail is sent. At most 20 addresses per user; an address any account has is a 400.',
        tags: ['emails'],
        security: securityFor('email_write'),
        consumes: BODY_CONTENT_TYPES,
        params: UsernameParams,
        body: EmailBody,
        response: { 201: { description: 'The new address.', ...emailRef }, ...accountErrorResponses, ...bodyErrorResponses },
      },
    },
    async (request, reply) => reply.code(201).send(await addEmail(deps, accountOf(request).id, (request.body as { email: string }).email, selfContext(request))),
  );

  app.delete(
    path,
    {
      config: { scope: 'email_write' },
      schema: {
        summary: 'Delete email address for a user',
        description: 'The primary address cannot be deleted (400). An address the user does not have is a 404 (code email_not_found).',
        tags: ['emails'],
        security: securityFor('email_write'),
        consumes: BODY_CONTENT_TYPES,
        params: UsernameParams,
        body: EmailBody,
        response: {
          204: { description: 'Deleted; empty body.', type: 'null' },
          ...accountErrorResponses,
          ...bodyErrorResponses,
        },
      },
    },
    async (request, reply) => {
      await deleteEmail(deps, accountOf(request).id, (request.body as { email: string }).email, selfContext(request));
      // The seed page and the spec show `Content-Length: 0` on this 204; Fastify would omit it.
      return reply.code(204).header('content-length', '0').send();
    },
  );
}
