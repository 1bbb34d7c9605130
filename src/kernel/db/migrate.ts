// Brings a database up to date in one write transaction under a migration lock, so several
// processes starting at once on one database apply each migration exactly once: the others wait,
// then find it done.
import { sql } from 'kysely';
import { STARTUP_LOCK_WAIT_MS, type Store } from './store.ts';
import { migrations as allMigrations, type Migration } from './migrations/index.ts';

export async function migrateToLatest(store: Store, migrations: readonly Migration[] = allMigrations): Promise<string[]> {
  return store.write(async (trx) => {
    await store.lockForMigrations(trx);
    await sql`CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`.execute(trx);
    const done = new Set((await trx.selectFrom('schema_migrations').select('name').execute()).map((r) => r.name));
    const known = new Set(migrations.map((m) => m.name));
    const unknown = [...done].filter((n) => !known.has(n));
    if (unknown.length > 0) {
      throw new Error(`the database has migrations this version does not know (${unknown.join(', ')}); it was written by a newer version`);
    }
    const applied: string[] = [];
    for (const migration of migrations) {
      if (done.has(migration.name)) continue;
      await migration.up(trx, store.dialect);
      await trx.insertInto('schema_migrations').values({ name: migration.name, applied_at: new Date().toISOString() }).execute();
      applied.push(migration.name);
    }
    return applied;
  }, { waitForLockMs: STARTUP_LOCK_WAIT_MS });
}
