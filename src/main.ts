// The server process: read config, open and migrate the database, build the app, listen, and on
// SIGTERM/SIGINT let in-flight requests finish, then close the database and exit.
import type { FastifyBaseLogger } from 'fastify';
import { buildApp } from './app.ts';
import type { Lifecycle } from './ops/health.routes.ts';
import { connectRedis } from './ops/redis.ts';
import type { Config } from './config.ts';
import { openStore } from './db/connect.ts';
import { migrateToLatest } from './db/migrate.ts';

export async function serve(config: Config): Promise<void> {
  const store = openStore(config.database);
  await migrateToLatest(store);
  const lifecycle: Lifecycle = { draining: false };
  let redisErrorLogged = false;
  const logger: { current?: FastifyBaseLogger } = {}; // the app's, once it exists
  // Unreachable at start is a configuration error: stop. Lost later, ioredis reconnects and the
  // in-memory fallback answers meanwhile.
  const redis = config.redisUrl
    ? await connectRedis(config.redisUrl, (error) => {
        if (!redisErrorLogged) logger.current?.warn({ err: error.message }, 'redis unavailable: using per-instance state until it is back');
        redisErrorLogged = true; // ioredis retries on its own; say it once, not on every retry
      }).catch((error: Error) => {
        throw new Error(`cannot connect to Redis (REDIS_URL): ${error.message}`, { cause: error });
      })
    : undefined;
  const app = await buildApp({ config, store, lifecycle, redis });
  logger.current = app.log;
  redis?.on('ready', () => {
    redisErrorLogged = false;
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    // Readiness turns 503 first, so a load balancer stops sending before we stop accepting.
    lifecycle.draining = true;
    app.log.info({ signal, delayMs: config.shutdownDelayMs }, 'shutting down: finishing in-flight requests');
    try {
      if (config.shutdownDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, config.shutdownDelayMs));
      await app.close(); // stops accepting, waits for in-flight requests, closes idle connections
      await store.close(); // after the last request: nothing is cut off mid-transaction
      await redis?.quit();
      app.log.info('stopped');
      process.exit(0);
    } catch (error) {
      app.log.error({ err: error }, 'error while shutting down');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));

  await app.listen({ host: config.host, port: config.port });
  app.log.info({ publicUrl: config.publicUrl, database: config.database.dialect, sharedState: redis ? 'redis' : 'memory' }, 'accounts service ready');
}
