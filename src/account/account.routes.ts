// The account settings page at /account/. Every form posts to its own path,
// is checked for the session's CSRF token, calls one existing service, then redirects back
// (Post/Redirect/Get). A form with errors is shown again at once (400) with each message beside
// its field. A new token is stored nowhere but its digest: it travels to the next GET in a
// one-minute HttpOnly cookie, which that GET shows once and clears.
import { randomBytes } from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../kernel/errors.ts';
import { toApiError } from '../http/error-handler.ts';
import { cookieJar, hostCookie } from '../web/cookies.ts';
import { createCsrf, isCrossSiteForm } from '../web/csrf.ts';
import { formOf, queryParam, type Form } from '../web/forms.ts';
import type { Html } from '../web/html.ts';
import { messagePage } from '../web/layout.ts';
import { seeOther, sendPage } from '../web/send.ts';
import { selfContext } from '../audit/audit-events.ts';
import { loginRefusal, type SignIn } from '../auth/sign-in.ts';
import type { AccountRef } from '../auth/principal.ts';
import { addEmail, deleteEmail, listUserEmails } from '../emails/emails.service.ts';
import { makeEmailPrimary, requestVerification, type VerificationDeps } from '../emails/verification.service.ts';
import { createToken, listTokens, revokeToken } from '../tokens/tokens.service.ts';
import { listGrants, revokeGrant } from '../oauth/grants.service.ts';
import { TOKEN_SCOPES } from '../auth/scopes.ts';
import { isWellFormedToken, tokenHint } from '../auth/token-format.ts';
import { getUser, setPassword, updateProfile } from '../users/users.service.ts';
import { resendSignupVerification } from '../signup/signup.service.ts';
import { errorsFor, EXPIRY_CHOICES, loginPage, noticeFor, settingsPage, type FormErrors } from './account.pages.ts';
import { listSecurityLog } from '../audit/audit.service.ts';
import { securityLogSection } from '../audit/security-log.pages.ts';
import { listRefreshTokens, revokeRefreshToken } from '../registry/refresh-tokens.ts';
import { REGISTRY_LOGIN_REVOKE_PATH, registryLoginsSection } from '../registry/registry-logins.pages.ts';
import { registerAccountDeletion } from './deletion.routes.ts';
import { createSession, endOtherSessions, endSession, resumeSession, type ActiveSession } from './sessions.service.ts';
import { endOtherSignIns, endSignIn, listSignIns, type CurrentBrowser } from './sign-ins.service.ts';
import { storableUserAgent } from '../web/user-agent.ts';
import { sendPasswordChangedNotice, sendTokenCreatedNotice } from './password-reset.service.ts';
import { beginSecondStep, confirmWithSecondFactor, registerTwoFactorPages } from './two-factor.routes.ts';
import { twoFactorStatus, type FactorMethod } from '../two-factor/two-factor.service.ts';
import { twoFactorSection } from '../two-factor/two-factor.pages.ts';

const SESSION_COOKIE = 'account_session';
const LOGIN_CSRF_COOKIE = 'account_login_csrf';
// How long a login form stays good: its CSRF pair carries the time it was made.
const LOGIN_FORM_SECONDS = 60 * 60;
const NEW_TOKEN_COOKIE = 'account_new_token';
/** What a session may reach before it has set up a second factor, when REQUIRE_2FA is on (route patterns). */
const ENROLMENT_ROUTES = /^\/account\/(|two-factor\/.*|logout)$/;

/** A session of the account page, with the CSRF token of its forms. */
type PageSession = ActiveSession & { csrfToken: string };

declare module 'fastify' {
  interface FastifyRequest {
    accountSession: PageSession | null;
  }
}

function send(reply: FastifyReply, status: number, page: Html): FastifyReply {
  // The account pages may run the passkey script (src/web/webauthn-script.ts); no other.
  return sendPage(reply, status, page, { referrerPolicy: 'same-origin', webauthn: true });
}

