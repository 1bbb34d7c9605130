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
import { insertAuditEvent, listAccountEventsPage, listAuditEventsNewestFirst, type AuditEventRecord } from './audit.repository.ts';
import { ApiError } from '../kernel/errors.ts';

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

/** An event as the person's own security log shows it (GET …/events/, the settings page). */
export type SecurityEvent = Omit<AuditEvent, 'username'>;

export const SECURITY_LOG_PAGE = { default: 30, max: 100 };

/**
 * A page of the account's security log, newest first, and the cursor of the next page (older
 * events) when there is one. The cursor is opaque to clients: the last event's id, encoded.
 */
export async function listSecurityLog(
  deps: Deps,
  account: AccountRef,
  query: { cursor?: string | undefined; limit?: number | undefined; events?: readonly string[] | undefined } = {},
): Promise<{ events: SecurityEvent[]; next: string | undefined }> {
  const limit = query.limit ?? SECURITY_LOG_PAGE.default;
  const beforeId = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const rows = await listAccountEventsPage(deps.store.db, { userId: account.id, username: account.username, beforeId, events: query.events, limit: limit + 1 });
  const page = rows.slice(0, limit).map((row) => {
    const { username: _username, ...event } = presentAuditEvent(row);
    return event;
  });
  return { events: page, next: rows.length > limit ? encodeCursor(page[page.length - 1]!.id) : undefined };
}

function encodeCursor(id: number): string {
  return Buffer.from(`before:${id}`).toString('base64url');
}

function decodeCursor(cursor: string): number {
  const match = /^before:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw new ApiError('invalid', { detail: 'The cursor is not one this API gave: follow the Link header.', fieldErrors: { cursor: ['Invalid cursor.'] } });
  return Number(match[1]);
}
