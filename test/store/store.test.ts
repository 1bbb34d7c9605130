// The store's settings and the stored forms of secrets.
import { sha256Hex } from '../../src/kernel/crypto.ts';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';

import { constraintViolation } from '../../src/kernel/db/store.ts';
import { TEST_DIALECT } from '../support/database.ts';
import { buildTestApp, makeToken, makeUser, type TestApp } from '../support/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(() => t.close());

it('opens the database with its safety settings', async () => {
  const first = async (query: string) => Object.values((await sql.raw(query).execute(t.store.db)).rows[0] as object)[0];
  if (TEST_DIALECT === 'sqlite') {
    expect(await first('PRAGMA journal_mode')).toBe('wal');
    expect(await first('PRAGMA synchronous')).toBe(2); // FULL
    expect(await first('PRAGMA foreign_keys')).toBe(1);
    expect(await first('PRAGMA busy_timeout')).toBe(5000);
  } else {
    expect(await first('SHOW statement_timeout')).toBe('10s');
    expect(await first('SHOW application_name')).toBe('accounts');
  }
});

it('stores passwords as argon2id (m=19456 KiB, t=2, p=1) and tokens as SHA-256 digests only', async () => {
  const user = await makeUser(t.deps, { username: 'storeduser' });
  const token = await makeToken(t.deps, 'storeduser', ['profile_read']);
  const row = await t.store.db.selectFrom('users').select('password_hash').where('id', '=', user.id).executeTakeFirstOrThrow();
  expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  expect(row.password_hash).not.toContain(user.password);
  const tokens = await t.store.db.selectFrom('access_tokens').selectAll().where('user_id', '=', user.id).execute();
  expect(tokens).toHaveLength(1);
  expect(tokens[0]!.token_digest).toBe(sha256Hex(token));
  expect(JSON.stringify(tokens)).not.toContain(token.slice(10));
});

it('holds the invariants in the database itself, whatever the application does', async () => {
  const user = await makeUser(t.deps, { username: 'invariants' });
  const db = t.store.db;
  const now = new Date().toISOString();
  // a second primary
  await expect(t.store.write((trx) => trx.insertInto('emails').values({ user_id: user.id, email: 'p2@example.com', email_key: 'p2@example.com', is_primary: 1, created_at: now }).execute())).rejects.toSatisfy((e) => constraintViolation(e)?.kind === 'unique');
  // an address another row has, by key
  await expect(t.store.write((trx) => trx.insertInto('emails').values({ user_id: user.id, email: 'X', email_key: 'invariants@example.com', created_at: now }).execute())).rejects.toSatisfy((e) => constraintViolation(e)?.kind === 'unique');
  // deleting the primary
  await expect(t.store.write((trx) => trx.deleteFrom('emails').where('user_id', '=', user.id).execute())).rejects.toSatisfy((e) => constraintViolation(e)?.kind === 'trigger' && String(e).includes('primary_email_required'));
  // a 21st address
  await t.store.write(async (trx) => {
    for (let i = 1; i < 20; i++) await trx.insertInto('emails').values({ user_id: user.id, email: `n${i}`, email_key: `inv${i}@example.com`, created_at: now }).execute();
  });
  await expect(t.store.write((trx) => trx.insertInto('emails').values({ user_id: user.id, email: 'n21', email_key: 'inv21@example.com', created_at: now }).execute())).rejects.toSatisfy((e) => constraintViolation(e)?.kind === 'check');
  const rows = await db.selectFrom('emails').selectAll().where('user_id', '=', user.id).execute();
  expect(rows).toHaveLength(20);
  expect(rows.filter((r) => r.is_primary === 1)).toHaveLength(1);
});

it('runs a one-statement write on its own on PostgreSQL (no BEGIN: one round trip), grouped on SQLite, committed either way', async () => {
  const user = await makeUser(t.deps, { username: 'onestatement' });
  if (TEST_DIALECT === 'postgres') {
    // In a transaction of its own a statement starts with it; after a BEGIN, later than it.
    const alone = (options?: { oneStatement: true }) =>
      t.store.write(async (trx) => (await sql<{ alone: boolean }>`SELECT now() = statement_timestamp() AS alone`.execute(trx)).rows[0]!.alone, options);
    expect(await alone({ oneStatement: true })).toBe(true);
    expect(await alone()).toBe(false);
  }
  await t.store.write((trx) => trx.updateTable('users').set({ location: 'One Statement' }).where('id', '=', user.id).execute(), { oneStatement: true });
  const row = await t.store.db.selectFrom('users').select('location').where('id', '=', user.id).executeTakeFirstOrThrow();
  expect(row.location).toBe('One Statement');
  // A failing statement (here: NOT NULL) changes nothing.
  await expect(t.store.write((trx) => trx.updateTable('users').set({ username: null as unknown as string }).where('id', '=', user.id).execute(), { oneStatement: true })).rejects.toThrow();
  expect((await t.store.db.selectFrom('users').select('username').where('id', '=', user.id).executeTakeFirstOrThrow()).username).toBe('onestatement');
});
