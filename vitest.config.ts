import { availableParallelism, loadavg } from 'node:os';
import { defineConfig } from 'vitest/config';

// On a busy machine everything takes longer: time-outs (and the deadlines in test/support, see
// time.ts) are stretched by how many runnable processes there are per core when the run
// starts, from 1 to 8 times; TEST_TIME_SCALE sets the factor outright.
const fromEnv = Number(process.env.TEST_TIME_SCALE);
const timeScale = fromEnv >= 1 ? fromEnv : Math.min(8, Math.max(1, Math.ceil((loadavg()[0] ?? 0) / availableParallelism())));

// Files whose subject does not depend on the store run once, on SQLite: the round trip crosses
// both stores itself; sockets, the documentation, and what a browser sees and does are the same on both
// (their server side is tested on both by the other files).
const STORE_INDEPENDENT = [
  'test/transfer/round-trip.e2e.test.ts',
  'test/http/slow-clients.test.ts',
  'test/docs/reference.test.ts',
  'test/architecture/layers.test.ts',
  'test/architecture/table-owners.test.ts',
  'test/account/settings.browser.test.ts',
  'test/account/password-reset.browser.test.ts',
  'test/emails/verification-pages.browser.test.ts',
  'test/oauth/sign-out.browser.test.ts',
  'test/signup/signup.browser.test.ts',
];

// The unit tests run once; everything else under test/ runs twice, on SQLite and on PostgreSQL.
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
      // A test process runs file after file with its modules loaded once (importing the app and
      // its libraries took a second or more per file); each file still builds its own app and
      // database, and nothing in src/ keeps state between apps.
      { extends: true, test: { name: 'sqlite', include: ['test/**/*.test.ts'], isolate: false, env: { TEST_DATABASE: 'sqlite' } } },
      {
        extends: true,
        test: {
          name: 'postgres',
          include: ['test/**/*.test.ts'],
          isolate: false,
          exclude: STORE_INDEPENDENT,
          env: { TEST_DATABASE: 'postgres' },
          globalSetup: ['test/support/postgres-setup.ts'],
        },
      },
    ],
  },
});
