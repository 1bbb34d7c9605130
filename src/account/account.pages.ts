// The HTML of the account settings page and its login page: server-rendered, no JavaScript, in
// the service's one layout and style sheet (src/web). Every form carries the CSRF token.
import type { FieldErrors } from '../kernel/errors.ts';
import { passwordRules } from '../auth/passwords.ts';
import { html, type Html } from '../web/html.ts';
import { csrfField, layout } from '../web/layout.ts';
import type { EmailRepresentation } from '../emails/emails.service.ts';
import type { TokenSummary } from '../tokens/tokens.service.ts';
import type { GrantSummary } from '../oauth/grants.service.ts';
import { SCOPES, REGISTRY_SCOPES, TOKEN_SCOPES } from '../auth/scopes.ts';
import type { UserRepresentation } from '../users/users.service.ts';
import { sessionsSection } from './sessions.pages.ts';
import type { SignInSummary } from './sign-ins.service.ts';
import { DELETE_FORM, deleteAccountSection } from './deletion.pages.ts';
import { passkeyButton, passkeyFields } from '../two-factor/two-factor.pages.ts';

export type FormErrors = { form: string; errors: FieldErrors; values?: Record<string, string>; email?: string };

/** The account pages' header: who is signed in, and the button that logs out. */
function signedIn(who: { username: string; csrfToken: string; base: string }): Html {
  return html`<span>Signed in as <strong id="who">${who.username}</strong>
<form method="post" action="${who.base}/logout">!${csrfField(who.csrfToken)}<button type="submit" class="secondary">Log out</button></form></span>`;
}

export function errorsFor(state: FormErrors | undefined, form: string, field: string, email?: string): string[] {
  if (!state || state.form !== form) return [];
  if (email !== undefined && state.email !== email) return [];
  return state.errors[field] ?? [];
}

/** The messages about a field or a row; `id` when an input refers to them (aria-describedby). */
function errorList(id: string | undefined, errors: readonly string[]): Html {
  if (errors.length === 0) return '';
  return id === undefined ? html`<p class="error" role="alert">${errors.join(' ')}</p>` : html`<p class="error" id="${id}" role="alert">${errors.join(' ')}</p>`;
}

/** A labelled input with its errors beside it, tied together for screen readers. */
function input(form: string, name: string, label: string, options: { type?: string; value?: string; state?: FormErrors | undefined; autocomplete?: string; hint?: string; required?: boolean }): Html {
  const id = `${form}-${name}`;
  const errors = errorsFor(options.state, form, name);
  const describedBy = [errors.length > 0 ? `${id}-error` : '', options.hint ? `${id}-hint` : ''].filter(Boolean).join(' ');
  return html`<label for="${id}">${label}</label>
<input type="${options.type ?? 'text'}" id="${id}" name="${name}" value="${options.value ?? ''}"!${options.autocomplete ? html` autocomplete="${options.autocomplete}"` : ''}!${options.required ? html` required` : ''}!${errors.length > 0 ? html` aria-invalid="true"` : ''}!${describedBy ? html` aria-describedby="${describedBy}"` : ''}>
!${options.hint ? html`<p class="muted" id="${id}-hint">${options.hint}</p>` : ''}!${errorList(`${id}-error`, errors)}`;
}

export function loginPage(options: { base: string; csrfToken: string; username?: string; error?: string; signupLink?: boolean }): Html {
  // The passkey button posts the same form (its CSRF token) elsewhere; hidden without the script.
  const state: FormErrors | undefined = options.error ? { form: 'login', errors: { password: [options.error] } } : undefined;
  return layout({
    title: 'Log in',
    webauthn: true,
    main: html`<main class="narrow">
<h1>Log in</h1>
<form method="post" action="${options.base}/login">
!${csrfField(options.csrfToken)}
!${input('login', 'username', 'Username', { value: options.username ?? '', autocomplete: 'username', required: true })}
!${input('login', 'password', 'Password', { type: 'password', autocomplete: 'current-password', state, required: true })}
<button type="submit">Log in</button>
!${passkeyButton('Sign in with a passkey', `${options.base}/login/passkey-options`, `${options.base}/login/passkey`)}
!${passkeyFields()}
</form>
<p><a href="${options.base}/forgot-password">Forgot your password?</a></p>
!${options.signupLink ? html`<p class="muted">No account yet? <a href="${options.base}/signup">Create an account</a>.</p>` : ''}
</main>`,
  });
}

