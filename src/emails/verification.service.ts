// Verifying an address and making it primary.
//
// Sending a link: the address must be one of the user's and not yet verified; at most 5 mails per
// address per hour. The link carries 32 random bytes (base64url); only their SHA-256 digest is
// stored. It expires after 24 hours and works once. Opening it shows a page; only submitting that
// page verifies (mail scanners follow links).
import type { RateLimitReport } from '../kernel/rate-limit-fields.ts';
import { sha256Hex } from '../kernel/crypto.ts';
import { randomBytes } from 'node:crypto';
import { ApiError } from '../kernel/errors.ts';
import type { Deps } from '../kernel/deps.ts';
import { formatDate } from '../kernel/clock.ts';
import { ADMIN_CONTEXT, type AuditContext } from '../audit/audit-events.ts';
import { recordAuditEvent } from '../audit/audit.service.ts';
import type { Mailer } from '../mail/mailer.ts';
import type { AccountRef } from '../auth/principal.ts';
import { constraintViolation } from '../kernel/db/store.ts';
import { findEmailByKey, listEmails } from './emails.repository.ts';
import { presentEmail, requireAddress, type EmailRepresentation } from './emails.service.ts';
import type { VerificationThrottle } from './verification-throttle.ts';
import {
  claimVerification,
  findVerificationByDigest,
  insertEmailVerification,
  lockUserForEmailChange,
  makePrimary,
  markEmailVerified,
} from './verification.repository.ts';

export const VERIFICATION_LINK_LIFETIME_MS = 24 * 60 * 60 * 1000;
export const VERIFY_PAGE_PATH = '/account/verify-email';

export type VerificationDeps = Deps & { mailer: Mailer; verificationThrottle: VerificationThrottle };

export function verificationLink(publicUrl: string, token: string): string {
  return `${publicUrl}${VERIFY_PAGE_PATH}?token=${token}`;
}

/** Sends a verification link to one of the user's unverified addresses. The mail leaves after this returns. */
export async function requestVerification(deps: VerificationDeps, account: AccountRef, input: unknown, report?: RateLimitReport): Promise<{ email: string }> {
  const address = requireAddress(input);
  const email = await findEmailByKey(deps.store.db, address.key);
  // Another account's address is "not yours" too: the answer does not say whose it is.
  if (!email || email.user_id !== account.id) throw new ApiError('invalid', { fieldErrors: { email: ['This user has no such email address.'] } });
  if (email.verified === 1) throw new ApiError('invalid', { fieldErrors: { email: ['This email address is already verified.'] } });
  await deps.verificationThrottle.consume(address.key, report);

  const token = randomBytes(32).toString('base64url');
  const now = deps.clock.nowMs();
  const { username } = account;
  await deps.store
    .write(async (trx) => {
      await insertEmailVerification(trx, {
        email_id: email.id,
        token_digest: sha256Hex(token),
        created_at: deps.clock.nowIso(),
        expires_at: formatDate(new Date(now + VERIFICATION_LINK_LIFETIME_MS)),
        used_at: null,
      });
    })
    .catch((error: unknown) => {
      // The address was deleted between the check above and this write.
      if (constraintViolation(error)?.kind === 'foreign_key') throw new ApiError('invalid', { fieldErrors: { email: ['This user has no such email address.'] } });
      throw error;
    });
  deps.mailer.send({
    to: email.email,
    subject: 'Confirm your email address',
    text: [
      `Hello ${username},`,
      '',
      `Someone, hopefully you, asked to verify ${email.email} for the account "${username}" at ${deps.config.serviceName}.`,
      'To confirm that this address is yours, open this link and press Confirm:',
      '',
      verificationLink(deps.config.publicUrl, token),
      '',
      'The link works once and expires in 24 hours. If you did not ask for this, ignore this message:',
      'nothing changes until the link is confirmed.',
      '',
    ].join('\n'),
  });
  return { email: email.email };
}

export type LinkState =
  | { state: 'valid'; email: string; username: string }
  | { state: 'unknown' }
  | { state: 'used' }
  | { state: 'expired' };

function isToken(token: unknown): token is string {
  return typeof token === 'string' && /^[A-Za-z0-9_-]{43}$/.test(token);
}

/** What the confirmation page shows for a link; changes nothing. */
export async function inspectVerificationLink(deps: Deps, token: unknown): Promise<LinkState> {
  if (!isToken(token)) return { state: 'unknown' };
  const row = await findVerificationByDigest(deps.store.db, sha256Hex(token));
  if (!row) return { state: 'unknown' };
  if (row.used_at !== null) return { state: 'used' };
  if (row.expires_at <= deps.clock.nowIso()) return { state: 'expired' };
  return { state: 'valid', email: row.email, username: row.username };
}

/** Confirms a link: marks it used and its address verified, in one transaction. */
export async function confirmVerificationLink(deps: Deps, token: unknown, context: AuditContext = ADMIN_CONTEXT): Promise<LinkState> {
  if (!isToken(token)) return { state: 'unknown' };
  const digest = sha256Hex(token);
  return deps.store.write(async (trx): Promise<LinkState> => {
    const now = deps.clock.nowIso();
    const emailId = await claimVerification(trx, digest, now);
    const row = await findVerificationByDigest(trx, digest);
    if (emailId === undefined || !row) {
      if (!row) return { state: 'unknown' };
      return row.used_at !== null ? { state: 'used' } : { state: 'expired' };
    }
    await markEmailVerified(trx, emailId);
    await recordAuditEvent(deps, { ...context, event: 'email_verified', userId: row.user_id, username: row.username, detail: { email: row.email } }, trx);
    return { state: 'valid', email: row.email, username: row.username };
  });
}

/** Makes a verified address of the user primary; the old primary stays, as a secondary. */
export async function makeEmailPrimary(deps: Deps, account: AccountRef, input: unknown, context: AuditContext = ADMIN_CONTEXT): Promise<EmailRepresentation[]> {
  const address = requireAddress(input);
  return deps.store.write(async (trx) => {
    await lockUserForEmailChange(trx, deps.store.dialect, account.id);
    const email = await findEmailByKey(trx, address.key);
    if (!email || email.user_id !== account.id) throw new ApiError('email_not_found');
    if (email.is_primary !== 1) {
      if (email.verified !== 1) throw new ApiError('invalid', { fieldErrors: { email: ['Only a verified address can become the primary address.'] } });
      if (!(await makePrimary(trx, account.id, email.id))) throw new Error('a verified address of the user could not be promoted');
      await recordAuditEvent(deps, { ...context, event: 'email_made_primary', userId: account.id, username: account.username, detail: { email: email.email } }, trx);
    }
    return (await listEmails(trx, account.id)).map(presentEmail);
  });
}
