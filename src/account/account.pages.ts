// The HTML of the account settings page and its login page: server-rendered,
// no JavaScript, one inline style named by its hash in the CSP. Every form carries the CSRF token.
import type { FieldErrors } from '../kernel/errors.ts';
import { passwordRules } from '../auth/passwords.ts';
import { escapeHtml, htmlDocument, pageCsp } from '../http/pages.ts';
import type { EmailRepresentation } from '../emails/emails.service.ts';
import type { TokenSummary } from '../tokens/tokens.service.ts';
import type { GrantSummary } from '../oauth/grants.service.ts';
import { SCOPES } from '../auth/scopes.ts';
import type { UserRepresentation } from '../users/users.service.ts';

const STYLE = `
:root { color-scheme: light dark; --accent: #1d63ed; --danger: #c62828; --line: color-mix(in srgb, CanvasText 18%, transparent); --muted: color-mix(in srgb, CanvasText 65%, Canvas); }
* { box-sizing: border-box; }
body { margin: 0; font: 1rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: Canvas; color: CanvasText; }
header { display: flex; flex-wrap: wrap; gap: 0.5rem 1rem; align-items: center; justify-content: space-between; padding: 0.75rem 1.25rem; border-bottom: 1px solid var(--line); }
header .brand { font-weight: 700; }
header form { display: inline; margin: 0; }
main { max-width: 48rem; margin: 0 auto; padding: 1.25rem; }
main.narrow { max-width: 26rem; margin-top: 8vh; }
h1 { font-size: 1.6rem; margin: 0 0 1rem; }
h2 { font-size: 1.15rem; margin: 0 0 0.75rem; }
section { border: 1px solid var(--line); border-radius: 0.75rem; padding: 1.25rem; margin: 0 0 1.25rem; }
label { display: block; font-weight: 600; margin: 0.75rem 0 0.25rem; }
fieldset { border: 0; padding: 0; margin: 0.75rem 0 0; }
legend { font-weight: 600; padding: 0; }
fieldset label { display: inline-flex; gap: 0.35rem; align-items: center; font-weight: 400; margin: 0.25rem 1rem 0 0; }
input[type=text], input[type=email], input[type=url], input[type=password], select { font: inherit; width: 100%; padding: 0.5rem 0.65rem; border: 1px solid var(--line); border-radius: 0.5rem; background: Field; color: FieldText; }
input[aria-invalid=true] { border-color: var(--danger); }
input:focus-visible, select:focus-visible, button:focus-visible { outline: 3px solid color-mix(in srgb, var(--accent) 55%, CanvasText); outline-offset: 2px; }
button { font: inherit; font-weight: 600; padding: 0.5rem 1.1rem; border: 0; border-radius: 0.5rem; background: var(--accent); color: #fff; cursor: pointer; margin-top: 1rem; }
button.secondary { background: transparent; color: inherit; border: 1px solid var(--line); margin: 0; padding: 0.3rem 0.8rem; font-weight: 500; }
button.danger { background: transparent; color: var(--danger); border: 1px solid currentColor; margin: 0; padding: 0.3rem 0.8rem; font-weight: 500; }
.error { color: var(--danger); margin: 0.25rem 0 0; font-size: 0.95rem; }
.notice { border: 1px solid color-mix(in srgb, #2e7d32 60%, transparent); background: color-mix(in srgb, #2e7d32 12%, Canvas); border-radius: 0.5rem; padding: 0.6rem 0.9rem; margin: 0 0 1.25rem; }
.alert { border: 1px solid var(--danger); border-radius: 0.5rem; padding: 0.6rem 0.9rem; margin: 0 0 1rem; }
.muted { color: var(--muted); font-size: 0.92rem; }
ul.rows { list-style: none; margin: 0; padding: 0; }
ul.rows > li { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: center; justify-content: space-between; padding: 0.6rem 0; border-bottom: 1px solid var(--line); }
ul.rows > li:last-child { border-bottom: 0; }
.actions { display: flex; flex-wrap: wrap; gap: 0.4rem; }
.actions form { margin: 0; }
form.decision { margin-top: 1.25rem; }
form.decision button { margin: 0; padding: 0.5rem 1.4rem; font-weight: 600; border: 1px solid transparent; }
form.decision button.secondary { border-color: var(--line); }
.badge { display: inline-block; font-size: 0.8rem; padding: 0 0.45rem; border-radius: 1rem; border: 1px solid var(--line); margin-left: 0.35rem; }
.address, code { overflow-wrap: anywhere; }
code.token { display: block; font-size: 1.05rem; padding: 0.75rem; border-radius: 0.5rem; border: 1px dashed var(--accent); user-select: all; }
.inline { display: flex; gap: 0.5rem; align-items: flex-end; flex-wrap: wrap; }
.inline > div { flex: 1 1 16rem; }
.inline button { margin-top: 0; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(14rem, 1fr)); gap: 0 1rem; }
@media (max-width: 32rem) { main { padding: 0.75rem; } section { padding: 1rem; } }
`;

