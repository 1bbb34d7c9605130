// SQL for users. Plain functions taking the Kysely handle (or a transaction) first.
import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Db, UserRow } from '../db/database.ts';

export type User = Selectable<UserRow>;
export type UserWithPrimaryEmail = User & { primary_email: string };

export function findUserByUsername(db: Db, username: string): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
}

/** The user and the primary address in one query: what the user representation needs. */
export function findUserWithPrimaryEmail(db: Db, userId: number): Promise<UserWithPrimaryEmail | undefined> {
  return db
    .selectFrom('users')
    .innerJoin('emails', (join) => join.onRef('emails.user_id', '=', 'users.id').on('emails.is_primary', '=', 1))
    .selectAll('users')
    .select('emails.email as primary_email')
    .where('users.id', '=', userId)
    .executeTakeFirst();
}

export function listUsersWithPrimaryEmail(db: Db): Promise<UserWithPrimaryEmail[]> {
  return db
    .selectFrom('users')
    .innerJoin('emails', (join) => join.onRef('emails.user_id', '=', 'users.id').on('emails.is_primary', '=', 1))
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
