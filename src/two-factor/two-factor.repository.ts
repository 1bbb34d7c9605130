// SQL for second factors: authenticator apps, recovery codes, passkeys and the steps of a sign-in
// in progress. Every write that spends something (a time step, a code, a step) is conditional, so
// two requests racing with the same code or step cannot both succeed.
import type { Insertable, Selectable } from 'kysely';
import type { Db, PasskeyRow, SignInStepRow } from '../kernel/db/database.ts';
import { preparedQuery } from '../kernel/db/prepared.ts';

export type Passkey = Selectable<PasskeyRow>;

// ---- authenticator apps ----

export function findTotp(db: Db, userId: number) {
  return db.selectFrom('totp_authenticators').selectAll().where('user_id', '=', userId).executeTakeFirst();
}

/** A new secret being set up replaces one that was never confirmed; a confirmed one stays (0 rows). */
export async function putPendingTotp(db: Db, userId: number, secret: string, now: string): Promise<boolean> {
  await db.deleteFrom('totp_authenticators').where('user_id', '=', userId).where('confirmed_at', 'is', null).execute();
  await db
    .insertInto('totp_authenticators')
    .values({ user_id: userId, secret, created_at: now, confirmed_at: null, last_step: null })
    .onConflict((oc) => oc.column('user_id').doNothing())
    .execute();
  const row = await db.selectFrom('totp_authenticators').select('secret').where('user_id', '=', userId).executeTakeFirst();
  return row?.secret === secret;
}

/**
 * Accepts the code of time step `step`: only if no code of this or a later step was accepted
 * before (RFC 6238 §5.2: a one-time password is used once). Confirms a pending authenticator too
 * when `confirm` is set. Whether this call won.
 */
