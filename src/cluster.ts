// WORKERS=N: N server processes on one port (node:cluster; the primary hands out connections).
// The primary migrates the database once, forks the workers, replaces one that dies, and on
// SIGTERM/SIGINT passes the signal on and exits when every worker has drained and stopped.
import cluster from 'node:cluster';
import { pino } from 'pino';
import type { Config } from './kernel/config.ts';
import { openStore } from './kernel/db/connect.ts';
import { migrateToLatest } from './kernel/db/migrate.ts';
import { systemClock } from './kernel/clock.ts';
import { loadProviderSecrets } from './oauth/keys.ts';
import { withServerFlags } from './ops/node-flags.ts';

const RESTART_WINDOW_MS = 60_000;
const MAX_RESTARTS_IN_WINDOW = 5;

export async function run(config: Config): Promise<void> {
  // The server's modules load only where they serve: the primary stays small.
  if (config.workers <= 1 || !cluster.isPrimary) return (await import('./main.ts')).serve(config);

  const log = pino({ level: config.logLevel, name: 'primary' });
  const store = openStore(config.database);
  try {
    await migrateToLatest(store); // once, here, rather than racing in every worker
    // Likewise the OAuth keys on a first start: one RSA key made here, rather than one per worker
    // at once (all but one thrown away) while they compete for the CPU loading the server.
    await loadProviderSecrets({ store, clock: systemClock }, log);
  } finally {
    await store.close();
  }

  let stopping = false;
  const restarts: number[] = [];
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        log.info('all workers stopped');
        process.exit(process.exitCode ?? 0); // 1 when we gave up on workers that kept dying
      }
      return;
    }
    const now = Date.now();
    restarts.push(now);
    while (restarts.length > 0 && restarts[0]! < now - RESTART_WINDOW_MS) restarts.shift();
    if (restarts.length > MAX_RESTARTS_IN_WINDOW) {
      log.fatal({ code, signal }, 'workers keep dying; giving up');
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
      process.exitCode = 1;
      return;
    }
    log.error({ pid: worker.process.pid, code, signal }, 'worker died; starting another');
    cluster.fork();
  });

  // Workers are always asked with SIGTERM (and ignore repeats), so a Ctrl-C that reaches the
  // whole process group as well as this forward does not cut a drain short.
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping workers');
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  // The workers run with the server's V8 flags whatever started the primary (src/ops/node-flags.ts).
  cluster.setupPrimary({ execArgv: withServerFlags(process.execArgv) });
  for (let i = 0; i < config.workers; i++) cluster.fork();
  log.info({ workers: config.workers }, 'started workers');
}
