// RFC 9110 §15.5.6: a known path with an unsupported method is a 405 listing the allowed ones,
// not a 404. The allowed methods are collected from the routes themselves as they register.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../kernel/errors.ts';
import { sendApiError } from './error-handler.ts';

type Resource = { pattern: RegExp; methods: Set<string> };

function patternOf(url: string): RegExp {
  const body = url
    .replace(/\/+$/, '')
    .split('/')
    .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${body}/?$`); // the trailing slash is optional, as for the routes
}

const registries = new WeakMap<FastifyInstance, Map<string, Resource>>();

/** Every route path (as registered, `:param` style) and its methods: the 405 answers and the OpenAPI test read it. */
export function routeTable(app: FastifyInstance): Map<string, string[]> {
  const resources = registries.get(app) ?? new Map<string, Resource>();
  return new Map([...resources].map(([path, r]) => [path, [...r.methods].sort()]));
}

/** `unknownPath` may answer a path that is not there (the web layer's 404 page); the API's 404 otherwise. */
export function registerMethodNotAllowed(app: FastifyInstance, unknownPath?: (request: FastifyRequest, reply: FastifyReply) => FastifyReply | undefined): void {
  const resources = new Map<string, Resource>();
  registries.set(app, resources);
  app.addHook('onRoute', (route) => {
    const key = route.url.replace(/\/+$/, '');
    const resource = resources.get(key) ?? { pattern: patternOf(route.url), methods: new Set<string>() };
    for (const method of [route.method].flat()) {
      resource.methods.add(method);
      if (method === 'GET') resource.methods.add('HEAD');
    }
    resources.set(key, resource);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    for (const resource of resources.values()) {
      if (resource.pattern.test(path)) {
        const allow = [...resource.methods].sort().join(', ');
        return sendApiError(reply, new ApiError('method_not_allowed', { headers: { allow } }));
      }
    }
    return unknownPath?.(request, reply) ?? sendApiError(reply, new ApiError('not_found', { detail: 'No such resource.' }));
  });
}
