// Rules about a user's email addresses. The database holds the invariants; this file turns
// their violations into the API's answers.
import type { Static } from '@sinclair/typebox';
import type { EmailSchema } from './emails.schema.ts';
import { ApiError } from '../kernel/errors.ts';
import type { Deps } from '../kernel/deps.ts';
import type { Db } from '../kernel/db/database.ts';
import { ADMIN_CONTEXT, type AuditContext, type AuditEventName } from '../audit/audit-events.ts';
import { recordAuditEvent } from '../audit/audit.service.ts';
import type { AccountRef } from '../auth/principal.ts';
import { constraintViolation } from '../kernel/db/store.ts';
import { entityTag, requirePrecondition } from '../kernel/entity-tags.ts';
import { lockUserForEmailChange } from './verification.repository.ts';
import { parseEmail, type ParsedEmail } from '../kernel/email-address.ts';
import { deleteSecondaryEmail, findEmailByKey, findPrimaryAddress, insertEmail, listEmails, type Email } from './emails.repository.ts';

export const MAX_EMAILS_PER_USER = 20;

/** An address as the API shows it: the route schema's type. */
export type EmailRepresentation = Static<typeof EmailSchema>;

export function presentEmail(row: Email): EmailRepresentation {
  return { email: row.email, verified: row.verified === 1, primary: row.is_primary === 1 };
}

/** Where a mail about the account goes: its primary address (and its username, to greet it). */
export function primaryAddressOf(deps: Deps, userId: number): Promise<{ email: string; username: string } | undefined> {
  return findPrimaryAddress(deps.store.db, userId);
}

export async function listUserEmails(deps: Deps, account: AccountRef): Promise<EmailRepresentation[]> {
  return (await listEmails(deps.store.db, account.id)).map(presentEmail);
}

/** An address event, in the transaction of the change; the detail is the address as stored. */
async function recordEmailEvent(deps: Deps, trx: Db, context: AuditContext, event: AuditEventName, account: AccountRef, email: string): Promise<void> {
  await recordAuditEvent(deps, { ...context, event, userId: account.id, username: account.username, detail: { email } }, trx);
}

/**
 * A new user's first address, primary, in the transaction that creates the user: the schema wants
 * every user to have a primary address. Verified when an operator vouches for it (the CLI); not
 * when the user signed up on their own, who must confirm it before signing in.
 */
export async function addFirstAddress(trx: Db, userId: number, address: ParsedEmail, at: string, verified = true): Promise<void> {
  await insertEmail(trx, { user_id: userId, email: address.display, email_key: address.key, verified: verified ? 1 : 0, is_primary: 1, created_at: at });
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

/**
 * With If-Match (`ifMatch`): the list of addresses as this transaction found it, under the user's
 * lock, must still have that tag; checked after the change itself succeeded, so that a request
 * that fails anyway fails with its own error (RFC 9110 §13.2.1); throwing undoes the change.
 */
async function listTagBefore(deps: Deps, trx: Db, account: AccountRef, ifMatch: string | undefined): Promise<string | undefined> {
  if (ifMatch === undefined) return undefined;
  await lockUserForEmailChange(trx, deps.store.dialect, account.id);
  return entityTag((await listEmails(trx, account.id)).map(presentEmail));
}

export type WriteConditions = { ifMatch?: string | undefined };

/** Adds an unverified secondary address. No mail is sent (the seed page says so). */
export async function addEmail(deps: Deps, account: AccountRef, input: unknown, context: AuditContext = ADMIN_CONTEXT, conditions: WriteConditions = {}): Promise<EmailRepresentation> {
  const address = requireAddress(input);
  try {
    const row = await deps.store.write(async (trx) => {
      const before = await listTagBefore(deps, trx, account, conditions.ifMatch);
      const inserted = await insertEmail(trx, {
        user_id: account.id,
        email: address.display,
        email_key: address.key,
        verified: 0,
        is_primary: 0,
        created_at: deps.clock.nowIso(),
      });
      await recordEmailEvent(deps, trx, context, 'email_added', account, inserted.email);
      if (before !== undefined) requirePrecondition(conditions.ifMatch, before);
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

export async function deleteEmail(deps: Deps, account: AccountRef, input: unknown, context: AuditContext = ADMIN_CONTEXT, conditions: WriteConditions = {}): Promise<void> {
  const address = requireAddress(input);
  try {
    await deps.store.write(async (trx) => {
      const before = await listTagBefore(deps, trx, account, conditions.ifMatch);
      const deleted = await deleteSecondaryEmail(trx, account.id, address.key);
      if (deleted) {
        await recordEmailEvent(deps, trx, context, 'email_removed', account, deleted.email);
        if (before !== undefined) requirePrecondition(conditions.ifMatch, before);
        return;
      }
      const existing = await findEmailByKey(trx, address.key);
      if (existing?.user_id === account.id && existing.is_primary === 1) throw new ApiError('primary_email');
      throw new ApiError('email_not_found');
    });
  } catch (error) {
    if (constraintViolation(error)?.kind === 'trigger') throw new ApiError('primary_email');
    throw error;
  }
}
