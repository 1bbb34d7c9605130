// The user's sign-ins, as the settings page lists them and ends them: the account page's own
// sessions (this folder's table) and the authorization server's login sessions (the OAuth
// feature's, through its functions). Sessions are named to the page as `account-<id>` or
// `oauth-<uid>`; neither is a credential, and each is looked for among the user's own only.
import type { Deps } from '../kernel/deps.ts';
import { ApiError } from '../kernel/errors.ts';
import type { AccountRef } from '../auth/principal.ts';
import type { AuditContext } from '../audit/audit-events.ts';
import { recordAuditEvent } from '../audit/audit.service.ts';
import { endLoginSessionOf, endOtherLoginSessions, listLoginSessions, loginSessionUidOfBrowser, type BrowserCookies } from '../oauth/login-sessions.ts';
import { deleteOtherSessionsOfUser, deleteSessionOfUser, listUserSessions } from './sessions.repository.ts';

export type SignInKind = 'account' | 'oauth';

export type SignInSummary = {
  /** What the page's forms name it by. */
  ref: string;
  kind: SignInKind;
  /** As stored: cut short, shown only (and escaped) by the page. */
  userAgent: string | null;
  ip: string | null;
  startedAt: string | null;
  lastSeenAt: string | null;
  /** This browser's: the account page's session it is using, or its login at the authorization server. */
  current: boolean;
  /** The second factor given at this sign-in of the account page ('totp', 'passkey', 'recovery_code'); null: none, or not known. */
  secondFactor?: string | null;
};

/** Who asks: the account page's session in use and the browser's cookies (for its OAuth login session). */
export type CurrentBrowser = { sessionId: number; cookies: BrowserCookies };

/** Every live sign-in of the user, the account page's first, each newest first. */
export async function listSignIns(deps: Deps, userId: number, current: CurrentBrowser): Promise<SignInSummary[]> {
  const nowMs = deps.clock.nowMs();
  const idleMs = deps.config.sessionIdleMinutes * 60_000;
  const [sessions, logins] = await Promise.all([listUserSessions(deps.store.db, userId), listLoginSessions(deps, userId, current.cookies)]);
  const account: SignInSummary[] = sessions
    // Past a timeout the session is over, even if no request has deleted it yet.
    .filter((s) => Date.parse(s.expires_at) > nowMs && Date.parse(s.last_seen_at) + idleMs > nowMs)
    .map((s) => ({ ref: `account-${s.id}`, kind: 'account', userAgent: s.user_agent, ip: s.ip, startedAt: s.created_at, lastSeenAt: s.last_seen_at, current: s.id === current.sessionId, secondFactor: s.second_factor }));
  const oauth: SignInSummary[] = logins.map((l) => ({ ref: `oauth-${l.uid}`, kind: 'oauth', userAgent: l.userAgent, ip: l.ip, startedAt: l.startedAt, lastSeenAt: l.lastSeenAt, current: l.current }));
  return [...account, ...oauth];
}

const NO_SUCH_SESSION = 'You have no such session. It may have ended already.';

/**
 * Ends one of the user's sign-ins, not the one in use (that is the Log out button's). A name
 * that is not one of the user's live sign-ins is refused as not found, and nothing ends.
 */
export async function endSignIn(deps: Deps, account: AccountRef, current: CurrentBrowser, ref: string, context: AuditContext): Promise<void> {
  const match = /^(account)-(\d{1,15})$|^(oauth)-([\w-]{1,64})$/.exec(ref);
  if (!match) throw new ApiError('not_found', { detail: NO_SUCH_SESSION });
  const kind: SignInKind = match[1] ? 'account' : 'oauth';
  const currentUid = kind === 'oauth' ? await loginSessionUidOfBrowser(deps, current.cookies) : undefined;
  if ((kind === 'account' && Number(match[2]) === current.sessionId) || (kind === 'oauth' && match[4] === currentUid)) {
    throw new ApiError('invalid', { detail: 'This is the session you are using. Use Log out to end it.' });
  }
  await deps.store.write(async (trx) => {
    const ended = kind === 'account' ? (await deleteSessionOfUser(trx, account.id, Number(match[2]))) > 0 : await endLoginSessionOf(trx, account.id, match[4]!);
    if (!ended) throw new ApiError('not_found', { detail: NO_SUCH_SESSION });
    await recordAuditEvent(deps, { ...context, event: 'session_ended', userId: account.id, username: account.username, detail: { kind } }, trx);
  });
}

/** Ends every sign-in of the user but this browser's (its account-page session and OAuth login); how many ended. */
export async function endOtherSignIns(deps: Deps, account: AccountRef, current: CurrentBrowser, context: AuditContext): Promise<number> {
  const keepUid = await loginSessionUidOfBrowser(deps, current.cookies);
  return deps.store.write(async (trx) => {
    const accountSessions = await deleteOtherSessionsOfUser(trx, account.id, current.sessionId);
    const loginSessions = await endOtherLoginSessions(trx, account.id, keepUid);
    // Only what happened is recorded: with no other session (a second click), nothing.
    if (accountSessions + loginSessions === 0) return 0;
    await recordAuditEvent(deps, { ...context, event: 'sessions_ended', userId: account.id, username: account.username, detail: { account_sessions: accountSessions, login_sessions: loginSessions } }, trx);
    return accountSessions + loginSessions;
  });
}