export const ACCOUNT_CSP = pageCsp(STYLE);

/** The pages' one style sheet, shared by the OAuth login and consent pages (src/oauth/oauth.pages.ts). */
export const PAGE_STYLE = STYLE;

export type FormErrors = { form: string; errors: FieldErrors; values?: Record<string, string>; email?: string };

function layout(title: string, body: string, who?: { username: string; csrfToken: string; base: string }): string {
  const header = who
    ? `<header><span class="brand">Account settings</span><span>Signed in as <strong id="who">${escapeHtml(who.username)}</strong>
<form method="post" action="${who.base}/logout">${csrfField(who.csrfToken)}<button type="submit" class="secondary">Log out</button></form></span></header>`
    : `<header><span class="brand">Account settings</span></header>`;
  return htmlDocument(title, STYLE, `${header}\n${body}`);
}

function csrfField(token: string): string {
  return `<input type="hidden" name="csrf_token" value="${escapeHtml(token)}">`;
}

function errorsFor(state: FormErrors | undefined, form: string, field: string, email?: string): string[] {
  if (!state || state.form !== form) return [];
  if (email !== undefined && state.email !== email) return [];
  return state.errors[field] ?? [];
}

/** A labelled input with its errors beside it, tied together for screen readers. */
function input(form: string, name: string, label: string, options: { type?: string; value?: string; state?: FormErrors | undefined; autocomplete?: string; hint?: string; required?: boolean }): string {
  const id = `${form}-${name}`;
  const errors = errorsFor(options.state, form, name);
  const describedBy = [errors.length > 0 ? `${id}-error` : '', options.hint ? `${id}-hint` : ''].filter(Boolean).join(' ');
  return `<label for="${id}">${escapeHtml(label)}</label>
<input type="${options.type ?? 'text'}" id="${id}" name="${name}" value="${escapeHtml(options.value ?? '')}"${options.autocomplete ? ` autocomplete="${options.autocomplete}"` : ''}${options.required ? ' required' : ''}${errors.length > 0 ? ' aria-invalid="true"' : ''}${describedBy ? ` aria-describedby="${describedBy}"` : ''}>
${options.hint ? `<p class="muted" id="${id}-hint">${escapeHtml(options.hint)}</p>` : ''}${errorList(`${id}-error`, errors)}`;
}

function errorList(id: string, errors: readonly string[]): string {
  return errors.length > 0 ? `<p class="error" id="${id}" role="alert">${errors.map(escapeHtml).join(' ')}</p>` : '';
}

export function loginPage(options: { base: string; csrfToken: string; username?: string; error?: string }): string {
  const state: FormErrors | undefined = options.error ? { form: 'login', errors: { password: [options.error] } } : undefined;
  return layout(
    'Log in',
    `<main class="narrow">
<h1>Log in</h1>
<form method="post" action="${options.base}/login">
${csrfField(options.csrfToken)}
${input('login', 'username', 'Username', { value: options.username ?? '', autocomplete: 'username', required: true })}
${input('login', 'password', 'Password', { type: 'password', autocomplete: 'current-password', state, required: true })}
<button type="submit">Log in</button>
</form>
</main>`,
  );
}

export function messagePage(title: string, text: string, link?: { href: string; label: string }): string {
  return layout(title, `<main class="narrow"><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p>${link ? `<p><a href="${escapeHtml(link.href)}">${escapeHtml(link.label)}</a></p>` : ''}</main>`);
}

export const NOTICES: Record<string, string> = {
  profile: 'Your profile was saved.',
  email_added: 'The address was added. Send a verification link to verify it.',
  email_removed: 'The address was removed.',
  verification_sent: 'A verification link is on its way. Open it and press Confirm.',
  primary: 'The primary address was changed.',
  token_created: 'The token was created.',
  token_revoked: 'The token was revoked.',
  application_revoked: 'The application’s access was revoked.',
  password: 'Your password was changed. Your other sessions have been logged out.',
};

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
  notice?: string | undefined;
  state?: FormErrors | undefined;
  newToken?: { token: string; name: string } | undefined;
};

