// The forgotten-password pages: /account/forgot-password (ask for a link) and
// /account/reset-password?token=… (GET shows the form, POST sets the password). Neither needs a
// session. The forms carry no CSRF token of their own: the first one only asks for a mail (bounded
// by its limits), and the second carries the link's token, which is the secret a CSRF token would
// be; both refuse a form posted from another site (Fetch Metadata, Origin). The reset page's URL
// holds the token, so it sends no Referer (header and <meta>).
import { rateLimitHeaders } from '../kernel/rate-limit-fields.ts';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../kernel/errors.ts';
import { toApiError } from '../http/error-handler.ts';
import { isCrossSiteForm } from '../web/csrf.ts';
import { formOf, queryParam } from '../web/forms.ts';
import type { Html } from '../web/html.ts';
import { sendPage } from '../web/send.ts';
import { selfContext } from '../audit/audit-events.ts';
import {
  forgotPasswordPage,
  linkProblemPage,
  linkSentPage,
  passwordResetDonePage,
  resetPasswordPage,
  simplePage,
  LINK_PROBLEMS,
  type LinkProblem,
} from './password-reset.pages.ts';
import { FORGOT_PASSWORD_PATH, RESET_PASSWORD_PATH, inspectResetLink, requestPasswordReset, resetPassword, type ResetDeps } from './password-reset.service.ts';

// Longer input than any username or address is not looked up.
const MAX_IDENTIFIER_LENGTH = 254;

function send(reply: FastifyReply, status: number, page: Html): FastifyReply {
  // no-referrer on all of them: the reset page's URL holds the link's token.
  return sendPage(reply, status, page, { referrerPolicy: 'no-referrer' });
}

export function registerPasswordResetPages(app: FastifyInstance, deps: ResetDeps): void {
  const prefix = new URL(deps.config.publicUrl).pathname.replace(/\/$/, '');
  const publicOrigin = new URL(deps.config.publicUrl).origin;
  const forgotHref = `${prefix}${FORGOT_PASSWORD_PATH}`;
  const resetAction = `${prefix}${RESET_PASSWORD_PATH}`;
  const loginHref = `${prefix}/account/login`;

  const problem = (reply: FastifyReply, state: LinkProblem) => send(reply, LINK_PROBLEMS[state].status, linkProblemPage(state, forgotHref));
  const expired = (reply: FastifyReply) =>
    send(reply, 403, simplePage('This form has expired', 'The form was not sent from this page. Go back, reload the page and try again.', { href: forgotHref, label: 'Forgot your password?' }));

  const answerPageError = (error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const known = toApiError(error);
    if (known?.code === 'service_unavailable') {
      // Busy, not broken: the same 503 and Retry-After as the API, as a page.
      for (const [name, value] of Object.entries(known.headers)) reply.header(name, value);
      return send(reply, 503, simplePage('The service is busy', 'Too many requests are being handled just now. Wait a moment, then try again.'));
    }
    if (known && known.status < 500) return send(reply, known.status, simplePage('Something is wrong with this request', known.detail, { href: forgotHref, label: 'Forgot your password?' }));
    request.log.error({ err: error }, 'unexpected error');
    return send(reply, 500, simplePage('Something went wrong', 'Your request could not be handled just now. Try again in a moment.'));
  };
  const options = { schema: { hide: true }, errorHandler: answerPageError };
  // Requests still being handled after their answer; the app waits for them when it closes.
  const pending = new Set<Promise<void>>();
  app.addHook('onClose', async () => {
    await Promise.allSettled([...pending]);
  });

  app.get(FORGOT_PASSWORD_PATH, options, async (_request, reply) => send(reply, 200, forgotPasswordPage({ action: forgotHref, loginHref })));

  app.post(FORGOT_PASSWORD_PATH, options, async (request, reply) => {
    if (isCrossSiteForm(request, publicOrigin)) return expired(reply);
    const wait = await deps.resetThrottle.consumeIp(request.ip, (state) => reply.headers(rateLimitHeaders(state)));
    if (wait !== undefined) {
      reply.header('retry-after', String(wait));
      const minutes = Math.max(1, Math.ceil(wait / 60));
      return send(reply, 429, simplePage('Too many requests', `Too many password reset requests from your network. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`, { href: loginHref, label: 'Back to log in' }));
    }
    const identifier = (formOf(request).identifier ?? '').trim();
    if (identifier === '' || identifier.length > MAX_IDENTIFIER_LENGTH) {
      return send(reply, 400, forgotPasswordPage({ action: forgotHref, loginHref, identifier: identifier.slice(0, MAX_IDENTIFIER_LENGTH), error: 'Enter your username or email address.' }));
    }
    // Not awaited: an account that exists costs a lookup, a write and a mail, one that does not only
    // a lookup, and an answer that waited for them would tell the two apart by its timing.
    const job = requestPasswordReset(deps, identifier, selfContext(request))
      .catch((error: unknown) => request.log.error({ err: error }, 'password reset: could not make a link'))
      .finally(() => pending.delete(job));
    pending.add(job);
    return send(reply, 200, linkSentPage({ loginHref }));
  });

  app.get(RESET_PASSWORD_PATH, options, async (request, reply) => {
    const token = queryParam(request, 'token');
    const link = await inspectResetLink(deps, token);
    if (link.state !== 'valid' || token === undefined) return problem(reply, link.state === 'valid' ? 'unknown' : link.state);
    return send(reply, 200, resetPasswordPage({ action: resetAction, token, username: link.username, passwordMinLength: deps.config.passwordMinLength }));
  });

  app.post(RESET_PASSWORD_PATH, options, async (request, reply) => {
    if (isCrossSiteForm(request, publicOrigin)) return expired(reply);
    const form = formOf(request);
    try {
      const result = await resetPassword(deps, form.token, form.password ?? '', selfContext(request));
      if (result.state !== 'valid') return problem(reply, result.state);
      return send(reply, 200, passwordResetDonePage({ loginHref }));
    } catch (error) {
      // A password the rules refuse: the form again, with the reason beside the field.
      if (!(error instanceof ApiError) || !error.fieldErrors?.password) throw error;
      const link = await inspectResetLink(deps, form.token);
      if (link.state !== 'valid') return problem(reply, link.state);
      return send(reply, 400, resetPasswordPage({ action: resetAction, token: form.token!, username: link.username, passwordMinLength: deps.config.passwordMinLength, error: error.fieldErrors.password.join(' ') }));
    }
  });
}
