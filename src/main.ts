// The server process: read config, open and migrate the database, build the app, listen, and on
// SIGTERM/SIGINT let in-flight requests finish, then close the database and exit.
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { buildApp } from './app.ts';
import type { Config } from './kernel/config.ts';
import { openStore } from './kernel/db/connect.ts';
import { migrateToLatest } from './kernel/db/migrate.ts';
import type { Lifecycle } from './ops/health.routes.ts';
import { createMetrics } from './ops/metrics.ts';
import { startMetricsServer, type MetricsServer } from './ops/metrics-server.ts';
import { collectStartupGarbage } from './ops/node-flags.ts';

export async function serve(config: Config): Promise<void> {
  const store = openStore(config.database);
  const lifecycle: Lifecycle = { draining: false };
  const logger: { current?: FastifyBaseLogger } = {}; // the app's, once it exists
  let redis: Redis | undefined;
  let app: FastifyInstance | undefined;
  let metricsServer: MetricsServer | undefined;
  let redisErrorLogged = false;

  try {
    await migrateToLatest(store);
    // Unreachable at start is a configuration error: stop. Lost later, ioredis reconnects and
    // the in-memory fallback answers meanwhile.
    if (config.redisUrl) {
      // ioredis is loaded only when there is a Redis to talk to.
      const { connectRedis } = await import('./ops/redis.ts');
      redis = await connectRedis(config.redisUrl, (error) => {
        if (!redisErrorLogged) logger.current?.warn({ err: error.message }, 'redis unavailable: using per-instance state until it is back');
        redisErrorLogged = true; // ioredis retries on its own; say it once, not on every retry
      }).catch((error: Error) => {
        throw new Error(`cannot connect to Redis (REDIS_URL): ${error.message}`, { cause: error });
      });
      redis.on('ready', () => {
        redisErrorLogged = false;
      });
    }
    const metrics = createMetrics(store);
    app = await buildApp({ config, store, lifecycle, redis, metrics });
    logger.current = app.log;
    await app.ready();
    collectStartupGarbage();
    // The address it listens on is not always the one to open: pages are served at PUBLIC_URL's
    // host (src/web/host.ts), and a browser that opens another name is sent there.
    await app.listen({ host: config.host, port: config.port, listenTextResolver: (address) => `Server listening at ${address}; open ${config.publicUrl} (PUBLIC_URL)` });
    if (config.metricsPort !== undefined) {
      metricsServer = await startMetricsServer(metrics, config.metricsHost, config.metricsPort).catch((error: Error) => {
        throw new Error(`cannot serve metrics on METRICS_HOST:METRICS_PORT (${config.metricsHost}:${config.metricsPort}): ${error.message}`, { cause: error });
      });
      app.log.info({ host: config.metricsHost, port: metricsServer.port }, 'metrics served on their own port');
    }
  } catch (error) {
    // Release what was opened, or an idle database pool would keep the process alive.
    await app?.close().catch(() => undefined);
    await metricsServer?.close();
    redis?.disconnect();
    await store.close().catch(() => undefined);
    throw error;
  }

  const running = app;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    // Readiness turns 503 first, so a load balancer stops sending before we stop accepting.
    lifecycle.draining = true;
    running.log.info({ signal, delayMs: config.shutdownDelayMs }, 'shutting down: finishing in-flight requests');
    try {
      if (config.shutdownDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, config.shutdownDelayMs));
      await running.close(); // stops accepting, waits for in-flight requests, closes idle connections
      await metricsServer?.close();
      await store.close(); // after the last request: nothing is cut off mid-transaction
      await redis?.quit();
      running.log.info('stopped');
      process.exit(0);
    } catch (error) {
      running.log.error({ err: error }, 'error while shutting down');
      process.exit(1);
    }
  };
  // Repeated signals are ignored while draining (stop() runs once): with WORKERS, a Ctrl-C
  // reaches a worker both from the terminal and from the primary.
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  if (!config.smtpUrl) running.log.warn('SMTP_URL is not set: mail is not sent but written to the log, with its links (secrets: set SMTP_URL in production)');
  running.log.info(
    { publicUrl: config.publicUrl, database: config.database.dialect, sharedState: redis ? 'redis' : 'memory', mail: config.smtpUrl ? 'smtp' : 'log' },
    'accounts service ready',
  );
}