const NOTICES: Record<string, string> = {
  profile: 'Your profile was saved.',
  email_added: 'The address was added. Send a verification link to verify it.',
  email_removed: 'The address was removed.',
  verification_sent: 'A verification link is on its way. Open it and press Confirm.',
  primary: 'The primary address was changed.',
  token_created: 'The token was created.',
  token_revoked: 'The token was revoked.',
  registry_login_revoked: 'The registry login was revoked: that machine must log in again.',
  application_revoked: 'The application’s access was revoked.',
  password: 'Your password was changed. Your other sessions have been logged out.',
  session_ended: 'The session was signed out.',
  sessions_ended: 'Your other sessions were signed out.',
  totp_on: 'The authenticator app is set up.',
  totp_removed: 'The authenticator app was removed.',
  passkey_added: 'The passkey was added.',
  passkey_renamed: 'The passkey was renamed.',
  passkey_removed: 'The passkey was removed.',
  two_factor_off: 'Two-factor authentication is off: its authenticator app, passkeys and recovery codes were removed.',
};

/** The message for `?done=…` after a form, if it names one. */
export function noticeFor(done: string | undefined): string | undefined {
  return done !== undefined && Object.hasOwn(NOTICES, done) ? NOTICES[done] : undefined;
}

export type SettingsView = {
  /** The path of the account page without its trailing slash, e.g. /account. */
  base: string;
  csrfToken: string;
  /** PASSWORD_MIN_LENGTH, for the rules shown beside the new password. */
  passwordMinLength: number;
  user: UserRepresentation;
  emails: EmailRepresentation[];
  tokens: TokenSummary[];
  /** The OAuth applications the user has allowed (src/oauth/grants.service.ts). */
  applications: GrantSummary[];
  /** Where the account is signed in (src/account/sign-ins.service.ts); no section when absent. */
  sessions?: SignInSummary[] | undefined;
  notice?: string | undefined;
  state?: FormErrors | undefined;
  newToken?: { token: string; name: string } | undefined;
  /** The registry logins section (src/registry/registry-logins.pages.ts), when the registry token endpoint is on. */
  registryLogins?: Html;
  /** The security log section (src/audit/security-log.pages.ts). */
  securityLog?: Html;
  /** The two-factor section (src/two-factor/two-factor.pages.ts), and whether two-factor is on. */
  twoFactor?: Html;
  twoFactorOn?: boolean;
  twoFactorPasskeys?: boolean;
  /** REQUIRE_2FA and no second factor yet: the page shows only the two-factor section. */
  mustEnrol?: boolean;
};

export const EXPIRY_CHOICES: Record<string, { label: string; ms: number | undefined }> = {
  never: { label: 'Never', ms: undefined },
  '7d': { label: '7 days', ms: 7 * 86_400_000 },
  '30d': { label: '30 days', ms: 30 * 86_400_000 },
  '90d': { label: '90 days', ms: 90 * 86_400_000 },
  '365d': { label: '1 year', ms: 365 * 86_400_000 },
};

function rowForm(action: string, csrfToken: string, email: string, label: string, className: string): Html {
  return html`<form method="post" action="${action}">!${csrfField(csrfToken)}<input type="hidden" name="email" value="${email}"><button type="submit" class="${className}" aria-label="${`${label}: ${email}`}">${label}</button></form>`;
}

function day(iso: string | null): string {
  return iso ? iso.slice(0, 10) : '—';
}

