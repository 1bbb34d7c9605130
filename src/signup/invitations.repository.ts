// SQL for invitations to sign up. See the migration 2026-12-02-01-signup for the table.
import type { Insertable } from 'kysely';
import type { Db, InvitationRow } from '../kernel/db/database.ts';

export async function insertInvitation(db: Db, values: Insertable<InvitationRow>): Promise<void> {
  await db.insertInto('invitations').values(values).execute();
}

export function findInvitationByDigest(db: Db, digest: string) {
  return db.selectFrom('invitations').select(['id', 'email', 'email_key', 'expires_at', 'used_at']).where('token_digest', '=', digest).executeTakeFirst();
}

/**
 * Marks the invitation used if it is unused, unexpired at `now` and for this address; true when
 * this call did. Conditional, so that of two concurrent sign-ups with one link exactly one
 * succeeds (PostgreSQL re-checks the WHERE after waiting for the other's row lock; SQLite has one
 * writer at a time).
 */
export async function claimInvitation(db: Db, digest: string, emailKey: string, now: string): Promise<boolean> {
  const result = await db
    .updateTable('invitations')
    .set({ used_at: now })
    .where('token_digest', '=', digest)
    .where('email_key', '=', emailKey)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}