export async function spendTotpStep(db: Db, userId: number, step: number, confirmAt?: string): Promise<boolean> {
  let query = db
    .updateTable('totp_authenticators')
    .set(confirmAt ? { last_step: step, confirmed_at: confirmAt } : { last_step: step })
    .where('user_id', '=', userId)
    .where((eb) => eb.or([eb('last_step', 'is', null), eb('last_step', '<', step)]));
  query = confirmAt ? query.where('confirmed_at', 'is', null) : query.where('confirmed_at', 'is not', null);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function deleteTotp(db: Db, userId: number): Promise<number> {
  const result = await db.deleteFrom('totp_authenticators').where('user_id', '=', userId).executeTakeFirst();
  return Number(result.numDeletedRows);
}

// ---- recovery codes ----

export async function replaceRecoveryCodes(db: Db, userId: number, digests: readonly string[], now: string): Promise<void> {
  await db.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
  await db
    .insertInto('recovery_codes')
    .values(digests.map((code_digest) => ({ user_id: userId, code_digest, created_at: now, used_at: null })))
    .execute();
}

/** Marks the code used if it is the user's and unused; whether it was. */
export async function spendRecoveryCode(db: Db, userId: number, digest: string, now: string): Promise<boolean> {
  const result = await db.updateTable('recovery_codes').set({ used_at: now }).where('user_id', '=', userId).where('code_digest', '=', digest).where('used_at', 'is', null).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function countUnusedRecoveryCodes(db: Db, userId: number): Promise<number> {
  const row = await db.selectFrom('recovery_codes').select((eb) => eb.fn.countAll<number | string>().as('n')).where('user_id', '=', userId).where('used_at', 'is', null).executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function deleteRecoveryCodes(db: Db, userId: number): Promise<void> {
  await db.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
}

// ---- passkeys ----

export function listPasskeys(db: Db, userId: number): Promise<Passkey[]> {
  return db.selectFrom('passkeys').selectAll().where('user_id', '=', userId).orderBy('created_at').orderBy('id').execute();
}

export function findPasskeyByCredentialId(db: Db, credentialId: string): Promise<(Passkey & { username: string; is_active: number }) | undefined> {
  return db
    .selectFrom('passkeys')
    .innerJoin('users', 'users.id', 'passkeys.user_id')
    .selectAll('passkeys')
    .select(['users.username', 'users.is_active'])
    .where('passkeys.credential_id', '=', credentialId)
    .executeTakeFirst();
}

export async function insertPasskey(db: Db, row: Insertable<PasskeyRow>): Promise<void> {
  await db.insertInto('passkeys').values(row).execute();
}

/** Records a use: the authenticator's new signature counter and when. */
export async function touchPasskey(db: Db, id: number, counter: number, now: string): Promise<void> {
  await db.updateTable('passkeys').set({ counter, last_used_at: now }).where('id', '=', id).execute();
}

export async function renamePasskey(db: Db, userId: number, id: number, name: string): Promise<boolean> {
  const result = await db.updateTable('passkeys').set({ name }).where('user_id', '=', userId).where('id', '=', id).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function deletePasskey(db: Db, userId: number, id: number): Promise<Passkey | undefined> {
  const row = await db.selectFrom('passkeys').selectAll().where('user_id', '=', userId).where('id', '=', id).executeTakeFirst();
  if (row) await db.deleteFrom('passkeys').where('id', '=', id).execute();
  return row;
}

export async function deletePasskeys(db: Db, userId: number): Promise<number> {
  const result = await db.deleteFrom('passkeys').where('user_id', '=', userId).executeTakeFirst();
  return Number(result.numDeletedRows);
}

// ---- steps of a sign-in in progress ----

export async function insertSignInStep(db: Db, row: SignInStepRow, now: string): Promise<void> {
  await db.deleteFrom('sign_in_steps').where('expires_at', '<=', now).execute();
  await db.insertInto('sign_in_steps').values(row).execute();
}

export function findSignInStep(db: Db, digest: string) {
  return db.selectFrom('sign_in_steps').selectAll().where('id_digest', '=', digest).executeTakeFirst();
}

/** Deletes the step; whether this call did (a step is used once). */
export async function deleteSignInStep(db: Db, digest: string): Promise<boolean> {
  const result = await db.deleteFrom('sign_in_steps').where('id_digest', '=', digest).executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

export async function deleteUserSignInSteps(db: Db, userId: number): Promise<void> {
  await db.deleteFrom('sign_in_steps').where('user_id', '=', userId).execute();
}

/** How many accounts have a confirmed authenticator app or a passkey. */
/**
 * Whether the user has a second factor on (a confirmed authenticator app, or a passkey): asked on
 * every password sign-in, so one prepared query rather than the whole status.
 */
const HAS_SECOND_FACTOR = preparedQuery('has_second_factor', (db: Db, userId: number) =>
  db
    .selectFrom('users')
    .select((eb) =>
      eb
        .or([
          eb.exists(eb.selectFrom('totp_authenticators').select('user_id').whereRef('totp_authenticators.user_id', '=', 'users.id').where('confirmed_at', 'is not', null)),
          eb.exists(eb.selectFrom('passkeys').select('id').whereRef('passkeys.user_id', '=', 'users.id')),
        ])
        .as('on'),
    )
    .where('users.id', '=', userId),
);

export async function hasSecondFactor(db: Db, userId: number): Promise<boolean> {
  const row = await HAS_SECOND_FACTOR.first(db, userId);
  // SQLite answers 0 or 1, PostgreSQL a boolean.
  return row !== undefined && (row.on === true || Number(row.on) === 1);
}

export async function countAccountsWithFactors(db: Db): Promise<number> {
  const row = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where((eb) =>
      eb.or([
        eb.exists(eb.selectFrom('totp_authenticators').select('user_id').whereRef('totp_authenticators.user_id', '=', 'users.id').where('confirmed_at', 'is not', null)),
        eb.exists(eb.selectFrom('passkeys').select('id').whereRef('passkeys.user_id', '=', 'users.id')),
      ]),
    )
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
