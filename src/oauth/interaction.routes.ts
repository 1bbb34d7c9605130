// The login and consent pages of the authorization flow. The provider sends
// the browser to /api/v1.1/o/interaction/UID/ when it needs the user; these routes show a page,
// take the form, and hand the result back to the provider, which then redirects onwards.
// The interaction is bound to the browser by the provider's own cookie; each form also carries
// a CSRF token bound to the interaction's uid (src/web/csrf.ts).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import type { InteractionResults } from 'oidc-provider';
import { createCsrf, isCrossSiteForm } from '../web/csrf.ts';
import { formOf, pathParam, type Form } from '../web/forms.ts';
import type { Html } from '../web/html.ts';
import { originsOf } from '../web/security.ts';
import { seeOther, sendPage } from '../web/send.ts';
import { loginRefusal, type SignIn } from '../auth/sign-in.ts';
import { recordAuditEvent } from '../audit/audit.service.ts';
import { findUser } from '../users/users.service.ts';
import { consentPage, oauthLoginPage, oauthMessagePage } from './oauth.pages.ts';
import { OAUTH_PATHS } from './paths.ts';
import { ACCOUNT_GONE } from './provider.ts';
import { endLoginSessionOfBrowser, loginSessionAccountOf } from './login-sessions.ts';
import type { AccountRef } from '../auth/principal.ts';
import { selfContext } from '../audit/audit-events.ts';
import { peekStep, startStep, takeStep } from '../two-factor/sign-in-steps.ts';
import { assertionCeremony, checkAssertion, type Ceremony } from '../two-factor/passkeys.ts';
import { checkCode, twoFactorStatus, type FactorMethod, type TwoFactorDeps } from '../two-factor/two-factor.service.ts';
import { secondStepPage } from '../two-factor/two-factor.pages.ts';
import { ApiError } from '../kernel/errors.ts';

type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;

/**
 * How a login was made, as OpenID Connect's `amr` (RFC 8176): kept in the login session, so the
 * authorization server knows a second factor was given.
 */
const AMR: Record<FactorMethod | 'none', string[]> = { none: ['pwd'], totp: ['pwd', 'otp', 'mfa'], recovery_code: ['pwd', 'mfa'], passkey: ['pwd', 'hwk', 'mfa'] };
const PASSKEY_ALONE_AMR = ['hwk', 'user', 'mfa'];

