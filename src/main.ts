// The server process: read config, open and migrate the database, build the app, listen, and on
// SIGTERM/SIGINT let in-flight requests finish, then close the database and exit.
import { buildApp } from './app.ts';
import type { Config } from './config.ts';
import { openStore } from './db/connect.ts';
import { migrateToLatest } from './db/migrate.ts';

export async function serve(config: Config): Promise<void> {
  const store = openStore(config.database);
  await migrateToLatest(store);
  const app = await buildApp({ config, store });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    try {
      await app.close(); // stops accepting, waits for in-flight requests, closes idle connections
      await store.close();
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
  app.log.info({ publicUrl: config.publicUrl, database: config.database.dialect }, 'accounts service ready');
}
