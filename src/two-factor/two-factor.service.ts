// Two-factor authentication: an authenticator app (TOTP, ./totp.ts), passkeys (./passkeys.ts) and
// recovery codes (./recovery-codes.ts). Two-factor is "on" for an account when it has a confirmed
// authenticator app or at least one passkey; then
// - the login pages ask for the second factor after the password (the sign-in core's seam,
//   `secondFactorGate`, answers 'required'), and a passkey alone also signs in;
// - HTTP Basic with the password is refused on the API ('refused'): tokens only (Docker Hub's rule);
// - turning it off and deleting the account ask for a factor again.
// Recovery codes are made when two-factor turns on (and when asked again), shown once.
// Every change is audited and mailed to the primary address: someone who did not make it learns
// of it.
import { ApiError } from '../kernel/errors.ts';
import type { Deps } from '../kernel/deps.ts';
import type { AccountRef } from '../auth/principal.ts';
import type { SecondFactorGate } from '../auth/sign-in.ts';
import { ADMIN_CONTEXT, type AuditContext } from '../audit/audit-events.ts';
import { recordAuditEvent } from '../audit/audit.service.ts';
import type { Mailer } from '../mail/mailer.ts';
import { primaryAddressOf } from '../emails/emails.service.ts';
import { newRecoveryCodes, normalizeRecoveryCode, recoveryCodeDigest } from './recovery-codes.ts';
import { newTotpSecret, normalizeTotpCode, stepOfCode, totpUri } from './totp.ts';
import {
  countAccountsWithFactors,
  countUnusedRecoveryCodes,
  deletePasskeys,
  deleteRecoveryCodes,
  deleteTotp,
  deleteUserSignInSteps,
  findTotp,
  hasSecondFactor,
  listPasskeys,
  putPendingTotp,
  replaceRecoveryCodes,
  spendRecoveryCode,
  spendTotpStep,
  type Passkey,
} from './two-factor.repository.ts';

export type TwoFactorDeps = Deps & { mailer: Mailer };

/** The factor given at a sign-in, as sessions and the audit trail name it. */
export type FactorMethod = 'totp' | 'passkey' | 'recovery_code';

export type TwoFactorStatus = {
  on: boolean;
  totp: 'off' | 'pending' | 'on';
  passkeys: Passkey[];
  recoveryCodesLeft: number;
};

const totpContext = (userId: number) => `totp:${userId}`;

export async function twoFactorStatus(deps: Deps, userId: number): Promise<TwoFactorStatus> {
  const [totp, passkeys, recoveryCodesLeft] = await Promise.all([findTotp(deps.store.db, userId), listPasskeys(deps.store.db, userId), countUnusedRecoveryCodes(deps.store.db, userId)]);
  const totpState = !totp ? 'off' : totp.confirmed_at === null ? 'pending' : 'on';
  return { on: totpState === 'on' || passkeys.length > 0, totp: totpState, passkeys, recoveryCodesLeft };
}

/** How many accounts have two-factor on (what `accounts export` leaves out says it). */
export function countAccountsWithTwoFactor(deps: Deps): Promise<number> {
  return countAccountsWithFactors(deps.store.db);
}

/**
 * After a factor was added or removed: whether the API takes this account's password may have
 * changed, and the sign-in caches of every process remember that it did (src/auth/auth-cache.ts).
 */
export function secondFactorChanged(deps: Deps, userId: number): void {
  deps.credentialEvents.changed({ userId, kind: 'second_factor' });
}

export async function isTwoFactorOn(deps: Deps, userId: number): Promise<boolean> {
  return hasSecondFactor(deps.store.db, userId);
}

/**
 * The sign-in core's seam (src/auth/sign-in.ts): with two-factor on, the login pages ask for the
 * second factor and the API refuses the password; with REQUIRE_2FA, an account without one signs
 * in on the pages only to set one up.
 */
export function secondFactorGate(deps: Deps): SecondFactorGate {
  return async (account, via) => {
    if (via === 'password_check') return 'none';
    const on = await isTwoFactorOn(deps, account.id);
    if (via === 'api') return on ? 'refused' : 'none';
    if (on) return 'required';
    return deps.config.require2fa ? 'enroll' : 'none';
  };
}

// ---- the authenticator app ----

export type TotpSetup = { secret: string; uri: string };

/**
 * Starts (or shows again) the set-up of an authenticator app: a new secret, kept sealed until the
 * person types a code from it. Refused when one is already on (remove it first).
 */
