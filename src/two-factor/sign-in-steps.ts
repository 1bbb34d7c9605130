// The state between two steps of a sign-in, kept in the database so that any instance can take
// the next step: a password that was right and waits for its second factor, or a WebAuthn
// challenge waiting for the authenticator's answer. The browser holds a random id (in a cookie,
// or, for an application's sign-in, the id is the authorization server's interaction, which its
// own cookie binds to the browser); the table holds its SHA-256 digest only.
import { randomBytes } from 'node:crypto';
import { sha256Hex } from '../kernel/crypto.ts';
import type { Deps } from '../kernel/deps.ts';
import { formatDate } from '../kernel/clock.ts';
import { deleteSignInStep, findSignInStep, insertSignInStep } from './two-factor.repository.ts';

/**
 * second_factor: the password was right; passkey_login: a passkey alone is to sign in;
 * passkey_register: a passkey is being added; passkey_confirm: a passkey confirms a second step
 * or an action of someone signed in.
 */
export type StepKind = 'second_factor' | 'passkey_login' | 'passkey_register' | 'passkey_confirm';

/** How long a step waits: time to find the phone or touch the key, not to walk away. */
export const STEP_SECONDS = 5 * 60;

export type SignInStep = { userId: number | null; challenge: string | null };

/** Starts a step; the id for the browser. `id` is given when the step is named by something else (an interaction). */
export async function startStep(deps: Deps, kind: StepKind, step: SignInStep, id = randomBytes(32).toString('base64url')): Promise<string> {
  const now = deps.clock.nowMs();
  const nowIso = deps.clock.nowIso();
  await deps.store.write(async (trx) => {
    // One pending step per id: a new password replaces the previous one (an interaction's).
    await deleteSignInStep(trx, digestOf(kind, id));
    await insertSignInStep(trx, { id_digest: digestOf(kind, id), kind, user_id: step.userId, challenge: step.challenge, created_at: nowIso, expires_at: formatDate(new Date(now + STEP_SECONDS * 1000)) }, nowIso);
  });
  return id;
}

/** The live step `id` names, left in place (a wrong code may be corrected). */
export async function peekStep(deps: Deps, kind: StepKind, id: string | undefined): Promise<SignInStep | undefined> {
  if (!id || id.length > 200) return undefined;
  const row = await findSignInStep(deps.store.db, digestOf(kind, id));
  if (!row || row.kind !== kind || row.expires_at <= deps.clock.nowIso()) return undefined;
  return { userId: row.user_id, challenge: row.challenge };
}

/** Takes the step: it is deleted, and only the one caller that deleted it gets it. */
export async function takeStep(deps: Deps, kind: StepKind, id: string | undefined): Promise<SignInStep | undefined> {
  const step = await peekStep(deps, kind, id);
  if (!step || !(await deps.store.write((trx) => deleteSignInStep(trx, digestOf(kind, id!))))) return undefined;
  return step;
}

function digestOf(kind: StepKind, id: string): string {
  return sha256Hex(`${kind}:${id}`);
}
