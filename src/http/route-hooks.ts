// Hooks for the routes that need them only. A global hook runs on every request, whether or not its
// route asks for it (an early return still costs a call and, for an async hook, a promise); a hook
// added here becomes part of each matching route's own hooks as the route is registered, so other
// routes never run it. Register before the routes; it runs before the route's own hooks of that kind.
import type { FastifyInstance, RouteOptions } from 'fastify';

type HookName = 'onRequest' | 'preValidation' | 'preHandler' | 'onSend';

export function addRouteHook<K extends HookName>(app: FastifyInstance, name: K, applies: (route: RouteOptions) => boolean, hook: NonNullable<RouteOptions[K]>): void {
  app.addHook('onRoute', (route) => {
    if (!applies(route)) return;
    const own = route[name] as unknown;
    const list = own === undefined ? [] : Array.isArray(own) ? own : [own];
    (route as Record<HookName, unknown>)[name] = [hook, ...list];
  });
}
