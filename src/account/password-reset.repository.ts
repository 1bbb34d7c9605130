// SQL for password reset links. See the migration 2026-12-02-02-password-resets for the table.
// The lookups read the users and emails tables in joins: a link is asked for by username or
// address, and goes to the account's primary address.
import type { Insertable } from 'kysely';
import type { Db, PasswordResetRow } from '../kernel/db/database.ts';
import { PRIMARY } from '../kernel/db/literals.ts';

/** An account a reset can be asked for, with its primary address when that address is verified. */
export type ResetAccount = { id: number; username: string; is_active: number; verified_primary: string | null };

function accountQuery(db: Db) {
  return db
    .selectFrom('users')
    .leftJoin('emails', (join) => join.onRef('emails.user_id', '=', 'users.id').on('emails.is_primary', '=', PRIMARY).on('emails.verified', '=', 1))
    .select(['users.id', 'users.username', 'users.is_active', 'emails.email as verified_primary']);
}

export function findResetAccountByUsername(db: Db, username: string): Promise<ResetAccount | undefined> {
  // PostgreSQL TEXT cannot hold NUL and refuses the whole query; no username has one.
  if (username.includes('\u0000')) return Promise.resolve(undefined);
  return accountQuery(db).where('users.username', '=', username).executeTakeFirst();
}

/** The account one of whose verified addresses has this comparison key (kernel/email-address.ts). */
export function findResetAccountByVerifiedEmail(db: Db, emailKey: string): Promise<ResetAccount | undefined> {
  return accountQuery(db)
    .where((eb) =>
      eb.exists(
        eb
          .selectFrom('emails as asked')
          .select('asked.id')
          .whereRef('asked.user_id', '=', 'users.id')
          .where('asked.email_key', '=', emailKey)
          .where('asked.verified', '=', 1),
      ),
    )
    .executeTakeFirst();
}

/** The user's primary address, verified or not (the password-change notice goes there). */
export async function insertPasswordReset(db: Db, row: Insertable<PasswordResetRow>): Promise<void> {
  await db.insertInto('password_resets').values(row).execute();
}

/** The link and its account (undefined: no such link, or its user was deleted). */
export function findResetByDigest(db: Db, digest: string) {
  return db
    .selectFrom('password_resets')
    .innerJoin('users', 'users.id', 'password_resets.user_id')
    .select(['password_resets.id', 'password_resets.user_id', 'password_resets.expires_at', 'password_resets.used_at', 'users.username', 'users.is_active'])
    .where('password_resets.token_digest', '=', digest)
    .executeTakeFirst();
}

/**
 * Marks the link used if it is unused and unexpired at `now`; returns its user's id when this
 * call did. Conditional, so that of two concurrent uses exactly one succeeds (PostgreSQL
 * re-checks the WHERE after waiting for the other's row lock; SQLite has one writer at a time).
 */
export async function claimPasswordReset(db: Db, digest: string, now: string): Promise<number | undefined> {
  const row = await db
    .updateTable('password_resets')
    .set({ used_at: now })
    .where('token_digest', '=', digest)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .returning('user_id')
    .executeTakeFirst();
  return row?.user_id;
}

/** Closes every open link of the user: once a password is set, older mails must not set another. */
export async function closeOpenResets(db: Db, userId: number, now: string): Promise<void> {
  await db.updateTable('password_resets').set({ used_at: now }).where('user_id', '=', userId).where('used_at', 'is', null).execute();
}

/** Links expired before `cutoff`: called now and then so the table does not grow without end. */
export async function deleteExpiredResets(db: Db, cutoff: string): Promise<void> {
  await db.deleteFrom('password_resets').where('expires_at', '<=', cutoff).execute();
}
