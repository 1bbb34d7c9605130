import type { FastifyInstance } from 'fastify';
import type { Deps } from '../kernel/deps.ts';
import { accountOf } from '../http/access.ts';
import { BODY_CONTENT_TYPES, UsernameParams, accountErrorResponses, bodyErrorResponses, securityFor } from '../http/schemas.ts';
import { PatchUserBody } from './users.schema.ts';
import { getUser, updateProfile } from './users.service.ts';

const userRef = { description: 'The user.', $ref: 'User#' };

export function registerUserRoutes(app: FastifyInstance, deps: Deps): void {
  app.get(
    '/api/v1.1/users/:username/',
    {
      config: { scope: 'profile_read' },
      schema: {
        summary: 'Get a single user',
        tags: ['users'],
        security: securityFor('profile_read'),
        params: UsernameParams,
        response: { 200: userRef, ...accountErrorResponses },
      },
    },
    (request) => getUser(deps, accountOf(request).id),
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
        body: PatchUserBody,
        response: { 200: userRef, ...accountErrorResponses, ...bodyErrorResponses },
      },
    },
    (request) => updateProfile(deps, accountOf(request).id, request.body as Record<string, unknown>),
  );
}
