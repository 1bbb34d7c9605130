import { defineConfig } from 'vitest/config';

// The unit tests run once; everything under test/ runs twice, on SQLite and on PostgreSQL.
export default defineConfig({
  test: {
    pool: 'forks',
    // Two files at once: most of the suite waits on child processes, databases and a browser,
    // so even on a 2-core machine this halves the wall time (528 s → 301 s here).
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
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
