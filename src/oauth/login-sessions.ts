// The authorization server's login session of a browser: the provider's Session, named by the
// id in its cookie. Its cookie has Path=/, so the account pages see it too, and can end it when
// the browser logs out there.
import { sha256Hex } from '../kernel/crypto.ts';
import type { Deps } from '../kernel/deps.ts';
import type { CredentialChangeHandler } from '../kernel/events.ts';
import { deleteArtifact, deleteLoginSessionsOf, findArtifact } from './artifacts.repository.ts';

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
