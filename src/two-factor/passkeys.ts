// Passkeys (WebAuthn Level 3, with @simplewebauthn/server): a second factor after the password,
// and a sign-in of their own (a discoverable credential: no username or password typed).
// - The relying party is PUBLIC_URL's host name, the expected origin PUBLIC_URL's origin (an IP
//   address cannot be a relying party: use a host name, localhost included).
// - Registration asks for a discoverable credential (residentKey: required) so that it can sign
//   in alone, and no attestation (we trust no vendor list; the key's public half is enough).
// - A passkey that signs in alone must have verified its user (PIN, fingerprint: userVerification
//   required): possession plus that is two factors. As a second factor after the password,
//   presence is enough.
// - Each ceremony's challenge is a sign-in step (./sign-in-steps.ts): used once, for 5 minutes.
// Loaded when a passkey is first used, not by every process (≈ 9 MB resident).
const webauthn = () => import('@simplewebauthn/server');
import type { AuthenticationResponseJSON, AuthenticatorTransport, RegistrationResponseJSON } from '@simplewebauthn/server';
import { ApiError } from '../kernel/errors.ts';
import type { Deps } from '../kernel/deps.ts';
import { CONTROL_CHARACTERS } from '../kernel/text.ts';
import type { AccountRef } from '../auth/principal.ts';
import type { AuditContext } from '../audit/audit-events.ts';
import { recordAuditEvent } from '../audit/audit.service.ts';
import { startStep, takeStep, STEP_SECONDS, type StepKind } from './sign-in-steps.ts';
import { deletePasskey, findPasskeyByCredentialId, insertPasskey, listPasskeys, renamePasskey, touchPasskey, type Passkey } from './two-factor.repository.ts';
import { afterFactorRemoved, auditBase, isTwoFactorOn, notify, secondFactorChanged, type TwoFactorDeps } from './two-factor.service.ts';
import { newRecoveryCodes, normalizeRecoveryCode, recoveryCodeDigest } from './recovery-codes.ts';
import { replaceRecoveryCodes } from './two-factor.repository.ts';

export const MAX_PASSKEYS = 20;
export const MAX_PASSKEY_NAME = 64;

/** What the browser's script is given: the options for navigator.credentials, and the step to send back. */
export type Ceremony = { step: string; mode: 'create' | 'get'; publicKey: unknown };

function relyingParty(deps: Deps): { id: string; origin: string } {
  const url = new URL(deps.config.publicUrl);
  return { id: url.hostname, origin: url.origin };
}

const transportsOf = (passkey: Passkey) => JSON.parse(passkey.transports) as AuthenticatorTransport[];

/** Options to add a passkey to the account (its current ones excluded, so one key is not added twice). */
export async function registrationCeremony(deps: Deps, account: AccountRef): Promise<Ceremony> {
  const existing = await listPasskeys(deps.store.db, account.id);
  if (existing.length >= MAX_PASSKEYS) throw new ApiError('invalid', { detail: `An account can have at most ${MAX_PASSKEYS} passkeys; remove one first.` });
  const options = await (await webauthn()).generateRegistrationOptions({
    rpName: deps.config.serviceName,
    rpID: relyingParty(deps).id,
    userName: account.username,
    userID: new TextEncoder().encode(String(account.id)),
    attestationType: 'none',
    timeout: STEP_SECONDS * 1000,
    excludeCredentials: existing.map((p) => ({ id: p.credential_id, transports: transportsOf(p) })),
    authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
  });
  const step = await startStep(deps, 'passkey_register', { userId: account.id, challenge: options.challenge });
  return { step, mode: 'create', publicKey: options };
}

/**
 * Adds the passkey the browser made. The recovery codes to show when this turned two-factor on.
 */
export async function finishRegistration(deps: TwoFactorDeps, account: AccountRef, input: { step: string; response: string; name: string }, context: AuditContext): Promise<{ recoveryCodes?: string[] }> {
  const name = input.name.trim() === '' ? 'Passkey' : input.name.trim();
  if (name.length > MAX_PASSKEY_NAME || CONTROL_CHARACTERS.test(name)) throw new ApiError('invalid', { fieldErrors: { name: [`At most ${MAX_PASSKEY_NAME} characters, on one line.`] } });
  const step = await takeStep(deps, 'passkey_register', input.step);
  if (!step || step.userId !== account.id || !step.challenge) throw new ApiError('invalid', { fieldErrors: { passkey: ['This took too long or was done twice. Try again.'] } });
  const response = parseJson<RegistrationResponseJSON>(input.response);
  const { id: rpId, origin } = relyingParty(deps);
  const verification = response
    ? await (await webauthn()).verifyRegistrationResponse({ response, expectedChallenge: step.challenge, expectedOrigin: origin, expectedRPID: rpId, requireUserVerification: false }).catch(() => undefined)
    : undefined;
  if (!verification?.verified) throw new ApiError('invalid', { fieldErrors: { passkey: ['The passkey could not be checked. Try again, or with another authenticator.'] } });
  const { credential, credentialBackedUp } = verification.registrationInfo;
  const wasOn = await isTwoFactorOn(deps, account.id);
  const codes = wasOn ? undefined : newRecoveryCodes();
  await deps.store
    .write(async (trx) => {
      await insertPasskey(trx, {
        user_id: account.id,
        credential_id: credential.id,
        public_key: Buffer.from(credential.publicKey).toString('base64url'),
        counter: credential.counter,
        transports: JSON.stringify(credential.transports ?? []),
        backed_up: credentialBackedUp ? 1 : 0,
        name,
        created_at: deps.clock.nowIso(),
        last_used_at: null,
      });
      if (codes) await replaceRecoveryCodes(trx, account.id, codes.map((c) => recoveryCodeDigest(normalizeRecoveryCode(c)!)), deps.clock.nowIso());
      await recordAuditEvent(deps, { ...auditBase(account, context), event: 'second_factor_added', outcome: 'success', detail: { method: 'passkey', name } }, trx);
    })
    .catch((error: unknown) => {
      // The credential id is unique: the same authenticator registered already (by anyone).
      if (/unique|duplicate/i.test(String(error))) throw new ApiError('invalid', { fieldErrors: { passkey: ['This passkey is registered already.'] } });
      throw error;
    });
  secondFactorChanged(deps, account.id);
  await notify(deps, account.id, 'A passkey was added to your account', `A passkey named "${name}" was added to your account`);
  return codes ? { recoveryCodes: codes } : {};
}

