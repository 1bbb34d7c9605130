// SQL for the audit trail. Append-only: there is no update and no delete.
import type { Insertable, Selectable } from 'kysely';
import type { AuditEventRow, Db } from '../kernel/db/database.ts';

export type AuditEventRecord = Selectable<AuditEventRow>;

export async function insertAuditEvent(db: Db, values: Insertable<AuditEventRow>): Promise<void> {
  await db.insertInto('audit_events').values(values).execute();
}

export type AuditFilter = {
  userId: number;
  username: string;
  /** Only events at or after this RFC 3339 time (six fractional digits, UTC). */
  since?: string | undefined;
  limit?: number | undefined;
};

/**
 * The account's events and those recorded for its name alone (user_id NULL: e.g. failed logins
 * before the account existed), newest first.
 */
export function listAuditEventsNewestFirst(db: Db, filter: AuditFilter): Promise<AuditEventRecord[]> {
  let query = db
    .selectFrom('audit_events')
    .selectAll()
    .where((eb) => eb.or([eb('user_id', '=', filter.userId), eb.and([eb('user_id', 'is', null), eb('username', '=', filter.username)])]));
  if (filter.since !== undefined) query = query.where('occurred_at', '>=', filter.since);
  query = query.orderBy('id', 'desc');
  if (filter.limit !== undefined) query = query.limit(filter.limit);
  return query.execute();
}

/**
 * One page of the account's own security log, newest first: its events, and those recorded for its
 * name alone (failed logins) since it joined — not a former holder's. `beforeId`: the cursor.
 */
export function listAccountEventsPage(db: Db, filter: { userId: number; username: string; beforeId?: number | undefined; events?: readonly string[] | undefined; limit: number }): Promise<AuditEventRecord[]> {
  let query = db
    .selectFrom('audit_events')
    .selectAll()
    .where((eb) =>
      eb.or([
        eb('user_id', '=', filter.userId),
        eb.and([
          eb('user_id', 'is', null),
          eb('username', '=', filter.username),
          eb('occurred_at', '>=', eb.selectFrom('users').select('users.date_joined').where('users.id', '=', filter.userId)),
        ]),
      ]),
    );
  if (filter.beforeId !== undefined) query = query.where('id', '<', filter.beforeId);
  if (filter.events !== undefined && filter.events.length > 0) query = query.where('event', 'in', filter.events);
  return query.orderBy('id', 'desc').limit(filter.limit).execute();
}
