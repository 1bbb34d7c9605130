// SQL for verification links and for promoting an address. See the migration
// 2026-11-23-03-email-verifications for the table.
import type { Insertable } from 'kysely';
import type { Db, EmailVerificationRow } from '../kernel/db/database.ts';
import { PRIMARY } from '../kernel/db/literals.ts';


export async function insertEmailVerification(db: Db, values: Insertable<EmailVerificationRow>): Promise<void> {
  await db.insertInto('email_verifications').values(values).execute();
}

/** The link and the address it is for (undefined: no such link, or its address was deleted). */
export function findVerificationByDigest(db: Db, digest: string) {
  return db
    .selectFrom('email_verifications')
    .innerJoin('emails', 'emails.id', 'email_verifications.email_id')
    .innerJoin('users', 'users.id', 'emails.user_id')
    .select([
      'email_verifications.id',
      'email_verifications.email_id',
      'email_verifications.expires_at',
      'email_verifications.used_at',
      'emails.email',
      'emails.user_id',
      'users.username',
    ])
    .where('email_verifications.token_digest', '=', digest)
    .executeTakeFirst();
}

/**
 * Marks the link used if it is unused and unexpired at `now`; returns its address id when this
 * call did. Conditional, so that of two concurrent confirmations exactly one succeeds (PostgreSQL
 * re-checks the WHERE after waiting for the other's row lock; SQLite has one writer at a time).
 */
export async function claimVerification(db: Db, digest: string, now: string): Promise<number | undefined> {
  const row = await db
    .updateTable('email_verifications')
    .set({ used_at: now })
    .where('token_digest', '=', digest)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .returning('email_id')
    .executeTakeFirst();
  return row?.email_id;
}

export async function markEmailVerified(db: Db, emailId: number): Promise<void> {
  await db.updateTable('emails').set({ verified: 1 }).where('id', '=', emailId).execute();
}

/**
 * Takes the user's row lock on PostgreSQL, so that changes of one user's primary address run one
 * after the other (each then sees the other's result). SQLite's writers are serialised already.
 */
export async function lockUserForEmailChange(db: Db, dialect: 'sqlite' | 'postgres', userId: number): Promise<void> {
  if (dialect === 'postgres') await db.selectFrom('users').select('id').where('id', '=', userId).forUpdate().execute();
}

/** Demotes the user's primary, then promotes the (verified) address: the partial unique index sees one primary at every step. */
export async function makePrimary(db: Db, userId: number, emailId: number): Promise<boolean> {
  await db.updateTable('emails').set({ is_primary: 0 }).where('user_id', '=', userId).where('is_primary', '=', PRIMARY).execute();
  const promoted = await db
    .updateTable('emails')
    .set({ is_primary: 1 })
    .where('id', '=', emailId)
    .where('user_id', '=', userId)
    .where('verified', '=', 1)
    .executeTakeFirst();
  return promoted.numUpdatedRows === 1n;
}
