// SQL for the account page's sessions.
import type { Insertable, Selectable } from 'kysely';
import type { Db, SessionRow } from '../kernel/db/database.ts';

export type Session = Selectable<SessionRow>;
export type SessionWithUser = Session & { username: string; is_active: number };

export async function insertSession(db: Db, row: Insertable<SessionRow>): Promise<void> {
  await db.insertInto('sessions').values(row).execute();
}

export function findSessionByDigest(db: Db, digest: string): Promise<SessionWithUser | undefined> {
  return db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .selectAll('sessions')
    .select(['users.username', 'users.is_active'])
    .where('sessions.session_digest', '=', digest)
    .executeTakeFirst();
}

export async function touchSession(db: Db, id: number, now: string): Promise<void> {
  await db.updateTable('sessions').set({ last_seen_at: now }).where('id', '=', id).execute();
}

export async function deleteSessionById(db: Db, id: number): Promise<void> {
  await db.deleteFrom('sessions').where('id', '=', id).execute();
}

/** Every session of the user but `keepId` (none kept when undefined). */
export async function deleteUserSessions(db: Db, userId: number, keepId?: number): Promise<void> {
  let query = db.deleteFrom('sessions').where('user_id', '=', userId);
  if (keepId !== undefined) query = query.where('id', '!=', keepId);
  await query.execute();
}

/** Sessions past either timeout; called now and then so the table does not grow without end. */
export async function deleteExpiredSessions(db: Db, now: string, idleCutoff: string): Promise<void> {
  await db
    .deleteFrom('sessions')
    .where((eb) => eb.or([eb('expires_at', '<=', now), eb('last_seen_at', '<=', idleCutoff)]))
    .execute();
}

/** The user's sessions as the settings page lists them, newest first. */
export function listUserSessions(db: Db, userId: number): Promise<Pick<Session, 'id' | 'created_at' | 'last_seen_at' | 'expires_at' | 'user_agent' | 'ip' | 'second_factor'>[]> {
  return db
    .selectFrom('sessions')
    .select(['id', 'created_at', 'last_seen_at', 'expires_at', 'user_agent', 'ip', 'second_factor'])
    .where('user_id', '=', userId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
}

/** Deletes one session if it is the user's; how many went (0 or 1). */
export async function deleteSessionOfUser(db: Db, userId: number, id: number): Promise<number> {
  const result = await db.deleteFrom('sessions').where('user_id', '=', userId).where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Every session of the user but `keepId`; how many went. */
export async function deleteOtherSessionsOfUser(db: Db, userId: number, keepId: number): Promise<number> {
  const result = await db.deleteFrom('sessions').where('user_id', '=', userId).where('id', '!=', keepId).executeTakeFirst();
  return Number(result.numDeletedRows);
}
