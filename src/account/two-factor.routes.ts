// The account page's half of two-factor authentication (the rules are in src/two-factor):
// - the login's second step: after a right password, /account/login/second-factor asks for a code
//   or a passkey; the step is a row of sign_in_steps named by a 5-minute cookie, and every wrong
//   code counts toward the account's brute-force limits (SignIn.secondFactor);
// - a passkey alone signs in from the login page;
// - the settings page's section: set up an authenticator app, add, rename and remove passkeys,
//   make new recovery codes, turn two-factor off (a second factor asked again);
// - `confirmWithSecondFactor`, which deleting the account uses too.
// The passkey options are JSON, fetched by the page script (src/web/webauthn-script.ts).
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteShorthandOptions } from 'fastify';
import { ApiError } from '../kernel/errors.ts';
import type { CookieJar } from '../web/cookies.ts';
import type { Csrf } from '../web/csrf.ts';
import { isCrossSiteForm } from '../web/csrf.ts';
import { formOf, type Form } from '../web/forms.ts';
import type { Html } from '../web/html.ts';
import { selfContext } from '../audit/audit-events.ts';
import type { AccountRef } from '../auth/principal.ts';
import type { SignIn } from '../auth/sign-in.ts';
import { peekStep, startStep, takeStep, STEP_SECONDS } from '../two-factor/sign-in-steps.ts';
import { assertionCeremony, checkAssertion, finishRegistration, registrationCeremony, removeAccountPasskey, renameAccountPasskey, type Ceremony } from '../two-factor/passkeys.ts';
import { checkCode, confirmTotp, pendingTotpSetup, regenerateRecoveryCodes, removeTotp, startTotpSetup, turnOffTwoFactor, twoFactorStatus, type FactorMethod, type TwoFactorDeps } from '../two-factor/two-factor.service.ts';
import { recoveryCodesPage, secondStepPage, totpSetupPage } from '../two-factor/two-factor.pages.ts';
import { findUser } from '../users/users.service.ts';

const SECOND_STEP_COOKIE = 'account_second_factor';

export type TwoFactorRoutesOptions = {
  deps: TwoFactorDeps;
  signIn: SignIn;
  basePath: string;
  publicOrigin: string;
  csrf: Csrf;
  cookies: CookieJar;
  options: RouteShorthandOptions;
  guarded: RouteShorthandOptions;
  accountOf(request: FastifyRequest): AccountRef;
  csrfTokenOf(request: FastifyRequest): string;
  send(reply: FastifyReply, status: number, page: Html): FastifyReply;
  forbidden(reply: FastifyReply): FastifyReply;
  /** The login form's cookie and token are this service's and fresh. */
  validLoginForm(request: FastifyRequest, form: Form): boolean;
  /** Signs the browser in: a session, its cookie, onwards to the account page. */
  startSession(request: FastifyRequest, reply: FastifyReply, account: AccountRef, factor: FactorMethod | null): Promise<FastifyReply>;
  /** The login page again, with a message. */
  showLogin(reply: FastifyReply, status: number, view: { username?: string; error?: string }): FastifyReply;
  /** The settings page again, with a form's messages. */
  renderSettings(request: FastifyRequest, reply: FastifyReply, status: number, extra: { state: { form: string; errors: Record<string, string[]>; values?: Record<string, string> } }): Promise<FastifyReply>;
};

/** A passkey ceremony's options as the page script reads them, or its error as JSON. */
async function sendCeremony(reply: FastifyReply, make: () => Promise<Ceremony>): Promise<FastifyReply> {
  try {
    return await reply.code(200).header('cache-control', 'no-store').send(await make());
  } catch (error) {
    if (error instanceof ApiError && error.status < 500) return reply.code(error.status).header('cache-control', 'no-store').send({ detail: error.detail, code: error.code });
    throw error;
  }
}

/**
 * Checks the second factor a form carries (a code, or a passkey's answer to a ceremony of this
 * account) behind the brute-force limits. The factor; or throws the refusal for the `code` field.
 */
