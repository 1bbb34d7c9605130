// GET /api/v1.1/users/:username/events/ — the person's own security log: sign-ins and failures,
// password and address changes, tokens, applications, second factors, registry logins; newest
// first, a page at a time (cursor in the Link header, RFC 8288), filtered by event type. Needs
// the security_read scope (a password carries it).
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Deps } from '../kernel/deps.ts';
import { ApiError } from '../kernel/errors.ts';
import { accountOf } from '../http/access.ts';
import { UsernameParams, accountErrorResponses, securityFor, successHeaders } from '../http/schemas.ts';
import { AUDIT_EVENTS } from './audit-events.ts';
import { listSecurityLog, SECURITY_LOG_PAGE } from './audit.service.ts';

const EventSchema = Type.Object(
  {
    id: Type.Integer(),
    occurred_at: Type.String({ description: 'RFC 3339, UTC, six fractional digits.' }),
    event: Type.String({ description: 'What happened (docs/reference/audit-trail.md).' }),
    actor: Type.String({ description: 'self (the account), admin (an operator, through the CLI) or system.' }),
    client_ip: Type.Union([Type.String(), Type.Null()]),
    outcome: Type.String({ description: 'success, failure or denied.' }),
    detail: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
  },
  { additionalProperties: false },
);

const EventsQuery = Type.Object({
  cursor: Type.Optional(Type.String({ maxLength: 64, description: 'From the `next` link of the previous page; opaque.' })),
  per_page: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$', description: `Events per page, 1 to ${SECURITY_LOG_PAGE.max} (default ${SECURITY_LOG_PAGE.default}).` })),
  type: Type.Optional(Type.String({ maxLength: 2000, description: 'Only these events, separated by commas, e.g. signed_in,login_failed.' })),
});

export function registerSecurityLogRoutes(fastify: FastifyInstance, deps: Deps): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/api/v1.1/users/:username/events/',
    {
      config: { scope: 'security_read' },
      schema: {
        summary: "The user's security log",
        description:
          'Newest first. The next page (older events) is in the `Link` header (rel="next"); none on the last page. ' +
          'Sign-ins and failures, password and address changes, tokens created and revoked, applications allowed and revoked, second factors, registry logins.',
        tags: ['users'],
        security: securityFor('security_read'),
        params: UsernameParams,
        querystring: EventsQuery,
        response: {
          200: {
            description: 'A page of events.',
            headers: { ...successHeaders(), Link: { description: 'RFC 8288: <…?cursor=…>; rel="next", when there are older events.', schema: { type: 'string' } } },
            ...Type.Array(EventSchema),
          },
          ...accountErrorResponses,
        },
      },
    },
    async (request, reply) => {
      const { cursor, type } = request.query;
      const perPage = request.query.per_page === undefined ? undefined : Number(request.query.per_page);
      if (perPage !== undefined && (perPage < 1 || perPage > SECURITY_LOG_PAGE.max)) {
        throw new ApiError('invalid', { fieldErrors: { per_page: [`Must be from 1 to ${SECURITY_LOG_PAGE.max}.`] } });
      }
      const events = type === undefined ? undefined : type.split(',').map((name) => name.trim()).filter((name) => name !== '');
      const unknown = (events ?? []).filter((name) => !(AUDIT_EVENTS as readonly string[]).includes(name));
      if (unknown.length > 0) throw new ApiError('invalid', { detail: `Unknown event type ${unknown.map((u) => `"${u.slice(0, 40)}"`).join(', ')}.`, fieldErrors: { type: ['Unknown event type.'] } });
      const account = accountOf(request);
      const page = await listSecurityLog(deps, account, { cursor, limit: perPage, events });
      if (page.next !== undefined) {
        const query = new URLSearchParams({ cursor: page.next, ...(perPage !== undefined ? { per_page: String(perPage) } : {}), ...(type !== undefined ? { type: events!.join(',') } : {}) });
        reply.header('link', `<${deps.config.publicUrl}/api/v1.1/users/${account.username}/events/?${query.toString()}>; rel="next"`);
      }
      return page.events;
    },
  );
}
