// Deleting an account, from the settings page (the user, after typing the password again) or the
// CLI (an operator). One transaction removes the profile and everything tied to it — addresses,
// verification links, personal access tokens, account-page sessions (by the schema's cascades),
// and the authorization server's grants, codes, tokens and login sessions (its subscriber to the
// credential-change events) — and leaves a tombstone with the id and the username, which are
// never given to anyone again (see the migration 2026-12-02-03-deleted-accounts). The audit
// trail records the deletion with the id and username only; the user's earlier events stay, as
// they hold nothing personal beyond the username and the client addresses (docs/explanation/decisions.md).
// Once committed, every process's caches forget the account, its path entry included.
import { ApiError } from '../kernel/errors.ts';
import { constraintViolation } from '../kernel/db/store.ts';
import type { Deps } from '../kernel/deps.ts';
import { ADMIN_CONTEXT, type AuditContext } from '../audit/audit-events.ts';
import { recordAuditEvent } from '../audit/audit.service.ts';
import type { Mailer } from '../mail/mailer.ts';
import { findUserByUsername, findUserWithPrimaryEmail } from './users.repository.ts';
import { deleteUserRow, findTombstoneByUsername, insertTombstone } from './deletion.repository.ts';

export type DeletedAccount = { id: number; username: string; email: string; deletedAt: string };

/** The message for a username a deleted account had; createUser and the sign-up refuse it. */
export const DELETED_USERNAME_MESSAGE = 'This username belonged to a deleted account and cannot be used again.';

/** Whether a deleted account had this username (lowercase): it cannot be taken again. */
export async function isDeletedUsername(deps: Deps, username: string): Promise<boolean> {
  return (await findTombstoneByUsername(deps.store.db, username.toLowerCase())) !== undefined;
}

/**
 * Deletes the account named, at once and for good; a 404 when there is none. With a mailer, a
 * mail confirms it to the (former) primary address after the commit.
 */
export async function deleteAccount(deps: Deps & { mailer?: Mailer }, username: string, context: AuditContext = ADMIN_CONTEXT): Promise<DeletedAccount> {
  const name = username.toLowerCase();
  const notFound = () => new ApiError('not_found', { detail: `No user named "${name}".` });
  const deletedAt = deps.clock.nowIso();
  const deleted = await deps.store
    .write(async (trx) => {
      const user = await findUserByUsername(trx, name);
      const withEmail = user && (await findUserWithPrimaryEmail(trx, user.id));
      if (!user || !withEmail) throw notFound();
      await insertTombstone(trx, { user_id: user.id, username: user.username, deleted_at: deletedAt });
      // Before the row goes, so subscribers can still join on it if they need to.
      await deps.credentialEvents.changing(trx, { userId: user.id, kind: 'deleted' });
      // Conditional, in case the row went since it was read.
      if (!(await deleteUserRow(trx, user.id))) throw notFound();
      await recordAuditEvent(deps, { ...context, event: 'account_deleted', userId: user.id, username: user.username }, trx);
      return { id: user.id, username: user.username, email: withEmail.primary_email, deletedAt };
    })
    .catch((error: unknown) => {
      // Two deletions at once (PostgreSQL): the second waited on the first's tombstone, now taken.
      if (constraintViolation(error)?.kind === 'unique') throw notFound();
      throw error;
    });
  deps.credentialEvents.changed({ userId: deleted.id, kind: 'deleted' });
  deps.mailer?.send({
    to: deleted.email,
    subject: 'Your account was deleted',
    text: [
      `Hello ${deleted.username},`,
      '',
      `The account "${deleted.username}" at ${deps.config.publicUrl} was deleted on ${deletedAt.slice(0, 10)}, with its`,
      'addresses, access tokens and the access of the applications you had allowed.',
      'Nothing of it can be restored, and the username will not be given to anyone else.',
      '',
      'If you did not ask for this, tell the administrators of this service.',
      '',
    ].join('\n'),
  });
  return deleted;
}
