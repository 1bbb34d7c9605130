// The authorization server's login session of a browser: the provider's Session, named by the
// id in its cookie. Its cookie has Path=/, so the account pages see it too, and can end it when
// the browser logs out there.
import { sha256Hex } from '../kernel/crypto.ts';
import type { Deps } from '../kernel/deps.ts';
import type { Db } from '../kernel/db/database.ts';
import type { CredentialChangeHandler } from '../kernel/events.ts';
import { deleteArtifact, deleteLoginSessionsOf, findArtifact } from './artifacts.repository.ts';
import { deleteLoginSessions, listLoginSessionRows, touchLoginSessionDetails, upsertLoginSessionDetails } from './login-session-details.repository.ts';

/** The provider's session cookie; provider.ts gives the provider this name. */
export const LOGIN_SESSION_COOKIE = '_session';

/** The browser's cookies, as @fastify/cookie parsed them (request.cookies). */
export type BrowserCookies = { [name: string]: string | undefined };

/** The session id the browser's cookie carries; its signature is not needed (see below). */
function sessionIdOf(cookies: BrowserCookies): string | undefined {
  return cookies[LOGIN_SESSION_COOKIE] || undefined;
}

/** Who the browser is signed in as at the authorization server (the user's id, as text), if anyone. */
export async function loginSessionAccountOf(deps: Deps, cookies: BrowserCookies): Promise<string | undefined> {
  const id = sessionIdOf(cookies);
  if (id === undefined) return undefined;
  const row = await findArtifact(deps.store.db, 'Session', sha256Hex(id));
  return row && (row.expires_at === null || row.expires_at > deps.clock.nowIso()) ? (row.account_id ?? undefined) : undefined;
}

/**
 * Ends the login session the browser's cookie names. The cookie's signature is not checked:
 * only the holder of a session id can name it, so ending it ends no one else's. The stale cookie
 * left behind names nothing, which the provider treats as no sign-in.
 */
export async function endLoginSessionOfBrowser(deps: Deps, cookies: BrowserCookies): Promise<void> {
  const id = sessionIdOf(cookies);
  if (id !== undefined) await deps.store.write((trx) => deleteArtifact(trx, 'Session', sha256Hex(id)));
}

/**
 * Subscribed to the credential-change events: when a password changes, whoever was logged in to
 * the authorization server with the old one logs in again (in the change's transaction). The
 * applications the user allowed keep their tokens: they never saw the password.
 */
export const endLoginSessionsOnPasswordChange: CredentialChangeHandler = async (trx, change) => {
  if (change.kind === 'password') await deleteLoginSessionsOf(trx, String(change.userId));
};

/** A login session as the settings page lists it. */
export type LoginSessionSummary = {
  /** The provider's uid of the session: it names the session to the page, and is no credential. */
  uid: string;
  userAgent: string | null;
  ip: string | null;
  /** When the user signed in; from the provider's payload when no details were noted. */
  startedAt: string | null;
  lastSeenAt: string | null;
  /** The login session of the browser asking. */
  current: boolean;
};

/** The uid of the login session the browser's cookie names, if it is alive. */
async function currentUidOf(deps: Deps, cookies: BrowserCookies): Promise<string | undefined> {
  const id = sessionIdOf(cookies);
  if (id === undefined) return undefined;
  const row = await findArtifact(deps.store.db, 'Session', sha256Hex(id));
  return row && (row.expires_at === null || row.expires_at > deps.clock.nowIso()) ? (row.uid ?? undefined) : undefined;
}

/** The user's login sessions at the authorization server, newest first. */
export async function listLoginSessions(deps: Deps, userId: number, cookies: BrowserCookies): Promise<LoginSessionSummary[]> {
  const [rows, currentUid] = await Promise.all([listLoginSessionRows(deps.store.db, String(userId), deps.clock.nowIso()), currentUidOf(deps, cookies)]);
  const sessions = rows.map((row) => {
    const { loginTs } = JSON.parse(row.payload) as { loginTs?: unknown };
    const loggedInAt = typeof loginTs === 'number' ? new Date(loginTs * 1000).toISOString() : null;
    return { uid: row.uid, userAgent: row.user_agent, ip: row.ip, startedAt: row.created_at ?? loggedInAt, lastSeenAt: row.last_seen_at, current: row.uid === currentUid };
  });
  return sessions.sort((a, b) => (b.startedAt ?? '').localeCompare(a.startedAt ?? ''));
}

/** Ends one of the user's login sessions, in the caller's transaction; whether it was theirs and alive. */
export async function endLoginSessionOf(trx: Db, userId: number, uid: string): Promise<boolean> {
  return (await deleteLoginSessions(trx, String(userId), { uid })) > 0;
}

/** The uid of the browser's own login session, to keep when the others end (read before the transaction). */
export function loginSessionUidOfBrowser(deps: Deps, cookies: BrowserCookies): Promise<string | undefined> {
  return currentUidOf(deps, cookies);
}

/** Ends every login session of the user but `keepUid`, in the caller's transaction; how many. */
export function endOtherLoginSessions(trx: Db, userId: number, keepUid: string | undefined): Promise<number> {
  return deleteLoginSessions(trx, String(userId), { allBut: keepUid });
}

/**
 * Notes what the settings page shows about a login session: after the provider signed someone
 * in (its `resume` step, where it saves the session under its final id), the browser and address;
 * when a signed-in browser comes back to the authorization endpoint, the time. The provider's
 * Session holds a fixed set of fields, so the details are kept beside it, under its uid.
 */
export async function noteLoginSession(
  deps: Deps,
  request: { route: string | undefined; loggedIn: boolean; session: { uid?: string; accountId?: string; destroyed?: boolean } | undefined; userAgent: string | null; ip: string },
): Promise<void> {
  const { session } = request;
  if (!session?.uid || !session.accountId || session.destroyed) return;
  const now = deps.clock.nowIso();
  if (request.route === 'resume' && request.loggedIn) {
    const row = { session_uid: session.uid, account_id: session.accountId, user_agent: request.userAgent, ip: request.ip, now };
    await deps.store.write((trx) => upsertLoginSessionDetails(trx, row));
  } else if (request.route === 'authorization' || request.route === 'resume') {
    await deps.store.write((trx) => touchLoginSessionDetails(trx, session.uid!, now));
  }
}
