// Sessions of the account settings page. The cookie carries 32 random bytes;
// the database holds only their SHA-256 digest. A session ends after SESSION_IDLE_MINUTES without
// a request and SESSION_MAX_MINUTES after login, and at once when its user is deactivated (checked
// on every request). The CSRF token of a session's forms is derived from its id by the web layer
// (src/web/csrf.ts), so it needs no storage and an attacker who cannot read the cookie cannot
// compute it.
import { sha256Hex } from '../kernel/crypto.ts';
import { randomBytes } from 'node:crypto';
import type { Deps } from '../kernel/deps.ts';
import { formatDate } from '../kernel/clock.ts';
import { recordAuditEvent } from '../audit/audit.service.ts';
import type { AccountRef } from '../auth/principal.ts';
import { deleteExpiredSessions, deleteSessionById, deleteUserSessions, findSessionByDigest, insertSession, touchSession } from './sessions.repository.ts';

export type ActiveSession = { id: number; userId: number; username: string };

// last_seen_at is written at most this often, so page views do not all become writes.
const TOUCH_RESOLUTION_MS = 60_000;

/** Where a session was started from, for the list of the user's sessions (display only). */
export type SessionOrigin = { userAgent?: string | undefined; ip?: string | undefined };

/**
 * Starts a session for the user (a sign-in, recorded as `signed_in`); returns the id to put in the
 * cookie. `secondFactor`: the factor given at this login, if any.
 */
export async function createSession(deps: Deps, account: AccountRef, origin: SessionOrigin = {}, secondFactor: string | null = null): Promise<string> {
  const userId = account.id;
  const sessionId = randomBytes(32).toString('base64url');
  const now = deps.clock.nowMs();
  const nowIso = deps.clock.nowIso();
  await deps.store.write(async (trx) => {
    await deleteExpiredSessions(trx, nowIso, formatDate(new Date(now - deps.config.sessionIdleMinutes * 60_000)));
    await insertSession(trx, {
      user_id: userId,
      session_digest: sha256Hex(sessionId),
      created_at: nowIso,
      last_seen_at: nowIso,
      expires_at: formatDate(new Date(now + deps.config.sessionMaxMinutes * 60_000)),
      user_agent: origin.userAgent ?? null,
      ip: origin.ip ?? null,
      second_factor: secondFactor,
    });
    const detail = { via: 'account_page', ...(secondFactor ? { second_factor: secondFactor } : {}) };
    await recordAuditEvent(deps, { actor: 'self', clientIp: origin.ip ?? null, event: 'signed_in', userId, username: account.username, detail }, trx);
  });
  return sessionId;
}

/** The live session a cookie names, or undefined (then the caller asks for a login). */
export async function resumeSession(deps: Deps, sessionId: string | undefined): Promise<ActiveSession | undefined> {
  if (!sessionId || !/^[A-Za-z0-9_-]{43}$/.test(sessionId)) return undefined;
  const row = await findSessionByDigest(deps.store.db, sha256Hex(sessionId));
  if (!row) return undefined;
  const now = deps.clock.nowMs();
  const idleSince = Date.parse(row.last_seen_at);
  const expired = Date.parse(row.expires_at) <= now || idleSince + deps.config.sessionIdleMinutes * 60_000 <= now;
  if (expired || row.is_active !== 1) {
    await deps.store.write((trx) => deleteSessionById(trx, row.id));
    return undefined;
  }
  if (idleSince + TOUCH_RESOLUTION_MS <= now) await deps.store.write((trx) => touchSession(trx, row.id, deps.clock.nowIso()));
  return { id: row.id, userId: row.user_id, username: row.username };
}

export async function endSession(deps: Deps, sessionId: number): Promise<void> {
  await deps.store.write((trx) => deleteSessionById(trx, sessionId));
}

/** Ends every session of the user except `keepId` (after a password change). */
export async function endOtherSessions(deps: Deps, userId: number, keepId?: number): Promise<void> {
  await deps.store.write((trx) => deleteUserSessions(trx, userId, keepId));
}
