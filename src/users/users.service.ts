// Rules about users: the representation, profile updates, and the admin operations.
import { createHash } from 'node:crypto';
import type { Static } from '@sinclair/typebox';
import type { UserSchema } from './users.schema.ts';
import { ApiError, FieldErrorCollector } from '../kernel/errors.ts';
import type { Deps } from '../kernel/deps.ts';
import type { Db } from '../kernel/db/database.ts';
import { ADMIN_CONTEXT, type AuditContext } from '../audit/audit-events.ts';
import { listAuditEvents, recordAuditEvent, type AuditEvent, type AuditQuery } from '../audit/audit.service.ts';
import { constraintViolation } from '../kernel/db/store.ts';
import { entityTag, requirePrecondition } from '../kernel/entity-tags.ts';
import { parseEmail } from '../kernel/email-address.ts';
import { passwordProblem } from '../auth/passwords.ts';
import { isValidUsername, USERNAME_RULE } from './username.ts';
import { validateProfileChanges } from './profile-fields.ts';
import { addFirstAddress } from '../emails/emails.service.ts';
import { findTombstoneByUsername } from './deletion.repository.ts';
import { DELETED_USERNAME_MESSAGE } from './deletion.service.ts';
import type { AccountRef } from '../auth/principal.ts';
import {
  findUserById,
  findUserByUsername,
  findUserWithPrimaryEmail,
  insertUser,
  listUsersWithPrimaryEmail,
  lockUser,
  setUserActive,
  updateUser,
  type User,
  type UserWithPrimaryEmail,
} from './users.repository.ts';

/** The user as the API shows it (docs/reference/api.md, "The user"): the route schema's type. */
export type UserRepresentation = Static<typeof UserSchema>;

export function gravatarUrl(email: string): string {
  const md5 = createHash('md5').update(email.trim().toLowerCase()).digest('hex');
  return `https://secure.gravatar.com/avatar/${md5}.jpg?s=80&r=g&d=mm`;
}

export function presentUser(row: UserWithPrimaryEmail, publicUrl: string): UserRepresentation {
  return {
    id: row.id,
    username: row.username,
    url: `${publicUrl}/api/v1.1/users/${row.username}/`,
    date_joined: row.date_joined,
    type: 'User',
    full_name: row.full_name,
    location: row.location,
    company: row.company,
    profile_url: row.profile_url,
    gravatar_url: gravatarUrl(row.gravatar_email !== '' ? row.gravatar_email : row.primary_email),
    email: row.primary_email,
    is_active: row.is_active === 1,
  };
}

export async function getUser(deps: Deps, userId: number): Promise<UserRepresentation> {
  const row = await findUserWithPrimaryEmail(deps.store.db, userId);
  if (!row) throw new ApiError('not_found');
  return presentUser(row, deps.config.publicUrl);
}

/**
 * PATCH: only the fields sent are written, in one UPDATE, so concurrent PATCHes of other fields
 * survive. With `ifMatch` (If-Match), the user as this transaction found it must still have that
 * tag (src/kernel/entity-tags.ts), checked and written under the user's lock: no lost update
 * between two clients.
 */
export async function updateProfile(deps: Deps, userId: number, input: Record<string, unknown>, options: { ifMatch?: string | undefined } = {}): Promise<UserRepresentation> {
  const changes = validateProfileChanges(input);
  const { ifMatch } = options;
  if (ifMatch === undefined) {
    if (Object.keys(changes).length > 0) {
      await deps.store.write((trx) => updateUser(trx, userId, { ...changes, updated_at: deps.clock.nowIso() }), { oneStatement: true });
    }
    return getUser(deps, userId);
  }
  return deps.store.write(async (trx) => {
    await lockUser(trx, deps.store.dialect, userId);
    const before = await findUserWithPrimaryEmail(trx, userId);
    if (!before) throw new ApiError('not_found');
    requirePrecondition(ifMatch, entityTag(presentUser(before, deps.config.publicUrl)));
    if (Object.keys(changes).length === 0) return presentUser(before, deps.config.publicUrl);
    await updateUser(trx, userId, { ...changes, updated_at: deps.clock.nowIso() });
    return presentUser((await findUserWithPrimaryEmail(trx, userId))!, deps.config.publicUrl);
  });
}

/**
 * The user with this id, if there is one (other features read users through here). Inside a
 * write, pass its transaction: on SQLite a read outside it would wait for the transaction's end.
 */
export function findUser(deps: Deps, userId: number, trx: Db = deps.store.db): Promise<User | undefined> {
  return findUserById(trx, userId);
}

/** Finds a user by username (case-insensitively), or throws a 404. */
export async function requireUser(deps: Deps, username: string): Promise<User> {
  const user = await findUserByUsername(deps.store.db, username.toLowerCase());
  if (!user) throw new ApiError('not_found', { detail: `No user named "${username.toLowerCase()}".` });
  return user;
}

export type NewUser = {
  username: string;
  email: string;
  fullName?: string;
  password?: string;
  /** A self-made account (the sign-up page): its address is unverified until the user confirms it. */
  unverified?: boolean;
  /** Run in the creating transaction, with the new account: what must commit or fail with it (an invitation used, the audit event). */
  within?: (trx: Db, account: AccountRef) => Promise<void>;
};

