import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Deps } from '../kernel/deps.ts';
import { accountOf } from '../http/access.ts';
import { ifMatchOf, sendTagged } from '../http/conditional.ts';
import {
  BODY_CONTENT_TYPES,
  ConditionalReadHeaders,
  ConditionalWriteHeaders,
  UsernameParams,
  accountErrorResponses,
  bodyErrorResponses,
  notModifiedResponses,
  preconditionResponses,
  securityFor,
  successHeaders,
} from '../http/schemas.ts';
import { Type } from '@sinclair/typebox';
import { PatchUserBody, UserSchema } from './users.schema.ts';
import { getUser, updateProfile } from './users.service.ts';

const userRef = { description: 'The user.', ...Type.Ref(UserSchema) };

export function registerUserRoutes(fastify: FastifyInstance, deps: Deps): void {
  // Request bodies and replies are typed from the schemas below.
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/api/v1.1/users/:username/',
    {
      config: { scope: 'profile_read' },
      schema: {
        summary: 'Get a single user',
        tags: ['users'],
        security: securityFor('profile_read'),
        params: UsernameParams,
        headers: ConditionalReadHeaders,
        response: { 200: { ...userRef, headers: successHeaders({ etag: true }) }, ...notModifiedResponses, ...accountErrorResponses },
      },
    },
    async (request, reply) => sendTagged(request, reply, await getUser(deps, accountOf(request).id)),
  );

  app.patch(
    '/api/v1.1/users/:username/',
    {
      config: { scope: 'profile_write' },
      schema: {
        summary: 'Update a single user',
        description: 'Only the fields sent are changed.',
        tags: ['users'],
        security: securityFor('profile_write'),
        consumes: BODY_CONTENT_TYPES,
        params: UsernameParams,
        headers: ConditionalWriteHeaders,
        body: PatchUserBody,
        response: { 200: { ...userRef, headers: successHeaders({ etag: true }) }, ...accountErrorResponses, ...bodyErrorResponses, ...preconditionResponses },
      },
    },
    async (request, reply) => sendTagged(request, reply, await updateProfile(deps, accountOf(request).id, request.body, ifMatchOf(request))),
  );
}