export function registerInteractionRoutes(app: FastifyInstance, deps: TwoFactorDeps, provider: Provider, signIn: SignIn, csrfKey: string): void {
  const base = `${new URL(deps.config.publicUrl).pathname.replace(/\/$/, '')}${OAUTH_PATHS.interaction}`;
  const publicOrigin = new URL(deps.config.publicUrl).origin;
  const csrf = createCsrf(csrfKey);
  const csrfTokenOf = (uid: string) => csrf.tokenFor('oauth-interaction', uid);

  /**
   * A page of the sign-in. Its forms post here and, because a form's redirects are checked against
   * form-action too (CSP Level 3), may lead on to the client's redirect URI.
   */
  const send = (reply: FastifyReply, status: number, page: Html, interaction?: Interaction) =>
    sendPage(reply, status, page, { referrerPolicy: 'no-referrer', formTargets: originsOf(interaction?.params.redirect_uri), openedByApplications: true, webauthn: true });

  /** The interaction this browser is in, or a page saying it is over. */
  const details = async (request: FastifyRequest, reply: FastifyReply): Promise<Interaction | undefined> => {
    try {
      const interaction = await provider.interactionDetails(request.raw, reply.raw);
      if (interaction.uid !== pathParam(request, 'uid')) throw new Error('interaction mismatch');
      return interaction;
    } catch {
      send(reply, 400, oauthMessagePage('This sign-in has expired', 'This sign-in request is over or was started in another browser. Go back to the application and start again.'));
      return undefined;
    }
  };

  const clientName = async (interaction: Interaction) => {
    const client = await provider.Client.find(String(interaction.params.client_id));
    return client?.clientName ?? String(interaction.params.client_id);
  };

  /**
   * Hands the result to the provider. A consent carries the login that preceded it in this
   * sign-in: with prompt=login the provider otherwise asks for the login again, and again.
   */
  const finish = async (request: FastifyRequest, reply: FastifyReply, result: InteractionResults) => {
    const location = await provider.interactionResult(request.raw, reply.raw, result, { mergeWithLastSubmission: 'consent' in result });
    return seeOther(reply, location);
  };

  const checkCsrf = (request: FastifyRequest, reply: FastifyReply, interaction: Interaction, form: Form): boolean => {
    // A form posted from another site (Fetch Metadata, Origin) is refused even with a valid token:
    // the token is tied to the interaction's cookie, which a sibling subdomain could plant.
    if (!isCrossSiteForm(request, publicOrigin) && csrf.accepts('oauth-interaction', interaction.uid, form.csrf_token)) return true;
    send(reply, 403, oauthMessagePage('This form has expired', 'Reload the page and try again.'), interaction);
    return false;
  };

  const showLogin = async (reply: FastifyReply, status: number, interaction: Interaction, options: { username?: string; error?: string } = {}) =>
    send(
      reply,
      status,
      oauthLoginPage({
        action: `${base}${interaction.uid}/login`,
        abortAction: `${base}${interaction.uid}/abort`,
        csrfToken: csrfTokenOf(interaction.uid),
        clientName: await clientName(interaction),
        forgotPasswordHref: `${new URL(deps.config.publicUrl).pathname.replace(/\/$/, '')}/account/forgot-password`,
        ...(deps.config.signup === 'closed' ? {} : { signupHref: `${new URL(deps.config.publicUrl).pathname.replace(/\/$/, '')}/account/signup` }),
        passkeyOptions: `${base}${interaction.uid}/passkey-options`,
        passkeyAction: `${base}${interaction.uid}/passkey`,
        ...options,
      }),
      interaction,
    );

  const requestedScopes = (interaction: Interaction): string[] => {
    const scopes = String(interaction.params.scope ?? '').split(' ').filter((s) => s !== '');
    return [...new Set(scopes)];
  };

  /**
   * Ends the browser's login session and lets this sign-in go on without it. Otherwise the
   * provider, finding someone else signed in than who logs in now, stops on a step that signs
   * that user out first.
   */
  const leaveLoginSession = async (request: FastifyRequest, interaction: Interaction) => {
    await endLoginSessionOfBrowser(deps, request.cookies);
    if (interaction.session) {
      delete interaction.session;
      await interaction.persist();
    }
  };

  /** Whether the browser, or this sign-in when it began, is signed in as someone else than `accountId`. */
  const someoneElseSignedIn = async (request: FastifyRequest, interaction: Interaction, accountId: string) => {
    const signedIn = [await loginSessionAccountOf(deps, request.cookies), interaction.session?.accountId];
    return signedIn.some((id) => id !== undefined && id !== accountId);
  };

  app.get(`${OAUTH_PATHS.interaction}:uid/`, { schema: { hide: true } }, async (request, reply) => {
    const interaction = await details(request, reply);
    if (!interaction) return reply;
    // Signed in as an account that can no longer sign in: that sign-in is over.
    if (interaction.prompt.reasons.includes(ACCOUNT_GONE)) await leaveLoginSession(request, interaction);
    if (interaction.prompt.name === 'login') return showLogin(reply, 200, interaction);
    const accountId = interaction.session?.accountId;
    const user = accountId ? await findUser(deps, Number(accountId)) : undefined;
    if (!user) return showLogin(reply, 200, interaction);
    return send(
      reply,
      200,
      consentPage({
        action: `${base}${interaction.uid}/consent`,
        csrfToken: csrfTokenOf(interaction.uid),
        clientName: await clientName(interaction),
        username: user.username,
        scopes: requestedScopes(interaction),
        redirectOrigin: new URL(String(interaction.params.redirect_uri)).origin,
      }),
      interaction,
    );
  });

  app.post(`${OAUTH_PATHS.interaction}:uid/login`, { schema: { hide: true } }, async (request, reply) => {
    const interaction = await details(request, reply);
    if (!interaction) return reply;
    const form = formOf(request);
    if (!checkCsrf(request, reply, interaction, form)) return reply;
    if (interaction.prompt.name !== 'login') return seeOther(reply, `${base}${interaction.uid}/`);
    const username = (form.username ?? '').trim();
    const password = form.password ?? '';
    if (username === '' || password === '') return showLogin(reply, 400, interaction, { username, error: 'Enter your username and password.' });
    // The same checks, per-account and per-IP limits and audit trail as HTTP Basic.
    const result = await signIn.password({ username, password, ip: request.ip, via: 'oauth_login' });
    if (!result.ok && result.reason === 'second_factor') {
      // The second step is named by the interaction, which the provider's cookie binds to this browser.
      await startStep(deps, 'second_factor', { userId: result.account.id, challenge: null }, interaction.uid);
      return showSecondStep(reply, 200, interaction, result.account);
    }
    if (!result.ok) {
      const refusal = loginRefusal(result);
      if (refusal.retryAfter !== undefined) reply.header('retry-after', refusal.retryAfter);
      return showLogin(reply, refusal.status, interaction, { username, error: refusal.message });
    }
    if (result.mustEnroll) {
      const accountPage = `${deps.config.publicUrl}/account/`;
      return showLogin(reply, 403, interaction, { username, error: `This service requires two-factor authentication. Set it up on your account page (${accountPage}), then sign in again.` });
    }
    return logIn(request, reply, interaction, result.account, AMR.none);
  });

  /** Hands the login to the provider; signing in as someone else replaces the browser's sign-in (prompt=login, say). */
  const logIn = async (request: FastifyRequest, reply: FastifyReply, interaction: Interaction, account: AccountRef, amr: string[]) => {
    const accountId = String(account.id);
    if (await someoneElseSignedIn(request, interaction, accountId)) await leaveLoginSession(request, interaction);
    const detail = { via: 'oauth_login', client_id: String(interaction.params.client_id ?? ''), ...(amr.length > 0 ? { amr: amr.join(' ') } : {}) };
    await recordAuditEvent(deps, { actor: 'self', clientIp: request.ip, event: 'signed_in', userId: account.id, username: account.username, detail });
    return finish(request, reply, { login: { accountId, amr } });
  };

  const showSecondStep = async (reply: FastifyReply, status: number, interaction: Interaction, account: AccountRef, error?: string) => {
    const factors = await twoFactorStatus(deps, account.id);
    return send(
      reply,
      status,
      secondStepPage({
        action: `${base}${interaction.uid}/second-factor`,
        passkeyOptions: `${base}${interaction.uid}/second-factor/passkey-options`,
        passkeyAction: `${base}${interaction.uid}/second-factor`,
        csrfToken: csrfTokenOf(interaction.uid),
        cancelHref: `${base}${interaction.uid}/`,
        username: account.username,
        totp: factors.totp === 'on',
        passkeys: factors.passkeys.length > 0,
        ...(error ? { error } : {}),
      }),
      interaction,
    );
  };

  /** The account whose password was right in this sign-in, waiting for its second factor. */
  const pendingAccount = async (interaction: Interaction): Promise<AccountRef | undefined> => {
    const step = await peekStep(deps, 'second_factor', interaction.uid);
    const user = step?.userId ? await findUser(deps, step.userId) : undefined;
    return user ? { id: user.id, username: user.username } : undefined;
  };

  const sendCeremony = async (reply: FastifyReply, make: () => Promise<Ceremony>) => {
    try {
      return await reply.code(200).header('cache-control', 'no-store').send(await make());
    } catch (error) {
      if (error instanceof ApiError && error.status < 500) return reply.code(error.status).header('cache-control', 'no-store').send({ detail: error.detail, code: error.code });
      throw error;
    }
  };

  app.post(`${OAUTH_PATHS.interaction}:uid/second-factor`, { schema: { hide: true } }, async (request, reply) => {
    const interaction = await details(request, reply);
    if (!interaction) return reply;
    const form = formOf(request);
    if (!checkCsrf(request, reply, interaction, form)) return reply;
    const account = interaction.prompt.name === 'login' ? await pendingAccount(interaction) : undefined;
    if (!account) return showLogin(reply, 401, interaction, { error: 'That took too long: log in again.' });
    const usesPasskey = (form.passkey_response ?? '') !== '';
    const code = (form.code ?? '').trim();
    if (!usesPasskey && code === '') return showSecondStep(reply, 400, interaction, account, 'Enter a code from your authenticator app or a recovery code.');
    // Behind the same brute-force limits as the password: a wrong code counts.
    const checked = await signIn.secondFactor({
      account,
      ip: request.ip,
      verify: async () => (usesPasskey ? ((await checkAssertion(deps, { step: form.passkey_step, response: form.passkey_response }, account)) ? 'passkey' : undefined) : checkCode(deps, account, code, selfContext(request))),
    });
    if (!checked.ok) {
      if (checked.reason === 'throttled') reply.header('retry-after', String(checked.retryAfterSeconds));
      const message = checked.reason === 'throttled' ? `Too many failed attempts. Wait ${checked.retryAfterSeconds} seconds, then try again.` : 'This code is not right, or was used already.';
      return showSecondStep(reply, checked.reason === 'throttled' ? 429 : 401, interaction, account, message);
    }
    if (!(await takeStep(deps, 'second_factor', interaction.uid))) return showLogin(reply, 401, interaction, { error: 'That took too long: log in again.' });
    return logIn(request, reply, interaction, account, AMR[checked.method as FactorMethod]);
  });

  app.post(`${OAUTH_PATHS.interaction}:uid/second-factor/passkey-options`, { schema: { hide: true } }, async (request, reply) => {
    const interaction = await details(request, reply);
    if (!interaction) return reply;
    if (isCrossSiteForm(request, publicOrigin) || !csrf.accepts('oauth-interaction', interaction.uid, formOf(request).csrf_token)) return reply.code(403).send({ detail: 'Reload the page and try again.', code: 'permission_denied' });
    const account = await pendingAccount(interaction);
    if (!account) return reply.code(403).send({ detail: 'Log in again.', code: 'permission_denied' });
    return sendCeremony(reply, () => assertionCeremony(deps, account));
  });

  // A passkey alone (discoverable: nothing typed), from the login page.
  app.post(`${OAUTH_PATHS.interaction}:uid/passkey-options`, { schema: { hide: true } }, async (request, reply) => {
    const interaction = await details(request, reply);
    if (!interaction) return reply;
    if (isCrossSiteForm(request, publicOrigin) || !csrf.accepts('oauth-interaction', interaction.uid, formOf(request).csrf_token)) return reply.code(403).send({ detail: 'Reload the page and try again.', code: 'permission_denied' });
    return sendCeremony(reply, () => assertionCeremony(deps));
  });
  app.post(`${OAUTH_PATHS.interaction}:uid/passkey`, { schema: { hide: true } }, async (request, reply) => {
    const interaction = await details(request, reply);
    if (!interaction) return reply;
    const form = formOf(request);
    if (!checkCsrf(request, reply, interaction, form)) return reply;
    if (interaction.prompt.name !== 'login') return seeOther(reply, `${base}${interaction.uid}/`);
    const account = await checkAssertion(deps, { step: form.passkey_step, response: form.passkey_response });
    if (!account) return showLogin(reply, 401, interaction, { error: 'The passkey could not be used to sign in. Try again, or log in with your password.' });
    return logIn(request, reply, interaction, account, PASSKEY_ALONE_AMR);
  });

  app.post(`${OAUTH_PATHS.interaction}:uid/consent`, { schema: { hide: true } }, async (request, reply) => {
    const interaction = await details(request, reply);
    if (!interaction) return reply;
    const form = formOf(request);
    if (!checkCsrf(request, reply, interaction, form)) return reply;
    const accountId = interaction.session?.accountId;
    if (interaction.prompt.name !== 'consent' || !accountId) return seeOther(reply, `${base}${interaction.uid}/`);
    if (form.decision !== 'allow') {
      // RFC 6749 §4.1.2.1: the client learns only that the user said no.
      return finish(request, reply, { error: 'access_denied', error_description: 'The user denied the request.' });
    }
    const clientId = String(interaction.params.client_id);
    const grant = interaction.grantId ? await provider.Grant.find(interaction.grantId) : new provider.Grant({ accountId, clientId });
    if (!grant) return finish(request, reply, { error: 'access_denied', error_description: 'The grant is no longer there.' });
    const missing = interaction.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    const user = await findUser(deps, Number(accountId));
    await recordAuditEvent(deps, {
      actor: 'self',
      clientIp: request.ip,
      event: 'oauth_grant',
      userId: Number(accountId),
      username: user?.username ?? accountId,
      detail: { client_id: clientId, scope: requestedScopes(interaction).join(' ') },
    });
    return finish(request, reply, { consent: { grantId } });
  });

  app.post(`${OAUTH_PATHS.interaction}:uid/abort`, { schema: { hide: true } }, async (request, reply) => {
    const interaction = await details(request, reply);
    if (!interaction) return reply;
    if (!checkCsrf(request, reply, interaction, formOf(request))) return reply;
    return finish(request, reply, { error: 'access_denied', error_description: 'The user cancelled the request.' });
  });
}