/** Creates a user with a verified primary address (an operator vouches for it) unless `unverified`, in one transaction. */
export async function createUser(deps: Deps, input: NewUser): Promise<UserRepresentation> {
  const errors = new FieldErrorCollector();
  const username = input.username;
  if (!isValidUsername(username)) errors.add('username', USERNAME_RULE);
  const email = parseEmail(input.email);
  if ('error' in email) errors.add('email', email.error);
  let profile = {};
  try {
    profile = validateProfileChanges(input.fullName === undefined ? {} : { full_name: input.fullName });
  } catch (error) {
    if (!(error instanceof ApiError) || !error.fieldErrors) throw error;
    for (const [field, messages] of Object.entries(error.fieldErrors)) for (const m of messages) errors.add(field, m);
  }
  const passwordError = input.password === undefined ? undefined : passwordProblem(input.password, { minLength: deps.config.passwordMinLength, username });
  if (passwordError) errors.add('password', passwordError);
  errors.throwIfAny();
  if ('error' in email) throw new Error('unreachable');

  const passwordHash = input.password === undefined ? null : await deps.passwords.hash(input.password);
  const now = deps.clock.nowIso();
  try {
    const userId = await deps.store.write(async (trx) => {
      // The schema refuses it too (a trigger); this says why.
      if (await findTombstoneByUsername(trx, username)) throw new ApiError('invalid', { fieldErrors: { username: [DELETED_USERNAME_MESSAGE] } });
      const id = await insertUser(trx, { username, password_hash: passwordHash, ...profile, date_joined: now, updated_at: now });
      await addFirstAddress(trx, id, email, now, input.unverified !== true);
      await input.within?.(trx, { id, username });
      return id;
    });
    return getUser(deps, userId);
  } catch (error) {
    const violation = constraintViolation(error);
    if (violation?.kind === 'unique' && violation.message.includes('username')) {
      throw new ApiError('invalid', { fieldErrors: { username: ['A user with that username already exists.'] } });
    }
    if (violation?.kind === 'unique' && violation.message.includes('email')) {
      throw new ApiError('invalid', { fieldErrors: { email: ['This email address is already in use.'] } });
    }
    throw error;
  }
}

/**
 * `alsoInTransaction` runs in the change's transaction, after the new hash is written: a caller's
 * own writes that must commit with the change or not at all (a reset link claimed for it). What it
 * throws undoes the change.
 */
export async function setPassword(
  deps: Deps,
  username: string,
  password: string,
  context: AuditContext = ADMIN_CONTEXT,
  alsoInTransaction?: (trx: Db, user: { id: number; username: string }) => Promise<void>,
): Promise<void> {
  const user = await requireUser(deps, username);
  const problem = passwordProblem(password, { minLength: deps.config.passwordMinLength, username: user.username });
  if (problem) throw new ApiError('invalid', { fieldErrors: { password: [problem] } });
  const passwordHash = await deps.passwords.hash(password);
  await deps.store.write(async (trx) => {
    await updateUser(trx, user.id, { password_hash: passwordHash, updated_at: deps.clock.nowIso() });
    // What other features tie to the old password ends in this commit (the authorization
    // server's login sessions: whoever was logged in with it logs in again).
    await alsoInTransaction?.(trx, { id: user.id, username: user.username });
    await deps.credentialEvents.changing(trx, { userId: user.id, kind: 'password' });
    await recordAuditEvent(deps, { ...context, event: 'password_changed', userId: user.id, username: user.username }, trx);
  });
  deps.credentialEvents.changed({ userId: user.id, kind: 'password' });
}

/** Returns false when the account already was in that state (then nothing changes and nothing is recorded). */
export async function setActive(deps: Deps, username: string, active: boolean, context: AuditContext = ADMIN_CONTEXT): Promise<boolean> {
  const user = await requireUser(deps, username);
  if ((user.is_active === 1) === active) return false;
  const changed = await deps.store.write(async (trx) => {
    // Conditional, so that of two concurrent calls only one changes the row and records it.
    if (!(await setUserActive(trx, user.id, active, deps.clock.nowIso()))) return false;
    const event = active ? 'account_activated' : 'account_deactivated';
    await recordAuditEvent(deps, { ...context, event, userId: user.id, username: user.username }, trx);
    await deps.credentialEvents.changing(trx, { userId: user.id, kind: 'activation' });
    return true;
  });
  if (changed) deps.credentialEvents.changed({ userId: user.id, kind: 'activation' });
  return changed;
}

export async function listUsers(deps: Deps): Promise<UserRepresentation[]> {
  return (await listUsersWithPrimaryEmail(deps.store.db)).map((row) => presentUser(row, deps.config.publicUrl));
}

/**
 * The audit trail of the user named, oldest first (`accounts audit`); a 404 for an unknown user.
 * A deleted account's trail stays readable by its username, which no one else can take.
 */
export async function listUserAuditEvents(deps: Deps, username: string, query: AuditQuery = {}): Promise<AuditEvent[]> {
  const deleted = await findTombstoneByUsername(deps.store.db, username.toLowerCase());
  const account = deleted ? { id: deleted.user_id, username: deleted.username } : await requireUser(deps, username);
  return listAuditEvents(deps, account, query);
}
