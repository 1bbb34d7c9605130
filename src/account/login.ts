// Logging in with a username and a password from a form: the same checks, brute-force limits and
// audit trail as HTTP Basic (it goes through authenticateThrottled with the app's one throttle),
// then a session. Kept apart from the account page so the OAuth login page can use it too.
import { ApiError } from '../kernel/errors.ts';
import type { Deps } from '../kernel/deps.ts';
import { authenticateThrottled } from '../auth/authenticate.ts';
import type { LoginThrottle } from '../auth/login-throttle.ts';
import { createSession } from './sessions.service.ts';

export type LoginResult =
  | { ok: true; sessionId: string; userId: number; username: string }
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'throttled'; retryAfterSeconds: number }
  /** Password hashing is at capacity (HASH_QUEUE full): nothing was checked; try again shortly. */
  | { ok: false; reason: 'busy'; retryAfterSeconds: number };

function basicHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

/** Checks a username and password (never a token) behind the limits; the same 401 whatever went wrong. */
export async function checkPassword(deps: Deps, throttle: LoginThrottle, username: string, password: string, ip: string): Promise<LoginResult | { ok: true; userId: number; username: string }> {
  // A colon would end the Basic user-id early; no username has one. An empty password, or one
  // shaped like a token, is not a password (tokens do not log in to the page) but still a failure.
  if (username.includes(':')) username = username.replaceAll(':', '');
  try {
    const principal = await authenticateThrottled(deps, throttle, basicHeader(username, password), ip);
    if (principal.method !== 'password') return { ok: false, reason: 'invalid' };
    return { ok: true, userId: principal.userId, username: principal.username };
  } catch (error) {
    if (error instanceof ApiError && error.code === 'not_authenticated') return { ok: false, reason: 'invalid' };
    if (error instanceof ApiError && (error.code === 'too_many_requests' || error.code === 'service_unavailable')) {
      const reason = error.code === 'too_many_requests' ? 'throttled' : 'busy';
      return { ok: false, reason, retryAfterSeconds: Number(error.headers['retry-after'] ?? 1) };
    }
    throw error;
  }
}

/** What a login form says when the check did not succeed; the status and Retry-After to answer with. */
export function loginRefusal(result: Exclude<LoginResult, { ok: true }>): { status: number; retryAfter?: string; message: string } {
  const seconds = result.reason === 'invalid' ? 0 : result.retryAfterSeconds;
  const wait = `${seconds} second${seconds === 1 ? '' : 's'}`;
  switch (result.reason) {
    case 'invalid':
      return { status: 401, message: 'The username or password is not right.' };
    case 'throttled':
      return { status: 429, retryAfter: String(seconds), message: `Too many failed attempts. Wait ${wait}, then try again.` };
    case 'busy':
      return { status: 503, retryAfter: String(seconds), message: `The service is too busy to check your password just now. Wait ${wait}, then try again.` };
  }
}

/** A successful check starts a session. */
export async function loginWithPassword(deps: Deps, throttle: LoginThrottle, username: string, password: string, ip: string): Promise<LoginResult> {
  const checked = await checkPassword(deps, throttle, username, password, ip);
  if (!checked.ok) return checked;
  const sessionId = await createSession(deps, checked.userId);
  return { ok: true, sessionId, userId: checked.userId, username: checked.username };
}
