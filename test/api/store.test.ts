// The store's settings and the stored forms of secrets.
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { tokenDigest } from '../../src/tokens/token-format.ts';
import { buildTestApp, makeToken, makeUser, type TestApp } from '../support/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(() => t.close());

it('opens SQLite with WAL, synchronous=FULL, foreign keys and a busy timeout', async () => {
  const pragma = async (name: string) => Object.values((await sql.raw(`PRAGMA ${name}`).execute(t.store.db)).rows[0] as object)[0];
  expect(await pragma('journal_mode')).toBe('wal');
  expect(await pragma('synchronous')).toBe(2); // FULL
  expect(await pragma('foreign_keys')).toBe(1);
  expect(await pragma('busy_timeout')).toBe(5000);
});

it('stores passwords as argon2id (m=19456 KiB, t=2, p=1) and tokens as SHA-256 digests only', async () => {
  const user = await makeUser(t.deps, { username: 'storeduser' });
  const token = await makeToken(t.deps, 'storeduser', ['profile_read']);
  const row = await t.store.db.selectFrom('users').select('password_hash').where('id', '=', user.id).executeTakeFirstOrThrow();
  expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  expect(row.password_hash).not.toContain(user.password);
  const tokens = await t.store.db.selectFrom('access_tokens').selectAll().where('user_id', '=', user.id).execute();
  expect(tokens).toHaveLength(1);
  expect(tokens[0]!.token_digest).toBe(tokenDigest(token));
  expect(JSON.stringify(tokens)).not.toContain(token.slice(10));
});

it('holds the invariants in the database itself, whatever the application does', async () => {
  const user = await makeUser(t.deps, { username: 'invariants' });
  const db = t.store.db;
  const now = new Date().toISOString();
  // a second primary
  await expect(t.store.write((trx) => trx.insertInto('emails').values({ user_id: user.id, email: 'p2@example.com', email_key: 'p2@example.com', is_primary: 1, created_at: now }).execute())).rejects.toThrow(/UNIQUE/);
  // an address another row has, by key
  await expect(t.store.write((trx) => trx.insertInto('emails').values({ user_id: user.id, email: 'X', email_key: 'invariants@example.com', created_at: now }).execute())).rejects.toThrow(/UNIQUE/);
  // deleting the primary
  await expect(t.store.write((trx) => trx.deleteFrom('emails').where('user_id', '=', user.id).execute())).rejects.toThrow(/primary_email_required/);
  const rows = await db.selectFrom('emails').selectAll().where('user_id', '=', user.id).execute();
  expect(rows).toHaveLength(1);
});