export async function confirmWithSecondFactor(deps: TwoFactorDeps, signIn: SignIn, request: FastifyRequest, account: AccountRef, form: Form): Promise<FactorMethod> {
  const usesPasskey = (form.passkey_response ?? '') !== '';
  const code = (form.code ?? '').trim();
  if (!usesPasskey && code === '') throw new ApiError('invalid', { fieldErrors: { code: ['Enter a code from your authenticator app or a recovery code, or use a passkey.'] } });
  const result = await signIn.secondFactor({
    account,
    ip: request.ip,
    verify: async () => (usesPasskey ? ((await checkAssertion(deps, { step: form.passkey_step, response: form.passkey_response }, account)) ? 'passkey' : undefined) : checkCode(deps, account, code, selfContext(request))),
  });
  if (result.ok) return result.method as FactorMethod;
  if (result.reason === 'throttled') {
    throw new ApiError('too_many_requests', { fieldErrors: { code: [`Too many failed attempts. Wait ${result.retryAfterSeconds} seconds, then try again.`] }, headers: { 'retry-after': String(result.retryAfterSeconds) } });
  }
  throw new ApiError('invalid', { fieldErrors: { code: [usesPasskey ? 'The passkey could not be checked. Try again.' : 'This code is not right, or was used already.'] } });
}

