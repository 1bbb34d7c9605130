// Self-service sign-up (SIGNUP=open or invite) and the operator's invitations.
//
// A new account's primary address is unverified, and a verification link is mailed at once (the
// emails feature's own links and page); the sign-in core refuses the password until the address
// is verified. The answer never says whether an address is taken: the page says "check your mail"
// either way, and the owner of a taken address gets a mail saying someone tried. A taken
// username is said (usernames are public in the API). The database's unique indexes decide both,
// so two sign-ups at once cannot take one name or one address.
//
// An invitation is a link the operator makes for one address: 32 random bytes (base64url), of
// which only the SHA-256 digest is stored; it works once, for that address, until it expires.
import type { RateLimitReport } from '../kernel/rate-limit-fields.ts';
import { randomBytes } from 'node:crypto';
import { sha256Hex } from '../kernel/crypto.ts';
import { formatDate } from '../kernel/clock.ts';
import { ApiError } from '../kernel/errors.ts';
import type { Deps } from '../kernel/deps.ts';
import { parseEmail, type ParsedEmail } from '../kernel/email-address.ts';
import { recordAuditEvent } from '../audit/audit.service.ts';
import { createUser } from '../users/users.service.ts';
import { requestVerification, type VerificationDeps } from '../emails/verification.service.ts';
import { listUserEmails } from '../emails/emails.service.ts';
import type { AccountRef } from '../auth/principal.ts';
import { claimInvitation, findInvitationByDigest, insertInvitation } from './invitations.repository.ts';
import type { SignupThrottle } from './signup-throttle.ts';

export const SIGNUP_PAGE_PATH = '/account/signup';
export const DEFAULT_INVITATION_LIFETIME_MS = 7 * 86_400_000;

export type SignupDeps = VerificationDeps & { signupThrottle: SignupThrottle };

export function invitationLink(publicUrl: string, token: string): string {
  return `${publicUrl}${SIGNUP_PAGE_PATH}?invitation=${token}`;
}

function parseAddress(input: unknown): ParsedEmail {
  const parsed = typeof input === 'string' && input.trim() !== '' ? parseEmail(input.trim()) : { error: 'This field is required.' };
  if ('error' in parsed) throw new ApiError('invalid', { fieldErrors: { email: [parsed.error] } });
  return parsed;
}

/** Makes an invitation for one address (`accounts invite create`); the link is shown only this once. */
export async function createInvitation(deps: Deps, input: { email: string; expiresInMs?: number }): Promise<{ link: string; email: string; expiresAt: string }> {
  const address = parseAddress(input.email);
  const token = randomBytes(32).toString('base64url');
  const expiresAt = formatDate(new Date(deps.clock.nowMs() + (input.expiresInMs ?? DEFAULT_INVITATION_LIFETIME_MS)));
  await deps.store.write((trx) =>
    insertInvitation(trx, { email: address.display, email_key: address.key, token_digest: sha256Hex(token), created_at: deps.clock.nowIso(), expires_at: expiresAt, used_at: null }),
  );
  return { link: invitationLink(deps.config.publicUrl, token), email: address.display, expiresAt };
}

export type InvitationState = { state: 'valid'; email: string; emailKey: string } | { state: 'unknown' } | { state: 'used' } | { state: 'expired' };

function isToken(token: unknown): token is string {
  return typeof token === 'string' && /^[A-Za-z0-9_-]{43}$/.test(token);
}

/** What the sign-up page says of an invitation link; changes nothing. */
export async function inspectInvitation(deps: Deps, token: unknown): Promise<InvitationState> {
  if (!isToken(token)) return { state: 'unknown' };
  const row = await findInvitationByDigest(deps.store.db, sha256Hex(token));
  if (!row) return { state: 'unknown' };
  if (row.used_at !== null) return { state: 'used' };
  if (row.expires_at <= deps.clock.nowIso()) return { state: 'expired' };
  return { state: 'valid', email: row.email, emailKey: row.email_key };
}

/** The 403 of a sign-up that needs an invitation it does not have; `internal` says which state. */
function refusedInvitation(state: Exclude<InvitationState['state'], 'valid'> | 'missing'): ApiError {
  return new ApiError('permission_denied', { detail: 'Signing up needs a valid invitation.', internal: state });
}

export type SignupInput = { username: string; email: string; password: string; invitation?: string | undefined; ip: string; report?: RateLimitReport | undefined };

