// Several processes starting at once on one SQLite file queue behind each other's migrations. On
// a busy machine one of them waited more than the 5 s a request may wait and failed to start
// with "database is locked"; writes made while starting now wait up to a minute.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { migrateToLatest } from './migrate.ts';
import { openSqlite } from './sqlite.ts';

const dir = mkdtempSync(join(tmpdir(), 'accounts-lock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Another process that takes the write lock and holds it for `ms`; resolves once it holds it. */
function holdWriteLock(path: string, ms: number): Promise<{ released: Promise<void> }> {
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(process.argv[1]);
    db.pragma('journal_mode = WAL');
    db.exec('BEGIN IMMEDIATE');
    process.stdout.write('locked\\n');
    setTimeout(() => { db.exec('COMMIT'); db.close(); }, Number(process.argv[2]));`;
  const child = spawn(process.execPath, ['-e', script, path, String(ms)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const released = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.stdout.once('data', () => resolve({ released }));
    child.once('error', reject);
  });
}

it('a start-up write waits for another process’s write lock longer than a request would (5 s)', { timeout: 60_000 }, async () => {
  const path = join(dir, 'accounts.db');
  const store = openSqlite(path);
  try {
    const holder = await holdWriteLock(path, 6_500);
    const started = Date.now();
    const applied = await migrateToLatest(store);
    expect(Date.now() - started).toBeGreaterThan(5_000);
    expect(applied.length).toBeGreaterThan(0);
    await holder.released;
    // Requests still give up after 5 s rather than stall the event loop for a minute.
    const again = await holdWriteLock(path, 5_600);
    await expect(store.write(async () => undefined)).rejects.toThrow(/database is locked/);
    await again.released;
  } finally {
    await store.close();
  }
});
