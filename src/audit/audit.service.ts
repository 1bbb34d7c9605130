// The audit trail: security-relevant events, each with its time, account, actor, client IP and
// outcome. An event describing a change is written inside the change's own
// transaction, so it commits with it or not at all. Only changes that happened are recorded (a
// rejected request changes nothing and leaves nothing); failure and denied are for attempts that
// are events in themselves, such as failed and throttled logins.
import type { Deps } from '../kernel/deps.ts';
import type { Db } from '../kernel/db/database.ts';
import { CONTROL_CHARACTERS } from '../kernel/text.ts';
import type { AccountRef } from '../auth/principal.ts';
import type { AuditContext, AuditEventName, AuditOutcome } from './audit-events.ts';
import { insertAuditEvent, listAuditEventsNewestFirst, type AuditEventRecord } from './audit.repository.ts';

/** A few facts that tell events apart: ids, names, an address. Never a password, token or hash. */
export type AuditDetail = Record<string, string | number | boolean | null>;

export type AuditEventInput = AuditContext & {
  event: AuditEventName;
  /** The account, when there is one; null for a name no account has (a failed login for it). */
  userId: number | null;
  /** As given; stored lower-cased and cut to MAX_AUDIT_TEXT_LENGTH characters. */
  username: string;
  /** Default: success. */
  outcome?: AuditOutcome;
  detail?: AuditDetail | null;
};

/** An event as `accounts audit` shows it. */
export type AuditEvent = {
  id: number;
  occurred_at: string;
  username: string;
  event: string;
  actor: string;
  client_ip: string | null;
  outcome: string;
  detail: Record<string, unknown> | null;
};

export const MAX_AUDIT_TEXT_LENGTH = 64;

// A safety net for future callers: detail keys that name a secret are a programming error.
const SECRET_KEY = /password|secret|hash|digest|^token$/i;

/**
 * Text that may come straight from a request (a Basic username): made storable everywhere
 * (PostgreSQL TEXT refuses NUL) and harmless on a terminal, then cut to a bounded length.
 */
function storableText(value: string): string {
  const global = new RegExp(CONTROL_CHARACTERS.source, 'g');
  return [...value.toWellFormed().replace(global, '\uFFFD')].slice(0, MAX_AUDIT_TEXT_LENGTH).join('');
}

export function auditUsername(username: string): string {
  return storableText(username.toLowerCase());
}

function serialiseDetail(detail: AuditDetail | null | undefined): string | null {
  if (!detail) return null;
  for (const key of Object.keys(detail)) {
    if (SECRET_KEY.test(key)) throw new Error(`audit detail must never carry a secret (key "${key}")`);
  }
  return JSON.stringify(detail);
}

/**
 * Records one event. Pass the transaction of the change it describes, so both commit together;
 * without one (a failed login changes nothing else) it is a write of its own.
 */
export async function recordAuditEvent(deps: Deps, event: AuditEventInput, trx?: Db): Promise<void> {
  const values = {
    occurred_at: deps.clock.nowIso(),
    user_id: event.userId,
    username: auditUsername(event.username),
    event: event.event,
    actor: event.actor,
    client_ip: event.clientIp ? storableText(event.clientIp) : null,
    outcome: event.outcome ?? 'success',
    detail: serialiseDetail(event.detail),
  };
  if (trx) await insertAuditEvent(trx, values);
  else await deps.store.write((write) => insertAuditEvent(write, values));
}

function presentAuditEvent(row: AuditEventRecord): AuditEvent {
  return {
    id: row.id,
    occurred_at: row.occurred_at,
    username: row.username,
    event: row.event,
    actor: row.actor,
    client_ip: row.client_ip,
    outcome: row.outcome,
    detail: row.detail === null ? null : (JSON.parse(row.detail) as Record<string, unknown>),
  };
}

export type AuditQuery = {
  /** RFC 3339, UTC, six fractional digits (as src/kernel/clock.ts makes): events at or after it. */
  since?: string;
  /** The most recent `limit` events (after `since`); all of them when absent. */
  limit?: number;
};

/** The account's trail, oldest first. */
export async function listAuditEvents(deps: Deps, account: AccountRef, query: AuditQuery = {}): Promise<AuditEvent[]> {
  const rows = await listAuditEventsNewestFirst(deps.store.db, { userId: account.id, username: account.username, since: query.since, limit: query.limit });
  return rows.reverse().map(presentAuditEvent);
}
