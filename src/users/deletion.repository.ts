// SQL for deleting an account: the tombstone (deleted_accounts) and the users row. The rows that
// hang on the user by a foreign key (addresses and their verification links, personal access
// tokens, account-page sessions) go with it, ON DELETE CASCADE, in the same statement.
import type { Db } from '../kernel/db/database.ts';

export async function insertTombstone(db: Db, values: { user_id: number; username: string; deleted_at: string }): Promise<void> {
  await db.insertInto('deleted_accounts').values(values).execute();
}

/** Deletes the users row; false when it was no longer there (another deletion won). */
export async function deleteUserRow(db: Db, userId: number): Promise<boolean> {
  const result = await db.deleteFrom('users').where('id', '=', userId).executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

export function findTombstoneByUsername(db: Db, username: string): Promise<{ user_id: number; username: string; deleted_at: string } | undefined> {
  if (username.includes('\u0000')) return Promise.resolve(undefined);
  return db.selectFrom('deleted_accounts').selectAll().where('username', '=', username).executeTakeFirst();
}
