// POST /account/delete: the settings page's "Delete account" form. The password is checked by the
// sign-in core, behind the same brute-force limits and with the same refusals as the change of
// password (a stolen session cannot guess it); the username must be typed as it is; with
// two-factor on, a second factor is asked too (a code or a passkey). Then the
// users feature deletes the account in one transaction (src/users/deletion.service.ts), which
// ends this session with every other; the browser's cookies are cleared and it is told so.
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteShorthandOptions } from 'fastify';
import { ApiError } from '../kernel/errors.ts';
import type { Html } from '../web/html.ts';
import { formOf, type Form } from '../web/forms.ts';
import { selfContext } from '../audit/audit-events.ts';
import { loginRefusal, type SignIn } from '../auth/sign-in.ts';
import type { VerificationDeps } from '../emails/verification.service.ts';
import { deleteAccount } from '../users/deletion.service.ts';
import { accountDeletedPage, DELETE_FORM } from './deletion.pages.ts';

export type AccountDeletionOptions = {
  deps: VerificationDeps;
  signIn: SignIn;
  /** With two-factor on, the form's second factor (a code or a passkey) is checked: throws the refusal for `code`. */
  confirmSecondFactor(request: FastifyRequest, form: Form): Promise<void>;
  /** The account pages' route options with their session check (and CSRF check for a POST). */
  guarded: RouteShorthandOptions;
  sessionOf(request: FastifyRequest): { userId: number; username: string };
  /** The settings page again, with the form's messages. */
  renderSettings(request: FastifyRequest, reply: FastifyReply, status: number, extra: { state: { form: string; errors: Record<string, string[]>; values: Record<string, string> } }): Promise<FastifyReply>;
  /** Clears the session cookie and ends the browser's sign-in at the authorization server. */
  endBrowser(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  send(reply: FastifyReply, status: number, page: Html): FastifyReply;
  /** Where the page shown afterwards links to. */
  home: string;
};

export function registerAccountDeletion(app: FastifyInstance, options: AccountDeletionOptions): void {
  const { deps, signIn, sessionOf } = options;

  /** Throws the refusal, with its message beside the field concerned; returns when both are right. */
  const check = async (request: FastifyRequest, password: string, typed: string) => {
    const session = sessionOf(request);
    if (password === '') throw new ApiError('invalid', { fieldErrors: { current_password: ['Enter your password.'] } });
    if (typed.trim().toLowerCase() !== session.username) {
      throw new ApiError('invalid', { fieldErrors: { confirm_username: [`Type your username, “${session.username}”, to confirm.`] } });
    }
    const checked = await signIn.password({ username: session.username, password, ip: request.ip, via: 'password_check' });
    if (checked.ok) return;
    const refusal = loginRefusal(checked);
    const message = checked.reason === 'invalid' ? 'This is not your password.' : refusal.message;
    const headers: Record<string, string> = refusal.retryAfter === undefined ? {} : { 'retry-after': refusal.retryAfter };
    // The change of password's statuses: 400 wrong password, 429 throttled, 503 busy.
    const code = checked.reason === 'throttled' ? 'too_many_requests' : checked.reason === 'busy' ? 'service_unavailable' : 'invalid';
    throw new ApiError(code, { fieldErrors: { current_password: [message] }, headers });
  };

  app.post('/account/delete', options.guarded, async (request, reply) => {
    const form = formOf(request);
    const typed = form.confirm_username ?? '';
    try {
      await check(request, form.current_password ?? '', typed);
      await options.confirmSecondFactor(request, form);
    } catch (error) {
      if (!(error instanceof ApiError) || !error.fieldErrors) throw error;
      const retryAfter = error.headers['retry-after'];
      if (retryAfter !== undefined) reply.header('retry-after', retryAfter);
      return options.renderSettings(request, reply, error.status, { state: { form: DELETE_FORM, errors: { ...error.fieldErrors }, values: { confirm_username: typed } } });
    }
    const deleted = await deleteAccount(deps, sessionOf(request).username, selfContext(request));
    await options.endBrowser(request, reply);
    return options.send(reply, 200, accountDeletedPage(deleted.username, options.home));
  });
}
