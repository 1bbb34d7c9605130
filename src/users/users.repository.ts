// SQL for users. Plain functions taking the Kysely handle (or a transaction) first.
import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Db, UserRow } from '../kernel/db/database.ts';
import { PRIMARY } from '../kernel/db/literals.ts';
import { preparedQuery } from '../kernel/db/prepared.ts';

export type User = Selectable<UserRow>;
export type UserWithPrimaryEmail = User & { primary_email: string };

export function findUserByUsername(db: Db, username: string): Promise<User | undefined> {
  // PostgreSQL TEXT cannot hold NUL and refuses the whole query; no username has one.
  if (username.includes('\u0000')) return Promise.resolve(undefined);
  return db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
}

export function findUserById(db: Db, userId: number): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirst();
}

/**
 * The user and the primary address in one query: what the user representation needs. A scalar
 * subquery rather than a join: SQLite plans the join with a Bloom filter that makes this point
 * lookup five times slower (26 µs against 5 µs on the benchmark's database).
 */
const USER_WITH_PRIMARY_EMAIL = preparedQuery('user_with_primary_email', (db: Db, userId: number) =>
  db
    .selectFrom('users')
    .selectAll('users')
    .select((eb) =>
      eb.selectFrom('emails').select('emails.email').whereRef('emails.user_id', '=', 'users.id').where('emails.is_primary', '=', PRIMARY).as('primary_email'),
    )
    .where('users.id', '=', userId),
);

export async function findUserWithPrimaryEmail(db: Db, userId: number): Promise<UserWithPrimaryEmail | undefined> {
  const row = await USER_WITH_PRIMARY_EMAIL.first(db, userId);
  // Every user has a primary address (the schema sees to it).
  return row && row.primary_email !== null ? { ...row, primary_email: row.primary_email } : undefined;
}

export function listUsersWithPrimaryEmail(db: Db): Promise<UserWithPrimaryEmail[]> {
  return db
    .selectFrom('users')
    .innerJoin('emails', (join) => join.onRef('emails.user_id', '=', 'users.id').on('emails.is_primary', '=', PRIMARY))
    .selectAll('users')
    .select('emails.email as primary_email')
    .orderBy('users.id')
    .execute();
}

export async function insertUser(db: Db, values: Insertable<UserRow>): Promise<number> {
  const row = await db.insertInto('users').values(values).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

/** Writes only the columns given: a PATCH of one field never overwrites another. */
export async function updateUser(db: Db, userId: number, values: Updateable<UserRow>): Promise<void> {
  await db.updateTable('users').set(values).where('id', '=', userId).execute();
}

/** Flips is_active only if it differs, so that concurrent callers see exactly one change. */
export async function setUserActive(db: Db, userId: number, active: boolean, at: string): Promise<boolean> {
  const value = active ? 1 : 0;
  const result = await db.updateTable('users').set({ is_active: value, updated_at: at }).where('id', '=', userId).where('is_active', '!=', value).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * Takes the user's row lock on PostgreSQL, so that a write checked against what it read (If-Match)
 * sees no other write in between. SQLite's writers are serialised already.
 */
export async function lockUser(db: Db, dialect: 'sqlite' | 'postgres', userId: number): Promise<void> {
  if (dialect === 'postgres') await db.selectFrom('users').select('id').where('id', '=', userId).forUpdate().execute();
}
