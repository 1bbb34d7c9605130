// The HTML of the sign-up page: server-rendered, no JavaScript, in the service's one layout and
// style sheet (src/web). The rules of each field are shown beside it, and a refusal beside the
// field it is about. The form carries the CSRF token.
import type { FieldErrors } from '../kernel/errors.ts';
import { passwordRules } from '../auth/passwords.ts';
import { USERNAME_RULE } from '../users/username.ts';
import { html, type Html } from '../web/html.ts';
import { csrfField, layout } from '../web/layout.ts';

export type SignupView = {
  /** The path of the account pages without a trailing slash, e.g. /account. */
  base: string;
  csrfToken: string;
  passwordMinLength: number;
  /** The invitation's secret, carried by the form (SIGNUP=invite). */
  invitation?: string | undefined;
  values?: { username?: string | undefined; email?: string | undefined };
  errors?: FieldErrors;
};

function field(name: string, label: string, options: { type: string; value: string; autocomplete: string; hint?: string; errors: readonly string[] }): Html {
  const id = `signup-${name}`;
  const describedBy = [options.errors.length > 0 ? `${id}-error` : '', options.hint !== undefined ? `${id}-hint` : ''].filter(Boolean).join(' ');
  return html`<label for="${id}">${label}</label>
<input type="${options.type}" id="${id}" name="${name}" value="${options.value}" autocomplete="${options.autocomplete}" required!${options.errors.length > 0 ? html` aria-invalid="true"` : ''}!${describedBy ? html` aria-describedby="${describedBy}"` : ''}>
!${options.hint !== undefined ? html`<p class="muted" id="${id}-hint">${options.hint}</p>` : ''}!${options.errors.length > 0 ? html`<p class="error" id="${id}-error" role="alert">${options.errors.join(' ')}</p>` : ''}`;
}

export function signupPage(view: SignupView): Html {
  const errors = view.errors ?? {};
  return layout({
    title: 'Create an account',
    main: html`<main class="narrow">
<h1>Create an account</h1>
<form method="post" action="${view.base}/signup">
!${csrfField(view.csrfToken)}
!${view.invitation !== undefined ? html`<input type="hidden" name="invitation" value="${view.invitation}">` : ''}
!${field('username', 'Username', { type: 'text', value: view.values?.username ?? '', autocomplete: 'username', hint: USERNAME_RULE, errors: errors.username ?? [] })}
!${field('email', 'Email address', { type: 'email', value: view.values?.email ?? '', autocomplete: 'email', hint: 'A link to confirm it is mailed to this address; the account can be used once it is confirmed.', errors: errors.email ?? [] })}
!${field('password', 'Password', { type: 'password', value: '', autocomplete: 'new-password', hint: passwordRules(view.passwordMinLength), errors: errors.password ?? [] })}
<button type="submit">Create account</button>
</form>
<p class="muted">Already have an account? <a href="${view.base}/login">Log in</a>.</p>
</main>`,
  });
}

/** The answer to every accepted form, whether the address was free or taken: it tells nothing. */
export function checkMailPage(base: string, email: string): Html {
  return layout({
    title: 'Check your mail',
    main: html`<main class="narrow">
<h1>Check your mail</h1>
<p>A message is on its way to <strong class="address">${email}</strong>. Open the link in it and press Confirm; then log in.</p>
<p class="muted">The link works once and expires in 24 hours. No message after a few minutes? Check the spam folder, and that the address is right; logging in with your username and password sends a new link.</p>
<p><a href="${base}/login">Log in</a></p>
</main>`,
  });
}
