// Setting a new password when the old one is forgotten.
//
// Asking: a username or a verified address of the account. If it names an active account with a
// verified primary address, a link is mailed there; whatever happens, the asker is told the same
// thing, so the form tells nobody which accounts exist. The link carries 32 random bytes
// (base64url); only their SHA-256 digest is stored. It works once and for 1 hour.
//
// Using it: the new password is set through the users feature (setPassword), with the link claimed
// and every session of the account page ended in the same transaction; setPassword's credential
// events end the authorization server's login sessions in that commit and empty every process's
// credential caches. Personal access tokens and applications' grants are kept: the person
// who forgot a password has not necessarily lost them, and revoking them is one click on the
// account page (the mail says so).
import { randomBytes } from 'node:crypto';
import { sha256Hex } from '../kernel/crypto.ts';
import { formatDate } from '../kernel/clock.ts';
import { ApiError } from '../kernel/errors.ts';
import type { Deps } from '../kernel/deps.ts';
import { parseEmail } from '../kernel/email-address.ts';
import { ADMIN_CONTEXT, type AuditContext } from '../audit/audit-events.ts';
import { recordAuditEvent } from '../audit/audit.service.ts';
import { passwordProblem } from '../auth/passwords.ts';
import type { Mailer } from '../mail/mailer.ts';
import { setPassword } from '../users/users.service.ts';
import { primaryAddressOf } from '../emails/emails.service.ts';
import type { ResetThrottle } from './password-reset-throttle.ts';
import {
  claimPasswordReset,
  closeOpenResets,
  deleteExpiredResets,
  findResetAccountByUsername,
  findResetAccountByVerifiedEmail,
  findResetByDigest,
  insertPasswordReset,
  type ResetAccount,
} from './password-reset.repository.ts';
import { deleteUserSessions } from './sessions.repository.ts';

export const RESET_LINK_LIFETIME_MS = 60 * 60 * 1000;
export const FORGOT_PASSWORD_PATH = '/account/forgot-password';
export const RESET_PASSWORD_PATH = '/account/reset-password';
// Links expired this long ago are deleted when a new one is made: kept a while, so that opening
// an old link still says "expired" rather than "not valid".
const KEEP_EXPIRED_MS = 7 * 24 * 60 * 60 * 1000;

export type MailingDeps = Deps & { mailer: Mailer };
export type ResetDeps = MailingDeps & { resetThrottle: ResetThrottle };

export function resetLink(publicUrl: string, token: string): string {
  return `${publicUrl}${RESET_PASSWORD_PATH}?token=${token}`;
}

function forgotPasswordUrl(publicUrl: string): string {
  return `${publicUrl}${FORGOT_PASSWORD_PATH}`;
}

/** A username, or an address (then only a verified one finds the account). */
async function findAccount(deps: Deps, identifier: string): Promise<ResetAccount | undefined> {
  if (identifier.includes('@')) {
    const parsed = parseEmail(identifier);
    return 'error' in parsed ? undefined : findResetAccountByVerifiedEmail(deps.store.db, parsed.key);
  }
  return findResetAccountByUsername(deps.store.db, identifier.toLowerCase());
}

/** Stores a new link for the user, audited; returns its token. */
async function issueLink(deps: Deps, user: { id: number; username: string }, context: AuditContext, via: 'mail' | 'cli'): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  const now = deps.clock.nowMs();
  await deps.store.write(async (trx) => {
    await deleteExpiredResets(trx, formatDate(new Date(now - KEEP_EXPIRED_MS)));
    await insertPasswordReset(trx, {
      user_id: user.id,
      token_digest: sha256Hex(token),
      created_at: deps.clock.nowIso(),
      expires_at: formatDate(new Date(now + RESET_LINK_LIFETIME_MS)),
      used_at: null,
    });
    await recordAuditEvent(deps, { ...context, event: 'password_reset_requested', userId: user.id, username: user.username, detail: { via } }, trx);
  });
  return token;
}

/**
 * The forgotten-password form. Never says whether anything matched: the page that follows is the
 * same in every case. Past the per-account limit nothing is mailed, and the refusal is audited.
 */
export async function requestPasswordReset(deps: ResetDeps, identifier: string, context: AuditContext): Promise<void> {
  const account = await findAccount(deps, identifier.trim());
  if (!account || account.is_active !== 1 || account.verified_primary === null) return;
  if (!(await deps.resetThrottle.consumeAccount(account.id))) {
    await recordAuditEvent(deps, { ...context, event: 'password_reset_requested', outcome: 'denied', userId: account.id, username: account.username, detail: { via: 'mail' } });
    return;
  }
  const token = await issueLink(deps, account, context, 'mail');
  const service = deps.config.serviceName;
  deps.mailer.send({
    to: account.verified_primary,
    subject: 'Set a new password',
    text: [
      `Hello ${account.username},`,
      '',
      `Someone, hopefully you, asked to set a new password for the account "${account.username}" at ${service}.`,
      'To choose a new password, open this link:',
      '',
      resetLink(deps.config.publicUrl, token),
      '',
      'The link works once and expires in 1 hour. Setting a new password logs you out everywhere you are logged in;',
      'your personal access tokens and the applications you allowed keep working.',
      '',
      'If you did not ask for this, ignore this message: your password stays as it is.',
      '',
    ].join('\n'),
  });
}

