// The sign-up page at /account/signup (SIGNUP=open or invite; a 404 page when closed). GET shows
// the form; POST makes the account and answers "check your mail", or shows the form again (400)
// with each refusal beside its field. The form is tied to this browser as the login form is: a
// random, time-stamped value in a cookie only this host can set, and the form's token an HMAC of
// it (src/web/csrf.ts). The invitation's secret is in the URL: the page sends no Referer.
import { rateLimitHeaders } from '../kernel/rate-limit-fields.ts';
import { randomBytes } from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../kernel/errors.ts';
import { toApiError } from '../http/error-handler.ts';
import { hostCookie } from '../web/cookies.ts';
import { createCsrf, isCrossSiteForm } from '../web/csrf.ts';
import { formOf, queryParam } from '../web/forms.ts';
import type { Html } from '../web/html.ts';
import { messagePage } from '../web/layout.ts';
import { sendPage } from '../web/send.ts';
import { checkMailPage, signupPage, type SignupView } from './signup.pages.ts';
import { SIGNUP_PAGE_PATH, inspectInvitation, signUp, type InvitationState, type SignupDeps } from './signup.service.ts';

const SIGNUP_CSRF_COOKIE = 'account_signup_csrf';
// How long a sign-up form stays good: its CSRF pair carries the time it was made.
const SIGNUP_FORM_SECONDS = 60 * 60;

function send(reply: FastifyReply, status: number, page: Html): FastifyReply {
  return sendPage(reply, status, page, { referrerPolicy: 'no-referrer' });
}

const INVITATION_PROBLEMS: Record<Exclude<InvitationState['state'], 'valid'> | 'missing', { status: number; title: string; text: string }> = {
  missing: { status: 403, title: 'Sign-up is by invitation', text: 'Accounts here are made by invitation only. Open the link of the invitation you were sent.' },
  unknown: { status: 403, title: 'This invitation is not valid', text: 'This invitation link is not valid. Check that you opened the whole link you were sent.' },
  used: { status: 410, title: 'This invitation has been used', text: 'This invitation has already been used: each works once. Ask for a new one if you need it.' },
  expired: { status: 410, title: 'This invitation has expired', text: 'This invitation has expired. Ask for a new one.' },
};

export function registerSignupPages(app: FastifyInstance, deps: SignupDeps, options: { csrfKey: string }): void {
  const basePath = `${new URL(deps.config.publicUrl).pathname.replace(/\/$/, '')}/account`;
  const secure = new URL(deps.config.publicUrl).protocol === 'https:';
  const publicOrigin = new URL(deps.config.publicUrl).origin;
  const formCookie = hostCookie(SIGNUP_CSRF_COOKIE, { path: basePath, secure });
  const csrf = createCsrf(options.csrfKey);
  const mode = deps.config.signup;

  const notFound = (reply: FastifyReply) =>
    send(reply, 404, messagePage('Page not found', 'There is no page at this address.', { href: `${basePath.replace(/\/account$/, '')}/`, label: 'Go to the start page' }));
  const invitationProblem = (reply: FastifyReply, state: keyof typeof INVITATION_PROBLEMS) => {
    const problem = INVITATION_PROBLEMS[state];
    return send(reply, problem.status, messagePage(problem.title, problem.text));
  };
  const showForm = (reply: FastifyReply, status: number, view: Omit<SignupView, 'base' | 'csrfToken' | 'passwordMinLength'>) => {
    const nonce = `${Math.floor(deps.clock.nowMs() / 1000)}.${randomBytes(18).toString('base64url')}`;
    formCookie.jar.set(reply, formCookie.name, nonce);
    return send(reply, status, signupPage({ base: basePath, csrfToken: csrf.tokenFor('account-signup', nonce), passwordMinLength: deps.config.passwordMinLength, ...view }));
  };
  const validForm = (nonce: string | undefined, token: string | undefined): boolean => {
    if (nonce === undefined || !csrf.accepts('account-signup', nonce, token)) return false;
    const madeAt = Number(nonce.split('.')[0]);
    return Number.isSafeInteger(madeAt) && deps.clock.nowMs() / 1000 - madeAt <= SIGNUP_FORM_SECONDS;
  };

  const answerPageError = (error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const known = toApiError(error);
    if (known && known.status < 500) return send(reply, known.status, messagePage('Something is wrong with this request', known.detail, { href: `${basePath}/signup`, label: 'Back to the sign-up page' }));
    if (known?.code === 'service_unavailable') {
      for (const [name, value] of Object.entries(known.headers)) reply.header(name, value);
      return send(reply, 503, messagePage('The service is busy', 'Too many requests are being handled just now. Wait a moment, then try again.'));
    }
    request.log.error({ err: error }, 'unexpected error');
    return send(reply, 500, messagePage('Something went wrong', 'Your request could not be handled just now. Try again in a moment.'));
  };
  const routeOptions = { schema: { hide: true }, errorHandler: answerPageError };

  app.get(SIGNUP_PAGE_PATH, routeOptions, async (request, reply) => {
    if (mode === 'closed') return notFound(reply);
    if (mode === 'open') return showForm(reply, 200, {});
    const token = queryParam(request, 'invitation');
    if (token === undefined) return invitationProblem(reply, 'missing');
    const invitation = await inspectInvitation(deps, token);
    if (invitation.state !== 'valid') return invitationProblem(reply, invitation.state);
    return showForm(reply, 200, { invitation: token, values: { email: invitation.email } });
  });

  app.post(SIGNUP_PAGE_PATH, routeOptions, async (request, reply) => {
    if (mode === 'closed') return notFound(reply);
    const form = formOf(request);
    if (isCrossSiteForm(request, publicOrigin) || !validForm(request.cookies[formCookie.name], form.csrf_token)) {
      return send(reply, 403, messagePage('This form has expired', 'The form was not sent from this page, or it is too old. Go back, reload the page and try again.', { href: `${basePath}/signup`, label: 'Back to the sign-up page' }));
    }
    const values = { username: form.username ?? '', email: form.email ?? '' };
    const invitation = mode === 'invite' ? form.invitation : undefined;
    try {
      await signUp(deps, { username: values.username, email: values.email, password: form.password ?? '', invitation, ip: request.ip, report: (state) => reply.headers(rateLimitHeaders(state)) });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.code === 'permission_denied') return invitationProblem(reply, (error.internal ?? 'unknown') as keyof typeof INVITATION_PROBLEMS);
      if (error.code === 'too_many_requests') {
        reply.headers(error.headers); // Retry-After and the RateLimit fields
        const minutes = Math.max(1, Math.ceil(Number(error.headers['retry-after'] ?? 3600) / 60));
        return send(reply, 429, messagePage('Too many sign-ups', `Too many accounts were asked for from your network in the last hour. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`));
      }
      if (error.code === 'invalid' && error.fieldErrors) return showForm(reply, 400, { invitation, values, errors: error.fieldErrors });
      throw error;
    }
    formCookie.jar.clear(reply, formCookie.name);
    return send(reply, 200, checkMailPage(basePath, values.email.trim()));
  });
}
