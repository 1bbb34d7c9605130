// Liveness, readiness and metrics: for load balancers, orchestrators and Prometheus. Hidden from
// the OpenAPI document, which describes the Accounts API only.
import type { FastifyInstance } from 'fastify';
import type { Store } from '../kernel/db/store.ts';
import type { Metrics } from './metrics.ts';

/** Shared with main.ts: set when SIGTERM arrives, so /readyz turns 503 before the server closes. */
export type Lifecycle = { draining: boolean };

const READY_TIMEOUT_MS = 2_000;

/** `metrics` undefined: they are served on a port of their own (metrics-server.ts), not here. */
export function registerHealthRoutes(app: FastifyInstance, store: Store, lifecycle: Lifecycle, metrics: Metrics | undefined): void {
  // Alive: the process answers. Says nothing about the database on purpose (a database outage
  // must not make an orchestrator restart every instance).
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  // Ready: the database answers, and we are not shutting down.
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    if (lifecycle.draining) return reply.code(503).header('retry-after', '5').send({ status: 'draining' });
    try {
      await Promise.race([store.ping(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), READY_TIMEOUT_MS).unref())]);
      return { status: 'ready' };
    } catch {
      return reply.code(503).header('retry-after', '1').send({ status: 'database_unavailable' });
    }
  });

  if (!metrics) return;
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
