// Prepared queries (src/kernel/db/prepared.ts) answer what Kysely would, bind each call's own
// arguments, and never let a read outside a transaction see that transaction's uncommitted rows.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { preparedQuery } from '../../src/kernel/db/prepared.ts';
import { PRIMARY } from '../../src/kernel/db/literals.ts';
import type { Db } from '../../src/kernel/db/database.ts';
import { buildTestApp, makeUser, type TestApp } from '../support/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(() => t.close());

const NAMED = preparedQuery('test_users_named', (db: Db, username: string, after: number) =>
  db.selectFrom('users').select(['id', 'username', 'full_name']).where('username', '=', username).where('id', '>', after).where('is_active', '=', 1),
);
const PRIMARY_OF = preparedQuery('test_primary_of', (db: Db, userId: number) =>
  db.selectFrom('emails').select('email').where('user_id', '=', userId).where('is_primary', '=', PRIMARY),
);

it('binds each call its own arguments and answers what Kysely answers', async () => {
  const a = await makeUser(t.deps, { username: 'preparedone', email: 'preparedone@example.com' });
  const b = await makeUser(t.deps, { username: 'preparedtwo', email: 'preparedtwo@example.com' });
  for (const user of [a, b]) {
    const viaKysely = await t.store.db
      .selectFrom('users')
      .select(['id', 'username', 'full_name'])
      .where('username', '=', user.username)
      .where('id', '>', 0)
      .where('is_active', '=', 1)
      .execute();
    expect(await NAMED.all(t.store.db, user.username, 0)).toEqual(viaKysely);
    expect(await NAMED.first(t.store.db, user.username, 0)).toEqual({ id: user.id, username: user.username, full_name: '' });
  }
  expect(await NAMED.all(t.store.db, a.username, a.id)).toEqual([]);
  expect(await NAMED.first(t.store.db, 'nobody', 0)).toBeUndefined();
  // Many calls at once, each with its own arguments.
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => PRIMARY_OF.first(t.store.db, i % 2 === 0 ? a.id : b.id)));
  results.forEach((row, i) => expect(row?.email).toBe(i % 2 === 0 ? 'preparedone@example.com' : 'preparedtwo@example.com'));
});

it('inside a transaction sees its rows; outside, only what is committed', async () => {
  const user = await makeUser(t.deps, { username: 'preparedtrx', email: 'before@example.com' });
  let outside: Promise<string | undefined> | undefined;
  await t.store.write(async (trx) => {
    await trx.updateTable('emails').set({ email: 'during@example.com' }).where('user_id', '=', user.id).execute();
    expect((await PRIMARY_OF.first(trx, user.id))?.email).toBe('during@example.com');
    // A read from outside while this transaction is open and has written; the transaction
    // goes on (and commits) only a while later.
    outside = PRIMARY_OF.first(t.store.db, user.id).then((row) => row?.email);
    await new Promise((resolve) => setTimeout(resolve, 30));
  });
  const outsideDuring = await outside;
  // PostgreSQL's other connection reads the committed row at once; SQLite's one connection
  // makes the read wait for the commit. Either way, never the uncommitted one.
  expect(['before@example.com', 'during@example.com']).toContain(outsideDuring);
  if (outsideDuring === 'during@example.com') expect(t.store.dialect).toBe('sqlite');
  expect((await PRIMARY_OF.first(t.store.db, user.id))?.email).toBe('during@example.com');
});

it('a rolled-back write is never seen', async () => {
  const user = await makeUser(t.deps, { username: 'preparedroll', email: 'kept@example.com' });
  let outside: Promise<string | undefined> | undefined;
  await expect(
    t.store.write(async (trx) => {
      await trx.updateTable('emails').set({ email: 'lost@example.com' }).where('user_id', '=', user.id).execute();
      expect((await PRIMARY_OF.first(trx, user.id))?.email).toBe('lost@example.com');
      // Read from outside while the row is changed but not committed, then roll back.
      outside = PRIMARY_OF.first(t.store.db, user.id).then((row) => row?.email);
      await new Promise((resolve) => setTimeout(resolve, 30));
      throw new Error('undo');
    }),
  ).rejects.toThrow('undo');
  expect(await outside).toBe('kept@example.com');
  expect((await PRIMARY_OF.first(t.store.db, user.id))?.email).toBe('kept@example.com');
});

it('refuses a name defined twice and an argument used in logic rather than as a value', () => {
  expect(() => preparedQuery('test_users_named', (db: Db) => db.selectFrom('users').selectAll())).toThrow('defined twice');
  const unused = preparedQuery('test_unused', (db: Db, id: number) => db.selectFrom('users').selectAll().where('id', '=', typeof id === 'number' ? 1 : 2));
  return expect(unused.all(t.store.db, 1)).rejects.toThrow('not used as a value');
});