export async function renameAccountPasskey(deps: Deps, account: AccountRef, id: string | undefined, name: string | undefined): Promise<void> {
  const trimmed = (name ?? '').trim();
  if (trimmed === '' || trimmed.length > MAX_PASSKEY_NAME || CONTROL_CHARACTERS.test(trimmed)) throw new ApiError('invalid', { fieldErrors: { name: [`1 to ${MAX_PASSKEY_NAME} characters, on one line.`] } });
  if (!/^\d{1,15}$/.test(id ?? '') || !(await deps.store.write((trx) => renamePasskey(trx, account.id, Number(id), trimmed)))) throw new ApiError('not_found', { detail: 'You have no such passkey.' });
}

export async function removeAccountPasskey(deps: TwoFactorDeps, account: AccountRef, id: string | undefined, context: AuditContext): Promise<void> {
  if (!/^\d{1,15}$/.test(id ?? '')) throw new ApiError('not_found', { detail: 'You have no such passkey.' });
  const removed = await deps.store.write(async (trx) => {
    const row = await deletePasskey(trx, account.id, Number(id));
    if (row) await recordAuditEvent(deps, { ...auditBase(account, context), event: 'second_factor_removed', outcome: 'success', detail: { method: 'passkey', name: row.name } }, trx);
    return row;
  });
  if (!removed) throw new ApiError('not_found', { detail: 'You have no such passkey.' });
  await afterFactorRemoved(deps, account, 'A passkey was removed from your account', `The passkey named "${removed.name}" was removed from your account`);
}

/**
 * Options to sign in with a passkey: any discoverable passkey of this site (`account` undefined:
 * a passkey alone), or one of the account's (a second factor, or a confirmation).
 */
export async function assertionCeremony(deps: Deps, account?: AccountRef): Promise<Ceremony> {
  const passkeys = account ? await listPasskeys(deps.store.db, account.id) : [];
  if (account && passkeys.length === 0) throw new ApiError('invalid', { detail: 'This account has no passkey.' });
  const options = await (await webauthn()).generateAuthenticationOptions({
    rpID: relyingParty(deps).id,
    timeout: STEP_SECONDS * 1000,
    allowCredentials: passkeys.map((p) => ({ id: p.credential_id, transports: transportsOf(p) })),
    userVerification: account ? 'preferred' : 'required',
  });
  const kind: StepKind = account ? 'passkey_confirm' : 'passkey_login';
  const step = await startStep(deps, kind, { userId: account?.id ?? null, challenge: options.challenge });
  return { step, mode: 'get', publicKey: options };
}

/**
 * Checks a passkey's answer to a ceremony: for `account` (a second factor or a confirmation) or,
 * without one, whoever's passkey it is (a sign-in of its own, user verified). The account, or undefined.
 */
export async function checkAssertion(deps: Deps, input: { step: string | undefined; response: string | undefined }, account?: AccountRef): Promise<AccountRef | undefined> {
  const step = await takeStep(deps, account ? 'passkey_confirm' : 'passkey_login', input.step);
  if (!step?.challenge || (account && step.userId !== account.id)) return undefined;
  const response = parseJson<AuthenticationResponseJSON>(input.response);
  if (!response || typeof response.id !== 'string') return undefined;
  const passkey = await findPasskeyByCredentialId(deps.store.db, response.id);
  if (!passkey || passkey.is_active !== 1 || (account && passkey.user_id !== account.id)) return undefined;
  // A passkey alone names its account by its user handle too: it must be the same one.
  if (!account && response.response.userHandle !== undefined && Buffer.from(response.response.userHandle, 'base64url').toString() !== String(passkey.user_id)) return undefined;
  const { id: rpId, origin } = relyingParty(deps);
  const verification = await (await webauthn()).verifyAuthenticationResponse({
    response,
    expectedChallenge: step.challenge,
    expectedOrigin: origin,
    expectedRPID: rpId,
    credential: { id: passkey.credential_id, publicKey: Buffer.from(passkey.public_key, 'base64url'), counter: Number(passkey.counter), transports: transportsOf(passkey) },
    requireUserVerification: !account,
  }).catch(() => undefined);
  if (!verification?.verified) return undefined;
  await deps.store.write((trx) => touchPasskey(trx, passkey.id, verification.authenticationInfo.newCounter, deps.clock.nowIso()));
  return { id: passkey.user_id, username: passkey.username };
}

function parseJson<T>(text: string | undefined): T | undefined {
  if (text === undefined || text.length > 64 * 1024) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    return value !== null && typeof value === 'object' && 'response' in value ? (value as T) : undefined;
  } catch {
    return undefined;
  }
}