export async function startTotpSetup(deps: Deps, account: AccountRef): Promise<TotpSetup> {
  const existing = await findTotp(deps.store.db, account.id);
  if (existing?.confirmed_at) throw new ApiError('invalid', { detail: 'An authenticator app is already set up; remove it first to set up another.' });
  if (existing) {
    const secret = await deps.secrets.open(existing.secret, totpContext(account.id));
    if (secret !== undefined) return { secret, uri: totpUri(secret, account.username, deps.config.serviceName) };
  }
  const secret = newTotpSecret();
  const sealed = await deps.secrets.seal(secret, totpContext(account.id));
  if (!(await deps.store.write((trx) => putPendingTotp(trx, account.id, sealed, deps.clock.nowIso())))) {
    throw new ApiError('invalid', { detail: 'An authenticator app is already set up; remove it first to set up another.' });
  }
  return { secret, uri: totpUri(secret, account.username, deps.config.serviceName) };
}

/** The set-up in progress, if any (to show the page again). */
export async function pendingTotpSetup(deps: Deps, account: AccountRef): Promise<TotpSetup | undefined> {
  const existing = await findTotp(deps.store.db, account.id);
  if (!existing || existing.confirmed_at) return undefined;
  const secret = await deps.secrets.open(existing.secret, totpContext(account.id));
  return secret === undefined ? undefined : { secret, uri: totpUri(secret, account.username, deps.config.serviceName) };
}

/**
 * Turns the authenticator app on, given a code from it. The recovery codes to show, when
 * two-factor was off until now; none when it was already on (a passkey).
 */
export async function confirmTotp(deps: TwoFactorDeps, account: AccountRef, input: string, context: AuditContext): Promise<{ recoveryCodes?: string[] }> {
  const code = normalizeTotpCode(input);
  const row = await findTotp(deps.store.db, account.id);
  if (!row || row.confirmed_at) throw new ApiError('invalid', { fieldErrors: { code: ['Start the set-up again: there is no authenticator app being set up.'] } });
  const secret = await deps.secrets.open(row.secret, totpContext(account.id));
  const step = code && secret ? stepOfCode(secret, code, deps.clock.nowMs()) : undefined;
  if (step === undefined) throw new ApiError('invalid', { fieldErrors: { code: ['This is not the code the app shows now. Check the app’s clock, then type the 6 digits it shows.'] } });
  const wasOn = await isTwoFactorOn(deps, account.id);
  const codes = wasOn ? undefined : newRecoveryCodes();
  const confirmed = await deps.store.write(async (trx) => {
    if (!(await spendTotpStep(trx, account.id, step, deps.clock.nowIso()))) return false;
    if (codes) await replaceRecoveryCodes(trx, account.id, codes.map((c) => recoveryCodeDigest(normalizeRecoveryCode(c)!)), deps.clock.nowIso());
    await recordAuditEvent(deps, { ...auditBase(account, context), event: 'second_factor_added', outcome: 'success', detail: { method: 'totp' } }, trx);
    return true;
  });
  if (!confirmed) throw new ApiError('invalid', { fieldErrors: { code: ['This code was used already. Wait for the next one.'] } });
  secondFactorChanged(deps, account.id);
  await notify(deps, account.id, 'An authenticator app was added to your account', 'An authenticator app was set up as a second factor for your account');
  return codes ? { recoveryCodes: codes } : {};
}

export async function removeTotp(deps: TwoFactorDeps, account: AccountRef, context: AuditContext): Promise<void> {
  const removed = await deps.store.write(async (trx) => {
    const n = await deleteTotp(trx, account.id);
    if (n > 0) await recordAuditEvent(deps, { ...auditBase(account, context), event: 'second_factor_removed', outcome: 'success', detail: { method: 'totp' } }, trx);
    return n;
  });
  if (removed > 0) await afterFactorRemoved(deps, account, 'The authenticator app was removed from your account', 'The authenticator app was removed from your account');
}

// ---- second factors given at a sign-in or before an action ----

/**
 * Checks a code typed as the second factor: six digits from the authenticator app (each time
 * step accepted once, ±1 step of drift), or a recovery code (used up). The factor, or undefined.
 * Counting wrong codes is the caller's: SignIn.secondFactor puts this behind the brute-force limits.
 */
