import { availableParallelism, loadavg } from 'node:os';
import { defineConfig } from 'vitest/config';

// On a busy machine everything takes longer: time-outs (and the deadlines in test/support, see
// time.ts) are stretched by how many runnable processes there are per core when the run
// starts, from 1 to 8 times; TEST_TIME_SCALE sets the factor outright.
const fromEnv = Number(process.env.TEST_TIME_SCALE);
const timeScale = fromEnv >= 1 ? fromEnv : Math.min(8, Math.max(1, Math.ceil((loadavg()[0] ?? 0) / availableParallelism())));

// The unit tests run once; everything under test/ runs twice, on SQLite and on PostgreSQL.
export default defineConfig({
  test: {
    pool: 'forks',
    // Two files at once: most of the suite waits on child processes, databases and a browser,
    // so even on a 2-core machine this halves the wall time (528 s → 301 s here).
    maxWorkers: 2,
    testTimeout: 30_000 * timeScale,
    hookTimeout: 60_000 * timeScale,
    env: { TEST_TIME_SCALE: String(timeScale) },
    projects: [
      { extends: true, test: { name: 'unit', include: ['src/**/*.test.ts'] } },
      { extends: true, test: { name: 'sqlite', include: ['test/**/*.test.ts'], env: { TEST_DATABASE: 'sqlite' } } },
      {
        extends: true,
        test: { name: 'postgres', include: ['test/**/*.test.ts'], env: { TEST_DATABASE: 'postgres' }, globalSetup: ['test/support/postgres-setup.ts'] },
      },
    ],
  },
});