function answerPageError(error: FastifyError, request: FastifyRequest, reply: FastifyReply, basePath: string): FastifyReply {
  const known = toApiError(error);
  if (known && known.status < 500) return send(reply, known.status, messagePage('Something is wrong with this request', known.detail, { href: `${basePath}/`, label: 'Back to your account' }));
  if (known?.code === 'service_unavailable') {
    // Busy, not broken: the same 503 and Retry-After as the API, as a page; logged once a second
    // at most by the hashing limiter's reporter, not here.
    for (const [name, value] of Object.entries(known.headers)) reply.header(name, value);
    return send(reply, 503, messagePage('The service is busy', 'Too many requests are being handled just now. Wait a moment, then try again.', { href: `${basePath}/`, label: 'Back to your account' }));
  }
  request.log.error({ err: error }, 'unexpected error');
  return send(reply, 500, messagePage('Something went wrong', 'Your request could not be handled just now. Try again in a moment.', { href: `${basePath}/`, label: 'Back to your account' }));
}

/** The messages of a service's 400 for the form's fields; anything else is not the user's to fix here. */
function fieldErrorsOf(error: unknown, field: string): FormErrors['errors'] {
  if (!(error instanceof ApiError) || error.status === 401) throw error;
  // A refusal that names its field (busy or throttled password check) is shown beside it.
  if (error.fieldErrors && (error.code === 'too_many_requests' || error.code === 'service_unavailable')) return { ...error.fieldErrors };
  if (error.status >= 500) throw error;
  if (error.code === 'too_many_requests') {
    const minutes = Math.max(1, Math.ceil(Number(error.headers['retry-after'] ?? 60) / 60));
    return { [field]: [`Too many verification mails for this address. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`] };
  }
  return error.fieldErrors ? { ...error.fieldErrors } : { [field]: [error.detail] };
}

export type AccountPageOptions = {
  /** Checks the login form's password (and the current one when it is changed). */
  signIn: SignIn;
  /**
   * A server secret shared by every instance: the login form's token is an HMAC of the random
   * value in its cookie under it, so a cookie planted by someone else (a sibling subdomain, a man
   * in the middle on plain http) matches no token they could have computed.
   */
  csrfKey: string;
  /** Ends the browser's other sign-ins (the authorization server's), given its parsed cookies. */
  onLogout(cookies: { [name: string]: string | undefined }): Promise<void>;
};

