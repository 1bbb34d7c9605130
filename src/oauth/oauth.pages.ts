// The HTML of the OAuth login, consent and error pages: server-rendered, no
// JavaScript, the account pages' style. Every form carries the interaction's CSRF token.
import type { errors } from 'oidc-provider';
import { escapeHtml, htmlDocument } from '../http/pages.ts';
import { PAGE_STYLE } from '../account/account.pages.ts';
import { SCOPE_DESCRIPTIONS } from './scopes.ts';

function layout(title: string, body: string): string {
  return htmlDocument(title, PAGE_STYLE, `<header><span class="brand">Sign in</span></header>\n${body}`);
}

function csrfField(token: string): string {
  return `<input type="hidden" name="csrf_token" value="${escapeHtml(token)}">`;
}

export type LoginPageOptions = { action: string; abortAction: string; csrfToken: string; clientName: string; username?: string; error?: string };

export function oauthLoginPage(options: LoginPageOptions): string {
  const error = options.error ? `<p class="error" id="login-error" role="alert">${escapeHtml(options.error)}</p>` : '';
  const invalid = options.error ? ' aria-invalid="true" aria-describedby="login-error"' : '';
  return layout(
    'Log in',
    `<main class="narrow">
<h1>Log in</h1>
<p><strong id="client-name">${escapeHtml(options.clientName)}</strong> wants to use your account. Log in to continue.</p>
<form method="post" action="${escapeHtml(options.action)}">
${csrfField(options.csrfToken)}
<label for="login-username">Username</label>
<input type="text" id="login-username" name="username" value="${escapeHtml(options.username ?? '')}" autocomplete="username" autocapitalize="none" spellcheck="false" required${options.username ? '' : ' autofocus'}>
<label for="login-password">Password</label>
<input type="password" id="login-password" name="password" autocomplete="current-password" required${invalid}${options.username ? ' autofocus' : ''}>
${error}
<button type="submit">Log in</button>
</form>
<form method="post" action="${escapeHtml(options.abortAction)}">
${csrfField(options.csrfToken)}
<button type="submit" class="secondary">Cancel and go back</button>
</form>
</main>`,
  );
}

export type ConsentPageOptions = { action: string; csrfToken: string; clientName: string; username: string; scopes: string[]; redirectOrigin: string };

export function consentPage(options: ConsentPageOptions): string {
  const items = options.scopes
    .map((scope) => `<li><strong>${escapeHtml(SCOPE_DESCRIPTIONS[scope] ?? scope)}</strong> <span class="muted">(<code>${escapeHtml(scope)}</code>)</span></li>`)
    .join('\n');
  return layout(
    `Allow ${options.clientName}?`,
    `<main class="narrow">
<h1>Allow <span id="client-name">${escapeHtml(options.clientName)}</span> to use your account?</h1>
<p>You are logged in as <strong id="who">${escapeHtml(options.username)}</strong>. If you allow it, <strong>${escapeHtml(options.clientName)}</strong> will be able to:</p>
<ul id="scopes">
${items}
</ul>
<p class="muted">You will be sent back to <code>${escapeHtml(options.redirectOrigin)}</code>. You can revoke this access at any time on your account page.</p>
<form method="post" action="${escapeHtml(options.action)}" class="actions decision">
${csrfField(options.csrfToken)}
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
</form>
</main>`,
  );
}

export function oauthMessagePage(title: string, message: string): string {
  return layout(title, `<main class="narrow">\n<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(message)}</p>\n</main>`);
}

/** The provider's error page: shown instead of redirecting when the client or redirect URI is not to be trusted. */
export function errorPage(out: { error?: string; error_description?: string }, _error: errors.OIDCProviderError | Error): string {
  const description = out.error_description ?? 'The request could not be handled.';
  return layout(
    'This request cannot continue',
    `<main class="narrow">
<h1>This request cannot continue</h1>
<p class="alert" role="alert"><code id="error-code">${escapeHtml(out.error ?? 'server_error')}</code>: <span id="error-description">${escapeHtml(description)}</span></p>
<p>The application that sent you here sent a request this service will not act on, so you have not been sent back to it. You can close this page.</p>
</main>`,
  );
}

export type SignOutPageOptions = { action: string; xsrf: string; username?: string | undefined; clientName?: string | undefined };

/** OpenID RP-initiated logout: the user confirms, so that no other site can sign them out unasked. */
export function signOutPage(options: SignOutPageOptions): string {
  const who = options.username ? ` as <strong id="who">${escapeHtml(options.username)}</strong>` : '';
  const asking = options.clientName ? `<p><strong id="client-name">${escapeHtml(options.clientName)}</strong> asks to sign you out.</p>\n` : '';
  return layout(
    'Sign out?',
    `<main class="narrow">
<h1>Sign out?</h1>
${asking}<p>You are signed in${who}. Signing out here also signs you out of your account page; applications you allowed keep the access you gave them.</p>
<form method="post" action="${escapeHtml(options.action)}">
<input type="hidden" name="xsrf" value="${escapeHtml(options.xsrf)}">
<button type="submit" name="logout" value="yes">Sign out</button>
</form>
<p class="muted">To stay signed in, close this page.</p>
</main>`,
  );
}

export function signedOutPage(clientName: string | undefined): string {
  const back = clientName ? ` You can go back to <strong id="client-name">${escapeHtml(clientName)}</strong>, or close this page.` : ' You can close this page.';
  return layout('Signed out', `<main class="narrow">\n<h1>You are signed out</h1>\n<p>${back.trim()}</p>\n</main>`);
}

export function tooManySignInsPage(retryAfterSeconds: number): string {
  const s = retryAfterSeconds === 1 ? '' : 's';
  return oauthMessagePage('Too many sign-in requests', `Too many sign-in requests came from your network. Wait ${retryAfterSeconds} second${s}, then try again.`);
}
