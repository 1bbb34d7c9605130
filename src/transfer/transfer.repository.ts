// SQL for export and import. Plain functions taking the Kysely handle (or a transaction) first.
import { sql, type Insertable, type Selectable } from 'kysely';
import type { AccessTokenRow, Db, EmailRow, OAuthClientRow, UserRow } from '../kernel/db/database.ts';
import { PRIMARY } from '../kernel/db/literals.ts';

/**
 * Runs `fn` in one read-only snapshot, so a change committed while the export runs is in the dump
 * entirely or not at all. PostgreSQL: REPEATABLE READ. SQLite: a read transaction in WAL mode is a
 * snapshot already (Kysely's SQLite driver ignores the settings).
 */
export function readSnapshot<T>(db: Db, fn: (trx: Db) => Promise<T>): Promise<T> {
  return db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute(fn);
}

// Export: users paged by id, with the addresses and tokens of each page.

export function usersAfter(db: Db, afterId: number, limit: number): Promise<Selectable<UserRow>[]> {
  return db.selectFrom('users').selectAll().where('id', '>', afterId).orderBy('id').limit(limit).execute();
}

export function emailsOfUsers(db: Db, firstUserId: number, lastUserId: number): Promise<Selectable<EmailRow>[]> {
  return db
    .selectFrom('emails')
    .selectAll()
    .where('user_id', '>=', firstUserId)
    .where('user_id', '<=', lastUserId)
    .orderBy('user_id')
    .orderBy('id')
    .execute();
}

export function tokensOfUsers(db: Db, firstUserId: number, lastUserId: number): Promise<Selectable<AccessTokenRow>[]> {
  return db
    .selectFrom('access_tokens')
    .selectAll()
    .where('user_id', '>=', firstUserId)
    .where('user_id', '<=', lastUserId)
    .orderBy('user_id')
    .orderBy('id')
    .execute();
}

/**
 * The OAuth clients after `afterId`, by client_id compared byte by byte: PostgreSQL's default
 * collation would order mixed-case ids otherwise than SQLite, and the two exports of one state
 * must be the same dump.
 */
export function clientsAfter(db: Db, dialect: 'sqlite' | 'postgres', afterId: string, limit: number): Promise<Selectable<OAuthClientRow>[]> {
  const key = dialect === 'postgres' ? sql<string>`client_id COLLATE "C"` : sql<string>`client_id`;
  return db.selectFrom('oauth_clients').selectAll().where(key, '>', afterId).orderBy(key).limit(limit).execute();
}

// Import.

/**
 * Removes every address and token of these users. The primaries are demoted first: the trigger
 * that keeps a user's primary refuses to delete one while its user exists.
 */
export async function clearEmailsAndTokens(db: Db, userIds: readonly number[]): Promise<void> {
  if (userIds.length === 0) return;
  await db.updateTable('emails').set({ is_primary: 0 }).where('user_id', 'in', userIds).where('is_primary', '=', PRIMARY).execute();
  await db.deleteFrom('emails').where('user_id', 'in', userIds).execute();
  await db.deleteFrom('access_tokens').where('user_id', 'in', userIds).execute();
}

export function findUsersByIdOrUsername(db: Db, ids: readonly number[], usernames: readonly string[]): Promise<{ id: number; username: string }[]> {
  return db
    .selectFrom('users')
    .select(['id', 'username'])
    .where((eb) => eb.or([eb('id', 'in', ids), eb('username', 'in', usernames)]))
    .execute();
}

/** Deleted accounts (their tombstones) with one of these ids or usernames: neither is ever used again. */
export function findDeletedByIdOrUsername(db: Db, ids: readonly number[], usernames: readonly string[]): Promise<{ user_id: number; username: string }[]> {
  return db
    .selectFrom('deleted_accounts')
    .select(['user_id', 'username'])
    .where((eb) => eb.or([eb('user_id', 'in', ids), eb('username', 'in', usernames)]))
    .execute();
}

/** Inserts the users, or overwrites every column (but the trigger-kept email_count) of those whose id exists. */
export async function upsertUsers(db: Db, rows: readonly (Insertable<UserRow> & { id: number })[]): Promise<void> {
  if (rows.length === 0) return;
  await db
    .insertInto('users')
    .values(rows)
    .onConflict((oc) =>
      oc.column('id').doUpdateSet((eb) => ({
        username: eb.ref('excluded.username'),
        password_hash: eb.ref('excluded.password_hash'),
        full_name: eb.ref('excluded.full_name'),
        location: eb.ref('excluded.location'),
        company: eb.ref('excluded.company'),
        profile_url: eb.ref('excluded.profile_url'),
        gravatar_email: eb.ref('excluded.gravatar_email'),
        is_active: eb.ref('excluded.is_active'),
        date_joined: eb.ref('excluded.date_joined'),
        updated_at: eb.ref('excluded.updated_at'),
      })),
    )
    .execute();
}

export type Holder = { id: number; key: string; user_id: number; username: string };

/** Addresses that have one of these ids or keys, with their owners. */
export function findEmailsByIdOrKey(db: Db, ids: readonly number[], keys: readonly string[]): Promise<Holder[]> {
  return db
    .selectFrom('emails')
    .innerJoin('users', 'users.id', 'emails.user_id')
    .select(['emails.id', 'emails.email_key as key', 'emails.user_id', 'users.username'])
    .where((eb) => eb.or([eb('emails.id', 'in', ids), eb('emails.email_key', 'in', keys)]))
    .execute();
}

export async function insertEmails(db: Db, rows: readonly (Insertable<EmailRow> & { id: number })[]): Promise<void> {
  if (rows.length > 0) await db.insertInto('emails').values(rows).execute();
}

/** Tokens that have one of these ids or digests, with their owners. */
export function findTokensByIdOrDigest(db: Db, ids: readonly number[], digests: readonly string[]): Promise<Holder[]> {
  return db
    .selectFrom('access_tokens')
    .innerJoin('users', 'users.id', 'access_tokens.user_id')
    .select(['access_tokens.id', 'access_tokens.token_digest as key', 'access_tokens.user_id', 'users.username'])
    .where((eb) => eb.or([eb('access_tokens.id', 'in', ids), eb('access_tokens.token_digest', 'in', digests)]))
    .execute();
}

export async function insertTokens(db: Db, rows: readonly (Insertable<AccessTokenRow> & { id: number })[]): Promise<void> {
  if (rows.length > 0) await db.insertInto('access_tokens').values(rows).execute();
}

export function findClientsById(db: Db, clientIds: readonly string[]): Promise<Selectable<OAuthClientRow>[]> {
  return db.selectFrom('oauth_clients').selectAll().where('client_id', 'in', clientIds).execute();
}

export async function insertClients(db: Db, rows: readonly Insertable<OAuthClientRow>[]): Promise<void> {
  if (rows.length > 0) await db.insertInto('oauth_clients').values(rows).execute();
}

/**
 * PostgreSQL: explicit ids do not move an identity sequence, so move it past the largest id (never
 * back: an id is never reused). With is_called = false the next nextval() returns exactly that
 * value. SQLite's AUTOINCREMENT follows explicit ids by itself.
 */
export async function advanceIdSequences(db: Db): Promise<void> {
  for (const table of ['users', 'emails', 'access_tokens'] as const) {
    await sql`
      SELECT setval(pg_get_serial_sequence(${table}, 'id'),
                    GREATEST((SELECT coalesce(max(id), 0) + 1 FROM ${sql.table(table)}), nextval(pg_get_serial_sequence(${table}, 'id'))),
                    false)`.execute(db);
  }
}