export function registerTwoFactorPages(app: FastifyInstance, o: TwoFactorRoutesOptions): void {
  const { deps, basePath, csrf } = o;

  // ---- the login's second step ----

  /** The second step this browser is in, or the login page again (its cookie cleared). */
  const secondStep = async (request: FastifyRequest, reply: FastifyReply) => {
    const id = request.cookies[SECOND_STEP_COOKIE];
    const step = await peekStep(deps, 'second_factor', id);
    const user = step?.userId ? await findUser(deps, step.userId) : undefined;
    if (!step || !user || id === undefined) {
      o.cookies.clear(reply, SECOND_STEP_COOKIE);
      o.showLogin(reply, 401, { error: 'That took too long: log in again.' });
      return undefined;
    }
    return { id, account: { id: user.id, username: user.username } };
  };
  const showSecondStep = async (reply: FastifyReply, status: number, pending: { id: string; account: AccountRef }, error?: string) => {
    const factors = await twoFactorStatus(deps, pending.account.id);
    return o.send(
      reply,
      status,
      secondStepPage({
        action: `${basePath}/login/second-factor`,
        passkeyOptions: `${basePath}/login/second-factor/passkey-options`,
        passkeyAction: `${basePath}/login/second-factor`,
        csrfToken: csrf.tokenFor('account-second-factor', pending.id),
        cancelHref: `${basePath}/login`,
        username: pending.account.username,
        totp: factors.totp === 'on',
        passkeys: factors.passkeys.length > 0,
        ...(error ? { error } : {}),
      }),
    );
  };
  const stepFormOk = (request: FastifyRequest, id: string, form: Form) => !isCrossSiteForm(request, o.publicOrigin) && csrf.accepts('account-second-factor', id, form.csrf_token);

  app.get('/account/login/second-factor', o.options, async (request, reply) => {
    const pending = await secondStep(request, reply);
    return pending ? showSecondStep(reply, 200, pending) : reply;
  });

  app.post('/account/login/second-factor', o.options, async (request, reply) => {
    const pending = await secondStep(request, reply);
    if (!pending) return reply;
    const form = formOf(request);
    if (!stepFormOk(request, pending.id, form)) return o.forbidden(reply);
    let factor: FactorMethod;
    try {
      factor = await confirmWithSecondFactor(deps, o.signIn, request, pending.account, form);
    } catch (error) {
      if (!(error instanceof ApiError) || !error.fieldErrors?.code) throw error;
      const retryAfter = error.headers['retry-after'];
      if (retryAfter !== undefined) reply.header('retry-after', retryAfter);
      return showSecondStep(reply, error.status === 400 ? 401 : error.status, pending, error.fieldErrors.code.join(' '));
    }
    // The step is used once: a second request with it (a double click) starts over.
    if (!(await takeStep(deps, 'second_factor', pending.id))) return o.showLogin(reply, 401, { error: 'That took too long: log in again.' });
    o.cookies.clear(reply, SECOND_STEP_COOKIE);
    return o.startSession(request, reply, pending.account, factor);
  });

  app.post('/account/login/second-factor/passkey-options', o.options, async (request, reply) => {
    const id = request.cookies[SECOND_STEP_COOKIE];
    const step = await peekStep(deps, 'second_factor', id);
    if (!step?.userId || id === undefined || !stepFormOk(request, id, formOf(request))) return reply.code(403).send({ detail: 'Log in again.', code: 'permission_denied' });
    const user = await findUser(deps, step.userId);
    if (!user) return reply.code(403).send({ detail: 'Log in again.', code: 'permission_denied' });
    return sendCeremony(reply, () => assertionCeremony(deps, { id: user.id, username: user.username }));
  });

  // A passkey alone, from the login page (discoverable: nothing typed).
  app.post('/account/login/passkey-options', o.options, async (request, reply) => {
    if (isCrossSiteForm(request, o.publicOrigin) || !o.validLoginForm(request, formOf(request))) return reply.code(403).send({ detail: 'Reload the page and try again.', code: 'permission_denied' });
    return sendCeremony(reply, () => assertionCeremony(deps));
  });
  app.post('/account/login/passkey', o.options, async (request, reply) => {
    const form = formOf(request);
    if (isCrossSiteForm(request, o.publicOrigin) || !o.validLoginForm(request, form)) return o.forbidden(reply);
    const account = await checkAssertion(deps, { step: form.passkey_step, response: form.passkey_response });
    if (!account) return o.showLogin(reply, 401, { error: 'The passkey could not be used to sign in. Try again, or log in with your password.' });
    return o.startSession(request, reply, account, 'passkey');
  });

  // ---- the settings page's section ----

  app.post('/account/two-factor/totp/start', o.guarded, async (request, reply) => {
    try {
      await startTotpSetup(deps, o.accountOf(request));
    } catch (error) {
      if (error instanceof ApiError && error.status === 400) return o.renderSettings(request, reply, 400, { state: { form: 'two_factor', errors: { two_factor: [error.detail] } } });
      throw error;
    }
    return reply.code(303).header('cache-control', 'no-store').header('location', `${basePath}/two-factor/totp`).send();
  });

  app.get('/account/two-factor/totp', o.guarded, async (request, reply) => {
    const setup = await pendingTotpSetup(deps, o.accountOf(request));
    if (!setup) return reply.code(303).header('cache-control', 'no-store').header('location', `${basePath}/`).send();
    return o.send(reply, 200, await totpSetupPage({ base: basePath, csrfToken: o.csrfTokenOf(request), username: o.accountOf(request).username, ...setup }));
  });

  app.post('/account/two-factor/totp/confirm', o.guarded, async (request, reply) => {
    const account = o.accountOf(request);
    try {
      const { recoveryCodes } = await confirmTotp(deps, account, formOf(request).code ?? '', selfContext(request));
      if (recoveryCodes) return o.send(reply, 200, recoveryCodesPage({ base: basePath, codes: recoveryCodes, turnedOn: true }));
      return reply.code(303).header('cache-control', 'no-store').header('location', `${basePath}/?done=totp_on`).send();
    } catch (error) {
      const setup = await pendingTotpSetup(deps, account);
      if (!(error instanceof ApiError) || !error.fieldErrors?.code || !setup) throw error;
      return o.send(reply, 400, await totpSetupPage({ base: basePath, csrfToken: o.csrfTokenOf(request), username: account.username, ...setup, error: error.fieldErrors.code.join(' ') }));
    }
  });

  const settingsError = (form: string, field: string) => async (request: FastifyRequest, reply: FastifyReply, error: unknown) => {
    if (!(error instanceof ApiError) || error.status >= 500 || error.status === 401) throw error;
    const retryAfter = error.headers['retry-after'];
    if (retryAfter !== undefined) reply.header('retry-after', retryAfter);
    const errors = error.fieldErrors ? { ...error.fieldErrors } : { [field]: [error.detail] };
    return o.renderSettings(request, reply, error.status, { state: { form, errors } });
  };
  const done = (reply: FastifyReply, what: string) => reply.code(303).header('cache-control', 'no-store').header('location', `${basePath}/?done=${what}`).send();

  app.post('/account/two-factor/totp/remove', o.guarded, async (request, reply) => {
    const account = o.accountOf(request);
    const status = await twoFactorStatus(deps, account.id);
    // The last factor goes only with "Turn off", which asks for a factor first.
    if (status.totp !== 'on' || status.passkeys.length === 0) return settingsError('two_factor', 'two_factor')(request, reply, new ApiError('invalid', { detail: 'This is your only second factor: turn two-factor authentication off instead.' }));
    await removeTotp(deps, account, selfContext(request));
    return done(reply, 'totp_removed');
  });

  app.post('/account/two-factor/passkeys/options', o.guarded, async (request, reply) => sendCeremony(reply, () => registrationCeremony(deps, o.accountOf(request))));

  app.post('/account/two-factor/passkeys/add', o.guarded, async (request, reply) => {
    const form = formOf(request);
    try {
      const { recoveryCodes } = await finishRegistration(deps, o.accountOf(request), { step: form.passkey_step ?? '', response: form.passkey_response ?? '', name: form.name ?? '' }, selfContext(request));
      if (recoveryCodes) return o.send(reply, 200, recoveryCodesPage({ base: basePath, codes: recoveryCodes, turnedOn: true }));
      return done(reply, 'passkey_added');
    } catch (error) {
      return settingsError('passkey_add', 'passkey')(request, reply, error);
    }
  });

  app.post('/account/two-factor/passkeys/rename', o.guarded, async (request, reply) => {
    const form = formOf(request);
    try {
      await renameAccountPasskey(deps, o.accountOf(request), form.passkey_id, form.name);
      return done(reply, 'passkey_renamed');
    } catch (error) {
      return settingsError('two_factor', 'two_factor')(request, reply, error);
    }
  });

  app.post('/account/two-factor/passkeys/remove', o.guarded, async (request, reply) => {
    const account = o.accountOf(request);
    const status = await twoFactorStatus(deps, account.id);
    if (status.totp !== 'on' && status.passkeys.length <= 1) return settingsError('two_factor', 'two_factor')(request, reply, new ApiError('invalid', { detail: 'This is your only second factor: turn two-factor authentication off instead.' }));
    try {
      await removeAccountPasskey(deps, account, formOf(request).passkey_id, selfContext(request));
      return done(reply, 'passkey_removed');
    } catch (error) {
      return settingsError('two_factor', 'two_factor')(request, reply, error);
    }
  });

  app.post('/account/two-factor/recovery-codes', o.guarded, async (request, reply) => {
    try {
      const codes = await regenerateRecoveryCodes(deps, o.accountOf(request), selfContext(request));
      return o.send(reply, 200, recoveryCodesPage({ base: basePath, codes, turnedOn: false }));
    } catch (error) {
      return settingsError('two_factor', 'two_factor')(request, reply, error);
    }
  });

  // A passkey ceremony that confirms an action of someone signed in (turning off, deleting).
  app.post('/account/two-factor/confirm-options', o.guarded, async (request, reply) => sendCeremony(reply, () => assertionCeremony(deps, o.accountOf(request))));

  app.post('/account/two-factor/disable', o.guarded, async (request, reply) => {
    const account = o.accountOf(request);
    try {
      await confirmWithSecondFactor(deps, o.signIn, request, account, formOf(request));
    } catch (error) {
      return settingsError('two_factor_disable', 'code')(request, reply, error);
    }
    await turnOffTwoFactor(deps, account, selfContext(request));
    return done(reply, 'two_factor_off');
  });
}

/** Sets the second step's cookie for an account whose password was right; where to go next. */
export async function beginSecondStep(deps: TwoFactorDeps, cookies: CookieJar, reply: FastifyReply, account: AccountRef, basePath: string): Promise<FastifyReply> {
  const id = await startStep(deps, 'second_factor', { userId: account.id, challenge: null });
  cookies.set(reply, SECOND_STEP_COOKIE, id, STEP_SECONDS);
  return reply.code(303).header('cache-control', 'no-store').header('location', `${basePath}/login/second-factor`).send();
}