/** `accounts user reset-link`: a link for an operator to hand over; nothing is mailed. */
export async function createResetLink(deps: Deps, username: string, context: AuditContext = ADMIN_CONTEXT): Promise<{ link: string; expiresAt: string }> {
  const account = await findResetAccountByUsername(deps.store.db, username.toLowerCase());
  if (!account) throw new ApiError('not_found', { detail: `No user is called "${username}".` });
  if (account.is_active !== 1) throw new ApiError('invalid', { detail: `The account "${account.username}" is deactivated; activate it first.` });
  const token = await issueLink(deps, account, context, 'cli');
  return { link: resetLink(deps.config.publicUrl, token), expiresAt: formatDate(new Date(deps.clock.nowMs() + RESET_LINK_LIFETIME_MS)) };
}

export type ResetLinkState = { state: 'valid'; username: string } | { state: 'unknown' } | { state: 'used' } | { state: 'expired' };

function isToken(token: unknown): token is string {
  return typeof token === 'string' && /^[A-Za-z0-9_-]{43}$/.test(token);
}

/** What the reset page shows for a link; changes nothing. */
export async function inspectResetLink(deps: Deps, token: unknown): Promise<ResetLinkState> {
  if (!isToken(token)) return { state: 'unknown' };
  const row = await findResetByDigest(deps.store.db, sha256Hex(token));
  // A deactivated account's link is no link: its password does not let anyone in anyway.
  if (!row || row.is_active !== 1) return { state: 'unknown' };
  if (row.used_at !== null) return { state: 'used' };
  if (row.expires_at <= deps.clock.nowIso()) return { state: 'expired' };
  return { state: 'valid', username: row.username };
}

/** Thrown inside the transaction when the link was used or expired meanwhile: undoes the change. */
class LinkNotUsable extends Error {
  readonly state: Exclude<ResetLinkState['state'], 'valid'>;
  constructor(state: Exclude<ResetLinkState['state'], 'valid'>) {
    super(`reset link ${state}`);
    this.state = state;
  }
}

/**
 * Sets the new password with the link. A password the rules refuse is a 400 naming `password`,
 * and the link stays good; otherwise the link is spent, whoever else tries it.
 */
export async function resetPassword(deps: MailingDeps, token: unknown, password: string, context: AuditContext): Promise<ResetLinkState> {
  const link = await inspectResetLink(deps, token);
  if (link.state !== 'valid' || !isToken(token)) return link;
  const problem = passwordProblem(password, { minLength: deps.config.passwordMinLength, username: link.username });
  if (problem) throw new ApiError('invalid', { fieldErrors: { password: [problem] } });
  const digest = sha256Hex(token);
  let userId: number | undefined;
  try {
    await setPassword(deps, link.username, password, context, async (trx, user) => {
      const now = deps.clock.nowIso();
      if ((await claimPasswordReset(trx, digest, now)) !== user.id) {
        const row = await findResetByDigest(trx, digest);
        throw new LinkNotUsable(!row ? 'unknown' : row.used_at !== null ? 'used' : 'expired');
      }
      await closeOpenResets(trx, user.id, now);
      // Whoever was logged in with the old password is logged out: every session of the account page.
      await deleteUserSessions(trx, user.id);
      await recordAuditEvent(deps, { ...context, event: 'password_reset', userId: user.id, username: user.username }, trx);
      userId = user.id;
    });
  } catch (error) {
    if (error instanceof LinkNotUsable) return { state: error.state };
    throw error;
  }
  if (userId !== undefined) await sendPasswordChangedNotice(deps, userId, 'reset');
  return link;
}

/**
 * Tells the primary address that the password changed, so that someone whose password was
 * changed by another learns of it. Sent after the change has committed.
 */
export async function sendPasswordChangedNotice(deps: MailingDeps, userId: number, how: 'account_page' | 'reset'): Promise<void> {
  const to = await primaryAddressOf(deps, userId);
  if (!to) return;
  const { publicUrl, serviceName } = deps.config;
  deps.mailer.send({
    to: to.email,
    subject: 'Your password was changed',
    text: [
      `Hello ${to.username},`,
      '',
      `The password of your account "${to.username}" at ${serviceName} was changed ${how === 'reset' ? 'with a password reset link' : 'on the account page'}, at ${deps.clock.nowIso().slice(0, 16).replace('T', ' ')} UTC.`,
      how === 'reset'
        ? 'Every session of the account was logged out. Your personal access tokens and the applications you allowed keep working; you can revoke them on your account page:'
        : 'Your other sessions were logged out. Your personal access tokens and the applications you allowed keep working; you can revoke them on your account page:',
      `${publicUrl}/account/`,
      '',
      'If you did not change it, someone else knows your password or can read your mail: set a new password at once with this page, then check your tokens and applications:',
      forgotPasswordUrl(publicUrl),
      '',
    ].join('\n'),
  });
}

/**
 * Tells the primary address that a personal access token was made on the account page: a token
 * is a password for the API, so someone who made one in a session they should not have had
 * must not go unnoticed. The token itself is never in the mail. Sent after the token committed.
 */
export async function sendTokenCreatedNotice(deps: MailingDeps, userId: number, token: { name: string; scopes: readonly string[]; expiresAt: string | null }): Promise<void> {
  const to = await primaryAddressOf(deps, userId);
  if (!to) return;
  const { publicUrl, serviceName } = deps.config;
  deps.mailer.send({
    to: to.email,
    subject: 'A new personal access token was created',
    text: [
      `Hello ${to.username},`,
      '',
      `A personal access token named "${token.name}" was created for your account "${to.username}" at ${serviceName}, at ${deps.clock.nowIso().slice(0, 16).replace('T', ' ')} UTC.`,
      `Scopes: ${token.scopes.join(', ')}. Expires: ${token.expiresAt === null ? 'never' : `${token.expiresAt.slice(0, 10)}`}.`,
      '',
      'If you did not make it, revoke it on your account page at once and set a new password:',
      `${publicUrl}/account/`,
      '',
    ].join('\n'),
  });
}
