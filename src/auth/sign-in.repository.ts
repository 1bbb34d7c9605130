// The SQL the sign-in core needs: an account's credentials by its name, and the upgrade of a
// password hash. The users feature owns the rest of the table.
import type { Db } from '../kernel/db/database.ts';
import { PRIMARY } from '../kernel/db/literals.ts';

/** `primary_verified`: whether the primary address is verified (1); a self-made account signs in only once it is. */
export type SignInAccount = { id: number; username: string; password_hash: string | null; is_active: number; primary_verified: number | null };

export function findSignInAccount(db: Db, username: string): Promise<SignInAccount | undefined> {
  // PostgreSQL TEXT cannot hold NUL and refuses the whole query; no username has one.
  if (username.includes('\u0000')) return Promise.resolve(undefined);
  return db
    .selectFrom('users')
    .leftJoin('emails', (join) => join.onRef('emails.user_id', '=', 'users.id').on('emails.is_primary', '=', PRIMARY))
    .select(['users.id', 'users.username', 'users.password_hash', 'users.is_active', 'emails.verified as primary_verified'])
    .where('users.username', '=', username)
    .executeTakeFirst();
}

/** Replaces a password hash only if it is still the one read (a concurrent change wins). */
export async function replacePasswordHash(db: Db, userId: number, previousHash: string, newHash: string): Promise<void> {
  await db.updateTable('users').set({ password_hash: newHash }).where('id', '=', userId).where('password_hash', '=', previousHash).execute();
}