export const EXPIRY_CHOICES: Record<string, { label: string; ms: number | undefined }> = {
  never: { label: 'Never', ms: undefined },
  '7d': { label: '7 days', ms: 7 * 86_400_000 },
  '30d': { label: '30 days', ms: 30 * 86_400_000 },
  '90d': { label: '90 days', ms: 90 * 86_400_000 },
  '365d': { label: '1 year', ms: 365 * 86_400_000 },
};

function rowForm(action: string, csrfToken: string, email: string, label: string, className: string): string {
  return `<form method="post" action="${action}">${csrfField(csrfToken)}<input type="hidden" name="email" value="${escapeHtml(email)}"><button type="submit" class="${className}" aria-label="${escapeHtml(`${label}: ${email}`)}">${escapeHtml(label)}</button></form>`;
}

function day(iso: string | null): string {
  return iso ? escapeHtml(iso.slice(0, 10)) : '—';
}

export function settingsPage(view: SettingsView): string {
  const { csrfToken, user, state, base } = view;
  const value = (form: string, field: string, fallback: string) => (state?.form === form && state.values?.[field] !== undefined ? state.values[field] : fallback);
  const profileFields: Array<[string, string, string, string]> = [
    ['full_name', 'Full name', 'text', user.full_name],
    ['location', 'Location', 'text', user.location],
    ['company', 'Company', 'text', user.company],
    ['profile_url', 'Profile URL', 'url', user.profile_url],
    ['gravatar_email', 'Gravatar email', 'email', ''],
  ];
  const profile = `<section aria-labelledby="profile-h">
<h2 id="profile-h">Profile</h2>
<form method="post" action="${base}/profile">
${csrfField(csrfToken)}
<div class="grid">
${profileFields.map(([name, label, type, current]) => `<div>${input('profile', name, label, { type, value: value('profile', name, current), state, ...(name === 'gravatar_email' ? { hint: 'Leave empty to keep the current one; the picture is looked up by this address.' } : {}) })}</div>`).join('\n')}
</div>
<button type="submit">Save profile</button>
</form>
</section>`;

  const emailRows = view.emails
    .map((e) => {
      const rowErrors = ['remove', 'verify', 'primary'].flatMap((form) => errorsFor(state, `email_${form}`, 'email', e.email));
      const actions = [
        !e.verified ? rowForm(`${base}/emails/verify`, csrfToken, e.email, 'Send verification link', 'secondary') : '',
        e.verified && !e.primary ? rowForm(`${base}/emails/primary`, csrfToken, e.email, 'Make primary', 'secondary') : '',
        !e.primary ? rowForm(`${base}/emails/remove`, csrfToken, e.email, 'Remove', 'danger') : '',
      ].join('');
      return `<li><span><span class="address">${escapeHtml(e.email)}</span>${e.primary ? '<span class="badge">primary</span>' : ''}<span class="badge">${e.verified ? 'verified' : 'unverified'}</span>${errorList('', rowErrors).replace(' id=""', '')}</span><span class="actions">${actions}</span></li>`;
    })
    .join('\n');
  const addresses = `<section aria-labelledby="emails-h">
<h2 id="emails-h">Email addresses</h2>
<ul class="rows" id="emails">
${emailRows}
</ul>
<form method="post" action="${base}/emails/add" class="inline">
${csrfField(csrfToken)}
<div>${input('email_add', 'email', 'Add an address', { type: 'email', value: value('email_add', 'email', ''), state, autocomplete: 'email' })}</div>
<button type="submit">Add address</button>
</form>
</section>`;

  const newToken = view.newToken
    ? `<div class="notice" id="token-created" role="status"><p><strong>Token “${escapeHtml(view.newToken.name)}” created.</strong> Copy it now: it is shown only this once.</p>
<code class="token" id="new-token">${escapeHtml(view.newToken.token)}</code></div>`
    : '';
  const tokenRows = view.tokens
    .map(
      (t) => `<li><span><strong>${escapeHtml(t.name)}</strong> <code>${escapeHtml(t.hint)}</code><span class="badge">${escapeHtml(t.status)}</span><br>
<span class="muted">${escapeHtml(t.scopes.join(', '))} · created ${day(t.created_at)} · expires ${t.expires_at ? day(t.expires_at) : 'never'} · last used ${day(t.last_used_at)}</span>${errorList('', errorsFor(state, 'token_revoke', 'token', String(t.id))).replace(' id=""', '')}</span>
<span class="actions">${t.status === 'active' ? `<form method="post" action="${base}/tokens/revoke">${csrfField(csrfToken)}<input type="hidden" name="token_id" value="${t.id}"><button type="submit" class="danger" aria-label="${escapeHtml(`Revoke token ${t.name}`)}">Revoke</button></form>` : ''}</span></li>`,
    )
    .join('\n');
  const chosenScopes = state?.form === 'token_create' ? SCOPES.filter((s) => state.values?.[`scope_${s}`] !== undefined) : [];
  const expiry = value('token_create', 'expires_in', 'never');
  const scopeErrors = errorsFor(state, 'token_create', 'scopes');
  const tokens = `<section aria-labelledby="tokens-h">
<h2 id="tokens-h">Personal access tokens</h2>
${newToken}
${view.tokens.length > 0 ? `<ul class="rows" id="tokens">\n${tokenRows}\n</ul>` : '<p class="muted">No tokens yet.</p>'}
<form method="post" action="${base}/tokens/create">
${csrfField(csrfToken)}
${input('token_create', 'name', 'Token name', { value: value('token_create', 'name', ''), state, hint: 'Something that tells you where it is used, e.g. “laptop”.' })}
<fieldset${scopeErrors.length > 0 ? ' aria-describedby="token_create-scopes-error"' : ''}><legend>Scopes</legend>
${SCOPES.map((s) => `<label><input type="checkbox" name="scope_${s}" value="1"${chosenScopes.includes(s) ? ' checked' : ''}> ${s}</label>`).join('\n')}
</fieldset>
${errorList('token_create-scopes-error', scopeErrors)}
<label for="token_create-expires_in">Expires</label>
<select id="token_create-expires_in" name="expires_in">
${Object.entries(EXPIRY_CHOICES).map(([key, c]) => `<option value="${key}"${key === expiry ? ' selected' : ''}>${escapeHtml(c.label)}</option>`).join('')}
</select>
${errorList('token_create-expires_in-error', errorsFor(state, 'token_create', 'expires_in'))}
<button type="submit">Create token</button>
</form>
</section>`;

  const applicationRows = view.applications
    .map((a) => {
      const name = a.client_name ?? a.client_id;
      return `<li><span><strong>${escapeHtml(name)}</strong><br>
<span class="muted">${escapeHtml(a.scopes.join(', '))} · allowed ${day(a.granted_at)}</span>${errorList('', errorsFor(state, 'application_revoke', 'client_id', a.client_id)).replace(' id=""', '')}</span>
<span class="actions"><form method="post" action="${base}/applications/revoke">${csrfField(csrfToken)}<input type="hidden" name="client_id" value="${escapeHtml(a.client_id)}"><button type="submit" class="danger" aria-label="${escapeHtml(`Revoke access of ${name}`)}">Revoke</button></form></span></li>`;
    })
    .join('\n');
  // An error about an application no longer (or never) listed is shown above the list.
  const unlisted = state?.form === 'application_revoke' && !view.applications.some((a) => a.client_id === state.email) ? (state.errors.client_id ?? []) : [];
  const applications = `<section aria-labelledby="apps-h">
<h2 id="apps-h">Authorised applications</h2>
${errorList('application_revoke-error', unlisted)}
${
  view.applications.length > 0
    ? `<ul class="rows" id="applications">\n${applicationRows}\n</ul>\n<p class="muted">Revoking ends the application’s access at once: its tokens stop working, and it must ask you again.</p>`
    : '<p class="muted" id="applications">No applications. Applications you allow to use your account will be listed here, where you can revoke them.</p>'
}
</section>`;

  const password = `<section aria-labelledby="password-h">
<h2 id="password-h">Change password</h2>
<form method="post" action="${base}/password">
${csrfField(csrfToken)}
<input type="text" name="username" value="${escapeHtml(user.username)}" autocomplete="username" hidden>
${input('password', 'current_password', 'Current password', { type: 'password', autocomplete: 'current-password', state, required: true })}
${input('password', 'new_password', 'New password', { type: 'password', autocomplete: 'new-password', state, required: true, hint: passwordRules(view.passwordMinLength) })}
<button type="submit">Change password</button>
<p class="muted">Changing it logs out your other sessions.</p>
</form>
</section>`;

  const notice = view.notice ? `<div class="notice" role="status">${escapeHtml(view.notice)}</div>` : '';
  return layout(
    'Account settings',
    `<main>
<h1>${escapeHtml(user.full_name || user.username)}</h1>
${notice}
${profile}
${addresses}
${tokens}
${applications}
${password}
</main>`,
    { username: user.username, csrfToken, base },
  );
}