export function settingsPage(view: SettingsView): Html {
  const { csrfToken, user, state, base } = view;
  const value = (form: string, field: string, fallback: string) => (state?.form === form && state.values?.[field] !== undefined ? state.values[field] : fallback);
  const profileFields: Array<[string, string, string, string]> = [
    ['full_name', 'Full name', 'text', user.full_name],
    ['location', 'Location', 'text', user.location],
    ['company', 'Company', 'text', user.company],
    ['profile_url', 'Profile URL', 'url', user.profile_url],
    ['gravatar_email', 'Gravatar email', 'email', ''],
  ];
  const profile = html`<section aria-labelledby="profile-h">
<h2 id="profile-h">Profile</h2>
<form method="post" action="${base}/profile">
!${csrfField(csrfToken)}
<div class="grid">
!${profileFields.map(
    ([name, label, type, current]) =>
      html`<div>!${input('profile', name, label, { type, value: value('profile', name, current), state, ...(name === 'gravatar_email' ? { hint: 'Leave empty to keep the current one; the picture is looked up by this address.' } : {}) })}</div>
`,
  )}</div>
<button type="submit">Save profile</button>
</form>
</section>`;

  const emailRows = view.emails.map((e) => {
    const rowErrors = ['remove', 'verify', 'primary'].flatMap((form) => errorsFor(state, `email_${form}`, 'email', e.email));
    const actions = [
      !e.verified ? rowForm(`${base}/emails/verify`, csrfToken, e.email, 'Send verification link', 'secondary') : '',
      e.verified && !e.primary ? rowForm(`${base}/emails/primary`, csrfToken, e.email, 'Make primary', 'secondary') : '',
      !e.primary ? rowForm(`${base}/emails/remove`, csrfToken, e.email, 'Remove', 'danger') : '',
    ];
    return html`<li><span><span class="address">${e.email}</span>!${e.primary ? html`<span class="badge">primary</span>` : ''}<span class="badge">${e.verified ? 'verified' : 'unverified'}</span>!${errorList(undefined, rowErrors)}</span><span class="actions">!${actions}</span></li>
`;
  });
  const addresses = html`<section aria-labelledby="emails-h">
<h2 id="emails-h">Email addresses</h2>
<ul class="rows" id="emails">
!${emailRows}</ul>
<form method="post" action="${base}/emails/add" class="inline">
!${csrfField(csrfToken)}
<div>!${input('email_add', 'email', 'Add an address', { type: 'email', value: value('email_add', 'email', ''), state, autocomplete: 'email' })}</div>
<button type="submit">Add address</button>
</form>
</section>`;

  const newToken = view.newToken
    ? html`<div class="notice" id="token-created" role="status"><p><strong>Token “${view.newToken.name}” created.</strong> Copy it now: it is shown only this once.</p>
<code class="token" id="new-token">${view.newToken.token}</code></div>`
    : '';
  const tokenRows = view.tokens.map(
    (t) => html`<li><span><strong>${t.name}</strong> <code>${t.hint}</code><span class="badge">${t.status}</span><br>
<span class="muted">${t.scopes.join(', ')} · created ${day(t.created_at)} · expires ${t.expires_at ? day(t.expires_at) : 'never'} · last used ${day(t.last_used_at)}</span>!${errorList(undefined, errorsFor(state, 'token_revoke', 'token', String(t.id)))}</span>
<span class="actions">!${t.status === 'active' ? html`<form method="post" action="${base}/tokens/revoke">!${csrfField(csrfToken)}<input type="hidden" name="token_id" value="${t.id}"><button type="submit" class="danger" aria-label="${`Revoke token ${t.name}`}">Revoke</button></form>` : ''}</span></li>
`,
  );
  const chosenScopes = state?.form === 'token_create' ? TOKEN_SCOPES.filter((s) => state.values?.[`scope_${s}`] !== undefined) : [];
  const expiry = value('token_create', 'expires_in', 'never');
  const scopeErrors = errorsFor(state, 'token_create', 'scopes');
  const tokens = html`<section aria-labelledby="tokens-h">
<h2 id="tokens-h">Personal access tokens</h2>
!${newToken}
!${
    view.tokens.length > 0
      ? html`<ul class="rows" id="tokens">
!${tokenRows}</ul>`
      : html`<p class="muted">No tokens yet.</p>`
  }
<form method="post" action="${base}/tokens/create">
!${csrfField(csrfToken)}
!${input('token_create', 'name', 'Token name', { value: value('token_create', 'name', ''), state, hint: 'Something that tells you where it is used, e.g. “laptop”.' })}
<fieldset!${scopeErrors.length > 0 ? html` aria-describedby="token_create-scopes-error"` : ''}><legend>Scopes</legend>
!${SCOPES.map((s) => html`<label><input type="checkbox" name="scope_${s}" value="1"!${chosenScopes.includes(s) ? html` checked` : ''}> ${s}</label>
`)}</fieldset>
<fieldset aria-describedby="token_create-registry-hint"><legend>Registry</legend>
!${REGISTRY_SCOPES.map((s) => html`<label><input type="checkbox" name="scope_${s}" value="1"!${chosenScopes.includes(s) ? html` checked` : ''}> ${s}</label>
`)}</fieldset>
<p class="muted" id="token_create-registry-hint">For <code>docker login</code> in your own namespace: repo_read pulls, repo_write pulls and pushes, repo_delete also deletes.</p>
!${errorList('token_create-scopes-error', scopeErrors)}
<label for="token_create-expires_in">Expires</label>
<select id="token_create-expires_in" name="expires_in">
!${Object.entries(EXPIRY_CHOICES).map(([key, c]) => html`<option value="${key}"!${key === expiry ? html` selected` : ''}>${c.label}</option>`)}
</select>
!${errorList('token_create-expires_in-error', errorsFor(state, 'token_create', 'expires_in'))}
<button type="submit">Create token</button>
</form>
</section>`;

  const applicationRows = view.applications.map((a) => {
    const name = a.client_name ?? a.client_id;
    return html`<li><span><strong>${name}</strong><br>
<span class="muted">${a.scopes.join(', ')} · allowed ${day(a.granted_at)}</span>!${errorList(undefined, errorsFor(state, 'application_revoke', 'client_id', a.client_id))}</span>
<span class="actions"><form method="post" action="${base}/applications/revoke">!${csrfField(csrfToken)}<input type="hidden" name="client_id" value="${a.client_id}"><button type="submit" class="danger" aria-label="${`Revoke access of ${name}`}">Revoke</button></form></span></li>
`;
  });
  // An error about an application no longer (or never) listed is shown above the list.
  const unlisted = state?.form === 'application_revoke' && !view.applications.some((a) => a.client_id === state.email) ? (state.errors.client_id ?? []) : [];
  const applications = html`<section aria-labelledby="apps-h">
<h2 id="apps-h">Authorised applications</h2>
!${errorList('application_revoke-error', unlisted)}
!${
    view.applications.length > 0
      ? html`<ul class="rows" id="applications">
!${applicationRows}</ul>
<p class="muted">Revoking ends the application’s access at once: its tokens stop working, and it must ask you again.</p>`
      : html`<p class="muted" id="applications">No applications. Applications you allow to use your account will be listed here, where you can revoke them.</p>`
  }
</section>`;

  const password = html`<section aria-labelledby="password-h">
<h2 id="password-h">Change password</h2>
<form method="post" action="${base}/password">
!${csrfField(csrfToken)}
<input type="text" name="username" value="${user.username}" autocomplete="username" hidden>
!${input('password', 'current_password', 'Current password', { type: 'password', autocomplete: 'current-password', state, required: true })}
!${input('password', 'new_password', 'New password', { type: 'password', autocomplete: 'new-password', state, required: true, hint: passwordRules(view.passwordMinLength) })}
<button type="submit">Change password</button>
<p class="muted">Changing it logs out your other sessions.</p>
</form>
</section>`;

  const sessions = view.sessions ? sessionsSection({ base, csrfToken, sessions: view.sessions, errors: errorsFor(state, 'session_end', 'session') }) : '';

  const notice = view.notice ? html`<div class="notice" role="status">${view.notice}</div>` : '';
  if (view.mustEnrol) {
    return layout({
      title: 'Set up two-factor authentication',
      webauthn: true,
      headerEnd: signedIn({ username: user.username, csrfToken, base }),
      main: html`<main>
<h1>Set up two-factor authentication</h1>
<div class="alert" role="alert" id="must-enrol">This service requires a second factor for every account. Set up an authenticator app or add a passkey to continue.</div>
!${view.twoFactor ?? ''}
</main>`,
    });
  }
  return layout({
    title: 'Account settings',
    webauthn: true,
    headerEnd: signedIn({ username: user.username, csrfToken, base }),
    main: html`<main>
<h1>${user.full_name || user.username}</h1>
!${notice}
!${profile}
!${addresses}
!${tokens}
!${applications}
!${view.registryLogins ?? ''}
!${password}
!${sessions}
!${view.securityLog ?? ''}
!${view.twoFactor ?? ''}
!${deleteAccountSection({ base, csrfToken, username: user.username, errors: state?.form === DELETE_FORM ? state.errors : undefined, typed: value(DELETE_FORM, 'confirm_username', ''), twoFactorOn: view.twoFactorOn ?? false, passkeys: view.twoFactorPasskeys ?? false })}
</main>`,
  });
}
