// Rules about a user's email addresses. The database holds the invariants; this file turns
// their violations into the API's answers.
import { ApiError } from '../kernel/errors.ts';
import type { Deps } from '../kernel/deps.ts';
import type { Db } from '../kernel/db/database.ts';
import { ADMIN_CONTEXT, type AuditContext, type AuditEventName } from '../audit/audit-events.ts';
import { recordAuditEvent } from '../audit/audit.service.ts';
import { findUserById } from '../users/users.repository.ts';
import { constraintViolation } from '../kernel/db/store.ts';
import { parseEmail, type ParsedEmail } from '../kernel/email-address.ts';
import { deleteSecondaryEmail, findEmailByKey, insertEmail, listEmails, type Email } from './emails.repository.ts';

export const MAX_EMAILS_PER_USER = 20;

export type EmailRepresentation = { email: string; verified: boolean; primary: boolean };

export function presentEmail(row: Email): EmailRepresentation {
  return { email: row.email, verified: row.verified === 1, primary: row.is_primary === 1 };
}

export async function listUserEmails(deps: Deps, userId: number): Promise<EmailRepresentation[]> {
  return (await listEmails(deps.store.db, userId)).map(presentEmail);
}

/** An address event, in the transaction of the change; the detail is the address as stored. */
async function recordEmailEvent(deps: Deps, trx: Db, context: AuditContext, event: AuditEventName, userId: number, email: string): Promise<void> {
  const user = await findUserById(trx, userId);
  if (!user) return;
  await recordAuditEvent(deps, { ...context, event, userId, username: user.username, detail: { email } }, trx);
}

/** The `email` field of a request body: present, non-empty and a valid address, or a 400. */
export function requireAddress(input: unknown): ParsedEmail {
  if (typeof input !== 'string' || input.trim() === '') {
    throw new ApiError('invalid', { fieldErrors: { email: ['This field is required.'] } });
  }
  const parsed = parseEmail(input.trim());
  if ('error' in parsed) throw new ApiError('invalid', { fieldErrors: { email: [parsed.error] } });
  return parsed;
}

/** Adds an unverified secondary address. No mail is sent (the seed page says so). */
export async function addEmail(deps: Deps, userId: number, input: unknown, context: AuditContext = ADMIN_CONTEXT): Promise<EmailRepresentation> {
  const address = requireAddress(input);
  try {
    const row = await deps.store.write(async (trx) => {
      const inserted = await insertEmail(trx, {
        user_id: userId,
        email: address.display,
        email_key: address.key,
        verified: 0,
        is_primary: 0,
        created_at: deps.clock.nowIso(),
      });
      await recordEmailEvent(deps, trx, context, 'email_added', userId, inserted.email);
      return inserted;
    });
    return presentEmail(row);
  } catch (error) {
    const violation = constraintViolation(error);
    // Same answer whichever account holds it (this one included), as the spec says.
    if (violation?.kind === 'unique') throw new ApiError('invalid', { fieldErrors: { email: ['This email address is already in use.'] } });
    if (violation?.kind === 'check') {
      throw new ApiError('invalid', { fieldErrors: { email: [`You can have at most ${MAX_EMAILS_PER_USER} email addresses.`] } });
    }
    throw error;
  }
}

export async function deleteEmail(deps: Deps, userId: number, input: unknown, context: AuditContext = ADMIN_CONTEXT): Promise<void> {
  const address = requireAddress(input);
  try {
    await deps.store.write(async (trx) => {
      const deleted = await deleteSecondaryEmail(trx, userId, address.key);
      if (deleted) {
        await recordEmailEvent(deps, trx, context, 'email_removed', userId, deleted.email);
        return;
      }
      const existing = await findEmailByKey(trx, address.key);
      if (existing?.user_id === userId && existing.is_primary === 1) throw new ApiError('primary_email');
      throw new ApiError('email_not_found');
    });
  } catch (error) {
    if (constraintViolation(error)?.kind === 'trigger') throw new ApiError('primary_email');
    throw error;
  }
}
