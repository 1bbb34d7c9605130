// SQL for the authorization server's login sessions as the settings page shows them: the
// provider's Session artifacts (oauth_artifacts) with what was noted when each began
// (oauth_login_session_details, keyed by the Session's uid).
import { sql } from 'kysely';
import type { Db } from '../kernel/db/database.ts';

export type LoginSessionRow = {
  uid: string;
  payload: string;
  user_agent: string | null;
  ip: string | null;
  created_at: string | null;
  last_seen_at: string | null;
};

/** Notes (or notes again, after a new login in the same browser) the details of a login session. */
export async function upsertLoginSessionDetails(db: Db, row: { session_uid: string; account_id: string; user_agent: string | null; ip: string | null; now: string }): Promise<void> {
  const values = { session_uid: row.session_uid, account_id: row.account_id, user_agent: row.user_agent, ip: row.ip, created_at: row.now, last_seen_at: row.now };
  await db
    .insertInto('oauth_login_session_details')
    .values(values)
    .onConflict((oc) => oc.column('session_uid').doUpdateSet({ account_id: row.account_id, user_agent: row.user_agent, ip: row.ip, created_at: row.now, last_seen_at: row.now }))
    .execute();
}

export async function touchLoginSessionDetails(db: Db, sessionUid: string, now: string): Promise<void> {
  await db.updateTable('oauth_login_session_details').set({ last_seen_at: now }).where('session_uid', '=', sessionUid).execute();
}

/**
 * Up to `limit` details whose login session is gone, whoever's (signed out at the end-session
 * endpoint or the account page, ended by a password change, expired and swept); how many went.
 */
export async function sweepOrphanedLoginSessionDetails(db: Db, limit: number): Promise<number> {
  const result = await sql`
    DELETE FROM oauth_login_session_details WHERE session_uid IN (
      SELECT d.session_uid FROM oauth_login_session_details d
      WHERE NOT EXISTS (SELECT 1 FROM oauth_artifacts s WHERE s.model = 'Session' AND s.uid = d.session_uid)
      LIMIT ${limit}
    )`.execute(db);
  return Number(result.numAffectedRows ?? 0n);
}

/** The details of the account's login sessions that are gone. */
export async function deleteOrphanedLoginSessionDetails(db: Db, accountId: string): Promise<void> {
  await db
    .deleteFrom('oauth_login_session_details')
    .where('account_id', '=', accountId)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('oauth_artifacts')
            .select('oauth_artifacts.id')
            .where('oauth_artifacts.model', '=', 'Session')
            .whereRef('oauth_artifacts.uid', '=', 'oauth_login_session_details.session_uid'),
        ),
      ),
    )
    .execute();
}

/** The account's unexpired login sessions, with their details when noted. */
export function listLoginSessionRows(db: Db, accountId: string, now: string): Promise<LoginSessionRow[]> {
  return db
    .selectFrom('oauth_artifacts as s')
    .leftJoin('oauth_login_session_details as d', 'd.session_uid', 's.uid')
    .select(['s.payload', 'd.user_agent', 'd.ip', 'd.created_at', 'd.last_seen_at'])
    .select(sql<string>`s.uid`.as('uid'))
    .where('s.model', '=', 'Session')
    .where('s.account_id', '=', accountId)
    .where('s.uid', 'is not', null)
    .where((eb) => eb.or([eb('s.expires_at', 'is', null), eb('s.expires_at', '>', now)]))
    .execute();
}

/** Deletes one of the account's login sessions (by uid), or all but one (or all); how many went. Their details go with them. */
export async function deleteLoginSessions(db: Db, accountId: string, which: { uid: string } | { allBut: string | undefined }): Promise<number> {
  let query = db.deleteFrom('oauth_artifacts').where('model', '=', 'Session').where('account_id', '=', accountId);
  if ('uid' in which) query = query.where('uid', '=', which.uid);
  else if (which.allBut !== undefined) query = query.where((eb) => eb.or([eb('uid', 'is', null), eb('uid', '!=', which.allBut!)]));
  const result = await query.executeTakeFirst();
  await deleteOrphanedLoginSessionDetails(db, accountId);
  return Number(result.numDeletedRows);
}