export async function checkCode(deps: TwoFactorDeps, account: AccountRef, input: string, context: AuditContext): Promise<FactorMethod | undefined> {
  const totpCode = normalizeTotpCode(input);
  if (totpCode) {
    const row = await findTotp(deps.store.db, account.id);
    if (!row?.confirmed_at) return undefined;
    const secret = await deps.secrets.open(row.secret, totpContext(account.id));
    const step = secret ? stepOfCode(secret, totpCode, deps.clock.nowMs()) : undefined;
    if (step === undefined) return undefined;
    // A code seen before (replayed, or an older one of the window) is refused.
    return (await deps.store.write((trx) => spendTotpStep(trx, account.id, step))) ? 'totp' : undefined;
  }
  const recovery = normalizeRecoveryCode(input);
  if (!recovery) return undefined;
  const used = await deps.store.write(async (trx) => {
    if (!(await spendRecoveryCode(trx, account.id, recoveryCodeDigest(recovery), deps.clock.nowIso()))) return false;
    await recordAuditEvent(deps, { ...auditBase(account, context), event: 'recovery_code_used', outcome: 'success', detail: { left: await countUnusedRecoveryCodes(trx, account.id) } }, trx);
    return true;
  });
  if (!used) return undefined;
  const left = await countUnusedRecoveryCodes(deps.store.db, account.id);
  await notify(
    deps,
    account.id,
    'A recovery code was used',
    `A recovery code was used to sign in to your account; ${left} of them ${left === 1 ? 'is' : 'are'} left. If it was you and you lost your authenticator, set up a new one and make new recovery codes on your account page. If it was not you, set a new password at once`,
  );
  return 'recovery_code';
}

// ---- recovery codes, turning off, the operator's reset ----

export async function regenerateRecoveryCodes(deps: TwoFactorDeps, account: AccountRef, context: AuditContext): Promise<string[]> {
  if (!(await isTwoFactorOn(deps, account.id))) throw new ApiError('invalid', { detail: 'Recovery codes come with two-factor authentication: set up an authenticator app or a passkey first.' });
  const codes = newRecoveryCodes();
  await deps.store.write(async (trx) => {
    await replaceRecoveryCodes(trx, account.id, codes.map((c) => recoveryCodeDigest(normalizeRecoveryCode(c)!)), deps.clock.nowIso());
    await recordAuditEvent(deps, { ...auditBase(account, context), event: 'recovery_codes_generated', outcome: 'success', detail: null }, trx);
  });
  await notify(deps, account.id, 'New recovery codes were made', 'New recovery codes were made for your account; the old ones no longer work');
  return codes;
}

/** Removes every second factor: by the person (`self`, after a factor was given) or an operator (`accounts user 2fa-reset`). */
export async function turnOffTwoFactor(deps: TwoFactorDeps, account: AccountRef, context: AuditContext = ADMIN_CONTEXT): Promise<{ removed: boolean }> {
  const removed = await deps.store.write(async (trx) => {
    const n = (await deleteTotp(trx, account.id)) + (await deletePasskeys(trx, account.id));
    await deleteRecoveryCodes(trx, account.id);
    await deleteUserSignInSteps(trx, account.id);
    const event = context.actor === 'admin' ? 'two_factor_reset' : 'two_factor_disabled';
    await recordAuditEvent(deps, { ...auditBase(account, context), event, outcome: 'success', detail: { factors_removed: n } }, trx);
    return n > 0;
  });
  secondFactorChanged(deps, account.id);
  await notify(
    deps,
    account.id,
    'Two-factor authentication was turned off',
    context.actor === 'admin'
      ? 'An administrator turned two-factor authentication off for your account (every authenticator app, passkey and recovery code was removed), as asked when every factor was lost'
      : 'Two-factor authentication was turned off for your account: its authenticator app, passkeys and recovery codes were removed',
  );
  return { removed };
}

export async function afterFactorRemoved(deps: TwoFactorDeps, account: AccountRef, subject: string, sentence: string): Promise<void> {
  secondFactorChanged(deps, account.id);
  // The last factor gone: two-factor is off, and the recovery codes go with it.
  if (!(await isTwoFactorOn(deps, account.id))) await deps.store.write((trx) => deleteRecoveryCodes(trx, account.id));
  await notify(deps, account.id, subject, sentence);
}

export function auditBase(account: AccountRef, context: AuditContext) {
  return { actor: context.actor, clientIp: context.clientIp ?? null, userId: account.id, username: account.username };
}

/** A mail to the primary address about a change of second factors, after it committed. */
export async function notify(deps: TwoFactorDeps, userId: number, subject: string, sentence: string): Promise<void> {
  const to = await primaryAddressOf(deps, userId);
  if (!to) return;
  const { publicUrl, serviceName } = deps.config;
  deps.mailer.send({
    to: to.email,
    subject,
    text: [
      `Hello ${to.username},`,
      '',
      `${sentence} (account "${to.username}" at ${serviceName}, ${deps.clock.nowIso().slice(0, 16).replace('T', ' ')} UTC).`,
      '',
      'Your second factors are on your account page:',
      `${publicUrl}/account/`,
      '',
      'If this was not you, someone may know your password: set a new one at once:',
      `${publicUrl}/account/forgot-password`,
      '',
    ].join('\n'),
  });
}