/**
 * Makes an account with an unverified address and mails its verification link; or, when the
 * address is taken, mails its owner instead and answers the same. Throws a 400 with field errors
 * (the username, a malformed address, the password), the 403 of a missing or spent invitation,
 * or the 429 of the per-IP limit.
 */
export async function signUp(deps: SignupDeps, input: SignupInput): Promise<void> {
  const mode = deps.config.signup;
  if (mode === 'closed') throw new ApiError('not_found');
  await deps.signupThrottle.consume(input.ip, input.report);

  // A malformed address is reported by createUser, with the other fields' problems.
  const parsed = parseEmail(input.email.trim());
  const address = 'error' in parsed ? undefined : parsed;
  let invitationDigest: string | undefined;
  if (mode === 'invite') {
    if (input.invitation === undefined || input.invitation === '') throw refusedInvitation('missing');
    const invitation = await inspectInvitation(deps, input.invitation);
    if (invitation.state !== 'valid') throw refusedInvitation(invitation.state);
    if (address !== undefined && invitation.emailKey !== address.key) {
      throw new ApiError('invalid', { fieldErrors: { email: [`This invitation is for ${invitation.email}; sign up with that address.`] } });
    }
    invitationDigest = sha256Hex(input.invitation);
  }

  const username = input.username.trim().toLowerCase();
  let user: { id: number; username: string; email: string };
  try {
    user = await createUser(deps, {
      username,
      email: input.email.trim(),
      password: input.password,
      unverified: true,
      within: async (trx, account) => {
        // Used up in the account's own transaction: a sign-up that fails leaves it unused, and of
        // two at once with one link, only one commits.
        if (address === undefined) throw new Error('unreachable: createUser checks the address first');
        if (invitationDigest !== undefined && !(await claimInvitation(trx, invitationDigest, address.key, deps.clock.nowIso()))) throw refusedInvitation('used');
        const detail = { email: address.display, invited: invitationDigest !== undefined };
        await recordAuditEvent(deps, { actor: 'self', clientIp: input.ip, event: 'signed_up', userId: account.id, username: account.username, detail }, trx);
      },
    });
  } catch (error) {
    // For a well-formed address, the only address error left is the unique index's: the address
    // belongs to an account already.
    if (address !== undefined && error instanceof ApiError && error.code === 'invalid' && error.fieldErrors?.email && Object.keys(error.fieldErrors).length === 1) {
      await warnOwner(deps, address);
      return;
    }
    throw error;
  }
  await requestVerification(deps, { id: user.id, username: user.username }, user.email).catch((error: unknown) => {
    // Past the per-address limit of mails (an address mailed often lately): the account is made
    // all the same, and logging in with its password sends a link later (resendSignupVerification).
    if (!(error instanceof ApiError && error.code === 'too_many_requests')) throw error;
  });
}

/**
 * A new verification link for the unverified primary address of an account that gave its right
 * password at the login form; nothing past the per-address limit of mails (an earlier link still works).
 */
export async function resendSignupVerification(deps: VerificationDeps, account: AccountRef): Promise<void> {
  const primary = (await listUserEmails(deps, account)).find((e) => e.primary && !e.verified);
  if (!primary) return;
  try {
    await requestVerification(deps, account, primary.email);
  } catch (error) {
    if (error instanceof ApiError && error.code === 'too_many_requests') return;
    throw error;
  }
}

/** Tells the owner of a taken address that someone tried to sign up with it; within the per-address limit of mails. */
async function warnOwner(deps: SignupDeps, address: ParsedEmail): Promise<void> {
  try {
    await deps.verificationThrottle.consume(address.key);
  } catch (error) {
    // Past the limit the mail is not sent; the page answers the same, so nothing is told.
    if (error instanceof ApiError && error.code === 'too_many_requests') return;
    throw error;
  }
  deps.mailer.send({
    to: address.display,
    subject: 'Someone tried to sign up with your address',
    text: [
      'Hello,',
      '',
      `Someone, perhaps you, tried to create an account at ${deps.config.publicUrl} with ${address.display}.`,
      'This address already belongs to an account, so no account was made and nothing was changed.',
      '',
      `If it was you, log in to your account instead: ${deps.config.publicUrl}/account/login`,
      'If it was not you, you can ignore this message.',
      '',
    ].join('\n'),
  });
}
