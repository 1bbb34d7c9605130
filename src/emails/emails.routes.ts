import type { FastifyInstance } from 'fastify';
import { rateLimitHeaders } from '../kernel/rate-limit-fields.ts';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { selfContext } from '../audit/audit-events.ts';
import { accountOf } from '../http/access.ts';
import { ifMatchOf, sendTagged } from '../http/conditional.ts';
import { Type } from '@sinclair/typebox';
import {
  BODY_CONTENT_TYPES,
  ConditionalReadHeaders,
  ConditionalWriteHeaders,
  ErrorSchema,
  IdempotencyKeyHeader,
  IdempotentWriteHeaders,
  UsernameParams,
  accountErrorResponses,
  bodyErrorResponses,
  idempotencyResponses,
  notModifiedResponses,
  preconditionResponses,
  securityFor,
  successHeaders,
} from '../http/schemas.ts';
import { AcceptedSchema, EmailBody, EmailSchema } from './emails.schema.ts';
import { addEmail, deleteEmail, listUserEmails } from './emails.service.ts';
import { makeEmailPrimary, requestVerification, type VerificationDeps } from './verification.service.ts';

const emailRef = Type.Ref(EmailSchema);
const path = '/api/v1.1/users/:username/emails/';

export function registerEmailRoutes(fastify: FastifyInstance, deps: VerificationDeps): void {
  // Request bodies and replies are typed from the schemas below.
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
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
        headers: ConditionalReadHeaders,
        response: { 200: { description: 'The addresses.', headers: successHeaders({ etag: true }), ...Type.Array(emailRef) }, ...notModifiedResponses, ...accountErrorResponses },
      },
    },
    async (request, reply) => sendTagged(request, reply, await listUserEmails(deps, accountOf(request))),
  );

  app.post(
    path,
    {
      config: { scope: 'email_write', idempotent: true },
      schema: {
        summary: 'Add email address for a user',
        description: 'The new address is unverified and not primary; no mail is sent. At most 20 addresses per user; an address any account has is a 400.',
        tags: ['emails'],
        security: securityFor('email_write'),
        consumes: BODY_CONTENT_TYPES,
        params: UsernameParams,
        headers: IdempotentWriteHeaders,
        body: EmailBody,
        response: {
          201: { description: 'The new address.', headers: successHeaders({ idempotent: true }), ...emailRef },
          ...accountErrorResponses,
          ...bodyErrorResponses,
          ...idempotencyResponses,
          ...preconditionResponses,
        },
      },
    },
    async (request, reply) => reply.code(201).send(await addEmail(deps, accountOf(request), request.body.email, selfContext(request), ifMatchOf(request))),
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
        headers: ConditionalWriteHeaders,
        body: EmailBody,
        response: {
          204: { description: 'Deleted; empty body.', headers: successHeaders(), type: 'null' },
          ...accountErrorResponses,
          ...bodyErrorResponses,
          ...preconditionResponses,
        },
      },
    },
    async (request, reply) => {
      await deleteEmail(deps, accountOf(request), request.body.email, selfContext(request), ifMatchOf(request));
      // The seed page and the spec show `Content-Length: 0` on this 204; Fastify would omit it.
      return reply.code(204).header('content-length', '0').send();
    },
  );

  app.post(
    `${path}verification/`,
    {
      config: { scope: 'email_write', idempotent: true },
      schema: {
        summary: 'Send a verification link to an email address of a user',
        description:
          'Mails the address a link to a confirmation page (PUBLIC_URL/account/verify-email?token=…); confirming that page verifies the address. ' +
          'The link works once and expires after 24 hours. The mail is sent after the answer, in the background. ' +
          'An address the user does not have, or one already verified, is a 400 naming `email`. At most 5 mails per address per hour (429 with Retry-After).',
        tags: ['emails'],
        security: securityFor('email_write'),
        consumes: BODY_CONTENT_TYPES,
        params: UsernameParams,
        headers: IdempotencyKeyHeader,
        body: EmailBody,
        response: {
          202: { description: 'The mail is on its way.', headers: successHeaders({ idempotent: true }), ...Type.Ref(AcceptedSchema) },
          ...accountErrorResponses,
          ...bodyErrorResponses,
          ...idempotencyResponses,
          429: { description: 'Too many failed authentications, or already 5 verification mails to this address in the last hour; see Retry-After.', ...Type.Ref(ErrorSchema) },
        },
      },
    },
    async (request, reply) => {
      const { email } = await requestVerification(deps, accountOf(request), request.body.email, (state) => reply.headers(rateLimitHeaders(state)));
      return reply.code(202).send({ detail: `A verification link is on its way to ${email}.` });
    },
  );

  app.post(
    `${path}primary/`,
    {
      config: { scope: 'email_write', idempotent: true },
      schema: {
        summary: 'Make a verified email address the primary address of a user',
        description:
          'Only a verified address can become primary (400 otherwise); an address the user does not have is a 404 (code email_not_found). ' +
          'The old primary stays, as a secondary address. Making the primary address primary again changes nothing.',
        tags: ['emails'],
        security: securityFor('email_write'),
        consumes: BODY_CONTENT_TYPES,
        params: UsernameParams,
        headers: IdempotencyKeyHeader,
        body: EmailBody,
        response: {
          200: { description: 'The addresses, primary first.', headers: successHeaders({ etag: true, idempotent: true }), ...Type.Array(emailRef) },
          ...accountErrorResponses,
          ...bodyErrorResponses,
          ...idempotencyResponses,
        },
      },
    },
    async (request, reply) => sendTagged(request, reply, await makeEmailPrimary(deps, accountOf(request), request.body.email, selfContext(request))),
  );
}