export function registerAccountPages(app: FastifyInstance, deps: VerificationDeps, { signIn, csrfKey, onLogout }: AccountPageOptions): void {
  const basePath = `${new URL(deps.config.publicUrl).pathname.replace(/\/$/, '')}/account`;
  const secure = new URL(deps.config.publicUrl).protocol === 'https:';
  const publicOrigin = new URL(deps.config.publicUrl).origin;
  const cookies = cookieJar({ path: basePath, secure });
  // The login form's cookie is one no other host can set (a __Host- cookie on https).
  const loginCookie = hostCookie(LOGIN_CSRF_COOKIE, { path: basePath, secure });
  const csrf = createCsrf(csrfKey);
  /** The cookie's value was made by this service (the form's token matches it) within the last hour. */
  const validLoginForm = (nonce: string | undefined, token: string | undefined): boolean => {
    if (nonce === undefined || !csrf.accepts('account-login', nonce, token)) return false;
    const madeAt = Number(nonce.split('.')[0]);
    return Number.isSafeInteger(madeAt) && deps.clock.nowMs() / 1000 - madeAt <= LOGIN_FORM_SECONDS;
  };
  const options = { schema: { hide: true }, errorHandler: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => answerPageError(error, request, reply, basePath) };

  app.decorateRequest('accountSession', null);

  // The pages that need a session: no session → the login page; a POST without the session's
  // CSRF token → 403.
  const requireSession = async (request: FastifyRequest, reply: FastifyReply) => {
    const sessionId = request.cookies[SESSION_COOKIE];
    const session = await resumeSession(deps, sessionId);
    if (!session || sessionId === undefined) {
      if (request.method === 'GET' || request.method === 'HEAD') return seeOther(reply, `${basePath}/login`);
      return send(reply, 401, messagePage('Your session has ended', 'Log in again to continue.', { href: `${basePath}/login`, label: 'Log in' }));
    }
    if (request.method === 'POST' && (isCrossSiteForm(request, publicOrigin) || !csrf.accepts('account-session', sessionId, formOf(request).csrf_token))) return forbidden(reply);
    request.accountSession = { ...session, csrfToken: csrf.tokenFor('account-session', sessionId) };
    // REQUIRE_2FA: until the account has a second factor, its session may only set one up (the
    // settings page shows nothing else) or log out.
    if (deps.config.require2fa && !ENROLMENT_ROUTES.test(request.routeOptions.url ?? '') && !(await twoFactorStatus(deps, session.userId)).on) {
      if (request.method === 'GET' || request.method === 'HEAD') return seeOther(reply, `${basePath}/`);
      return send(reply, 403, messagePage('Set up two-factor authentication first', 'This service requires a second factor: set up an authenticator app or a passkey on your account page first.', { href: `${basePath}/`, label: 'Back to your account' }));
    }
  };
  const forbidden = (reply: FastifyReply) =>
    send(reply, 403, messagePage('This form has expired', 'The form was not sent from this page, or it is too old. Go back, reload the page and try again.', { href: `${basePath}/`, label: 'Back to your account' }));
  const guarded = { ...options, preHandler: requireSession };
  const sessionOf = (request: FastifyRequest): PageSession => request.accountSession!;
  const accountOf = (request: FastifyRequest): AccountRef => ({ id: sessionOf(request).userId, username: sessionOf(request).username });
  const browserOf = (request: FastifyRequest): CurrentBrowser => ({ sessionId: sessionOf(request).id, cookies: request.cookies });

  const renderSettings = async (request: FastifyRequest, reply: FastifyReply, status: number, extra: { state?: FormErrors; newToken?: { token: string; name: string }; notice?: string }) => {
    const session = sessionOf(request);
    const [user, emails, tokens, applications, sessions, factors, logins, log] = await Promise.all([
      getUser(deps, session.userId),
      listUserEmails(deps, accountOf(request)),
      listTokens(deps, session.username),
      listGrants(deps, session.userId),
      listSignIns(deps, session.userId, browserOf(request)),
      twoFactorStatus(deps, session.userId),
      deps.config.registryServices.length > 0 ? listRefreshTokens(deps, session.username) : undefined,
      // A cursor the page did not make starts from the newest.
      listSecurityLog(deps, accountOf(request), { cursor: queryParam(request, 'log'), limit: 20 }).catch(() => listSecurityLog(deps, accountOf(request), { limit: 20 })),
    ]);
    const securityLog = securityLogSection({ base: basePath, username: session.username, ...log });
    const registryLogins = logins && registryLoginsSection({ base: basePath, csrfToken: session.csrfToken, logins, errors: errorsFor(extra.state, 'registry_login_revoke', 'registry_login') });
    const twoFactor = twoFactorSection({ base: basePath, csrfToken: session.csrfToken, status: factors, ...(extra.state ? { form: extra.state.form, errors: extra.state.errors } : {}) });
    const mustEnrol = deps.config.require2fa && !factors.on;
    return send(
      reply,
      status,
      settingsPage({ base: basePath, csrfToken: session.csrfToken, passwordMinLength: deps.config.passwordMinLength, user, emails, tokens, applications, sessions, registryLogins, securityLog, twoFactor, twoFactorOn: factors.on, twoFactorPasskeys: factors.passkeys.length > 0, mustEnrol, ...extra }),
    );
  };

  const showLogin = (reply: FastifyReply, status: number, view: { username?: string; error?: string }) => {
    const nonce = `${Math.floor(deps.clock.nowMs() / 1000)}.${randomBytes(18).toString('base64url')}`;
    loginCookie.jar.set(reply, loginCookie.name, nonce);
    return send(reply, status, loginPage({ base: basePath, csrfToken: csrf.tokenFor('account-login', nonce), signupLink: deps.config.signup !== 'closed', ...view }));
  };

  /** Signs the browser in: a session (remembering the second factor given), its cookie, the account page. */
  const startSession = async (request: FastifyRequest, reply: FastifyReply, account: AccountRef, factor: FactorMethod | null) => {
    // Kept for the list of the user's sessions only: the User-Agent is the client's word.
    const origin = { userAgent: storableUserAgent(request.headers['user-agent']), ip: request.ip };
    cookies.set(reply, SESSION_COOKIE, await createSession(deps, account, origin, factor));
    loginCookie.jar.clear(reply, loginCookie.name);
    return seeOther(reply, `${basePath}/`);
  };

  app.get('/account/login', options, async (request, reply) => {
    if (await resumeSession(deps, request.cookies[SESSION_COOKIE])) return seeOther(reply, `${basePath}/`);
    return showLogin(reply, 200, {});
  });

  app.post('/account/login', options, async (request, reply) => {
    const form = formOf(request);
    // Login CSRF (someone signing the victim in to the attacker's account): the form must come
    // from our own page, and its token must be the one we derived from this browser's cookie.
    if (isCrossSiteForm(request, publicOrigin) || !validLoginForm(request.cookies[loginCookie.name], form.csrf_token)) return forbidden(reply);
    const username = (form.username ?? '').trim();
    const password = form.password ?? '';
    if (username === '' || password === '') return showLogin(reply, 400, { username, error: 'Enter your username and password.' });
    const result = await signIn.password({ username, password, ip: request.ip, via: 'account_page' });
    // Two-factor on: nobody is signed in yet; the second step asks for the factor.
    if (!result.ok && result.reason === 'second_factor') return beginSecondStep(deps, cookies, reply, result.account, basePath);
    if (!result.ok) {
      // A signed-up account whose address is not verified yet: its password proved it is theirs,
      // so a new link goes out (a lost mail would otherwise leave no way in).
      if (result.reason === 'unverified') await resendSignupVerification(deps, result.account);
      const refusal = loginRefusal(result);
      if (refusal.retryAfter !== undefined) reply.header('retry-after', refusal.retryAfter);
      return showLogin(reply, refusal.status, { username, error: refusal.message });
    }
    return startSession(request, reply, result.account, null);
  });

  app.post('/account/logout', guarded, async (request, reply) => {
    await endSession(deps, sessionOf(request).id);
    // Logging out logs this browser out of the authorization server too (its cookie reaches here).
    await onLogout(request.cookies);
    cookies.clear(reply, SESSION_COOKIE);
    return seeOther(reply, `${basePath}/login`);
  });

  /** The token created just before this GET, if its cookie is here and names one of this user's tokens; cleared either way. */
  const takeNewToken = async (request: FastifyRequest, reply: FastifyReply) => {
    const value = request.cookies[NEW_TOKEN_COOKIE];
    if (value === undefined) return undefined;
    cookies.clear(reply, NEW_TOKEN_COOKIE);
    const [id, token] = value.split('.');
    if (!token || !isWellFormedToken(token)) return undefined;
    const summary = (await listTokens(deps, sessionOf(request).username)).find((t) => String(t.id) === id && t.hint === `${tokenHint(token)}…`);
    return summary && summary.status === 'active' ? { token, name: summary.name } : undefined;
  };

  app.get('/account/', guarded, async (request, reply) => {
    // /account and /account/ reach the same route; the relative links need the slash.
    if (request.url.split('?')[0]!.endsWith('/account')) return seeOther(reply, `${basePath}/`);
    const newToken = await takeNewToken(request, reply);
    return renderSettings(request, reply, 200, { notice: noticeFor(queryParam(request, 'done')), ...(newToken ? { newToken } : {}) });
  });

  /** A form's handler: success → back to the page with a notice; a 400 → the page again with the messages. */
  const handle = (path: string, formName: string, field: string, run: (request: FastifyRequest, form: Form) => Promise<string>) => {
    app.post(path, guarded, async (request, reply) => {
      const form = formOf(request);
      try {
        return seeOther(reply, `${basePath}/?done=${await run(request, form)}`);
      } catch (error) {
        const values = { ...form };
        delete values.csrf_token;
        delete values.current_password;
        delete values.new_password;
        const state: FormErrors = { form: formName, errors: fieldErrorsOf(error, field), values, ...(form.email !== undefined ? { email: form.email } : {}) };
        if (formName === 'token_revoke') state.email = form.token_id;
        if (formName === 'application_revoke') state.email = form.client_id;
        if (formName === 'session_end') state.email = form.session;
        // The per-address limit of verification mails: the page says so, and how long to wait.
        const retryAfter = error instanceof ApiError ? error.headers['retry-after'] : undefined;
        if (retryAfter !== undefined) reply.header('retry-after', retryAfter);
        return renderSettings(request, reply, error instanceof ApiError ? error.status : 400, { state });
      }
    });
  };

  handle('/account/profile', 'profile', 'full_name', async (request, form) => {
    const changes: Form = {};
    for (const name of ['full_name', 'location', 'company', 'profile_url']) if (form[name] !== undefined) changes[name] = form[name];
    // Empty means "keep the current one": the page cannot show the stored Gravatar address.
    if (form.gravatar_email) changes.gravatar_email = form.gravatar_email;
    await updateProfile(deps, sessionOf(request).userId, changes);
    return 'profile';
  });

  handle('/account/emails/add', 'email_add', 'email', async (request, form) => {
    await addEmail(deps, accountOf(request), form.email, selfContext(request));
    return 'email_added';
  });
  handle('/account/emails/remove', 'email_remove', 'email', async (request, form) => {
    await deleteEmail(deps, accountOf(request), form.email, selfContext(request));
    return 'email_removed';
  });
  handle('/account/emails/verify', 'email_verify', 'email', async (request, form) => {
    await requestVerification(deps, accountOf(request), form.email);
    return 'verification_sent';
  });
  handle('/account/emails/primary', 'email_primary', 'email', async (request, form) => {
    await makeEmailPrimary(deps, accountOf(request), form.email, selfContext(request));
    return 'primary';
  });

  app.post('/account/tokens/create', guarded, async (request, reply) => {
    const form = formOf(request);
    const scopes = TOKEN_SCOPES.filter((s) => form[`scope_${s}`] !== undefined);
    const expiry = EXPIRY_CHOICES[form.expires_in ?? 'never'];
    const values = { ...form };
    delete values.csrf_token;
    if (!expiry) return renderSettings(request, reply, 400, { state: { form: 'token_create', errors: { expires_in: ['Choose one of the listed periods.'] }, values } });
    try {
      const created = await createToken(
        deps,
        { username: sessionOf(request).username, scopes, name: form.name ?? '', ...(expiry.ms === undefined ? {} : { expiresInMs: expiry.ms }) },
        selfContext(request),
      );
      cookies.set(reply, NEW_TOKEN_COOKIE, `${created.summary.id}.${created.token}`, 60);
      await sendTokenCreatedNotice(deps, sessionOf(request).userId, { name: created.summary.name, scopes: created.summary.scopes, expiresAt: created.summary.expires_at });
      return seeOther(reply, `${basePath}/?done=token_created`);
    } catch (error) {
      return renderSettings(request, reply, 400, { state: { form: 'token_create', errors: fieldErrorsOf(error, 'name'), values } });
    }
  });

  handle(`/account${REGISTRY_LOGIN_REVOKE_PATH}`, 'registry_login_revoke', 'registry_login', async (request, form) => {
    const id = Number(form.registry_login_id);
    // Only the user's own: revokeRefreshToken answers 404 for anyone else's (the CLI may end any).
    await revokeRefreshToken(deps, Number.isSafeInteger(id) ? id : -1, { ownerId: sessionOf(request).userId, context: selfContext(request) });
    return 'registry_login_revoked';
  });

  handle('/account/tokens/revoke', 'token_revoke', 'token', async (request, form) => {
    const session = sessionOf(request);
    // Only the user's own tokens: revokeToken itself takes any id (it serves the CLI).
    const own = (await listTokens(deps, session.username)).some((t) => String(t.id) === form.token_id);
    if (!own) throw new ApiError('not_found', { detail: 'You have no such token.' });
    await revokeToken(deps, form.token_id!, selfContext(request));
    return 'token_revoked';
  });

  handle('/account/applications/revoke', 'application_revoke', 'client_id', async (request, form) => {
    const session = sessionOf(request);
    await revokeGrant(deps, session.userId, session.username, form.client_id ?? '', selfContext(request));
    return 'application_revoked';
  });

  // The Sessions section (src/account/sessions.pages.ts): one sign-in, or all but this browser's.
  handle('/account/sessions/end', 'session_end', 'session', async (request, form) => {
    await endSignIn(deps, accountOf(request), browserOf(request), form.session ?? '', selfContext(request));
    return 'session_ended';
  });
  handle('/account/sessions/end-others', 'session_end', 'session', async (request) => {
    await endOtherSignIns(deps, accountOf(request), browserOf(request), selfContext(request));
    return 'sessions_ended';
  });

  handle('/account/password', 'password', 'new_password', async (request, form) => {
    const session = sessionOf(request);
    const current = form.current_password ?? '';
    const next = form.new_password ?? '';
    if (current === '') throw new ApiError('invalid', { fieldErrors: { current_password: ['Enter your current password.'] } });
    // Behind the same brute-force limits as the login: a stolen session cannot guess the password.
    const checked = await signIn.password({ username: session.username, password: current, ip: request.ip, via: 'password_check' });
    if (!checked.ok) {
      const refusal = loginRefusal(checked);
      const message = checked.reason === 'invalid' ? 'This is not your current password.' : refusal.message;
      const headers: Record<string, string> = refusal.retryAfter === undefined ? {} : { 'retry-after': refusal.retryAfter };
      // The login form's statuses: 400 wrong password, 429 throttled, 503 busy.
      const code = checked.reason === 'throttled' ? 'too_many_requests' : checked.reason === 'busy' ? 'service_unavailable' : 'invalid';
      throw new ApiError(code, { fieldErrors: { current_password: [message] }, headers });
    }
    try {
      await setPassword(deps, session.username, next, selfContext(request));
    } catch (error) {
      if (error instanceof ApiError && error.fieldErrors?.password) throw new ApiError('invalid', { fieldErrors: { new_password: error.fieldErrors.password } });
      throw error;
    }
    // setPassword has told every cache to forget the old credentials; the other sessions end too.
    await endOtherSessions(deps, session.userId, session.id);
    await sendPasswordChangedNotice(deps, session.userId, 'account_page');
    return 'password';
  });

  registerTwoFactorPages(app, {
    deps,
    signIn,
    basePath,
    publicOrigin,
    csrf,
    cookies,
    options,
    guarded,
    accountOf,
    csrfTokenOf: (request) => sessionOf(request).csrfToken,
    send,
    forbidden,
    validLoginForm: (request, form) => validLoginForm(request.cookies[loginCookie.name], form.csrf_token),
    startSession,
    showLogin,
    renderSettings,
  });

  registerAccountDeletion(app, {
    deps,
    signIn,
    confirmSecondFactor: async (request, form) => {
      if ((await twoFactorStatus(deps, sessionOf(request).userId)).on) await confirmWithSecondFactor(deps, signIn, request, accountOf(request), form);
    },
    guarded,
    sessionOf,
    renderSettings,
    send,
    home: `${basePath.slice(0, -'/account'.length)}/`,
    endBrowser: async (request, reply) => {
      await onLogout(request.cookies);
      cookies.clear(reply, SESSION_COOKIE);
    },
  });
}
