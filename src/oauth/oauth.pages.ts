// The HTML of the OAuth login, consent, sign-out and error pages: server-rendered, no JavaScript,
// in the service's one layout and style sheet (src/web). Every form carries the interaction's CSRF
// token, except the sign-out confirmation, which carries the provider's own `xsrf` value.
import type { errors } from 'oidc-provider';
import { passkeyButton, passkeyFields } from '../two-factor/two-factor.pages.ts';
import { html, type Html } from '../web/html.ts';
import { csrfField, layout, messagePage } from '../web/layout.ts';
import { SCOPE_DESCRIPTIONS } from './scopes.ts';

export type LoginPageOptions = {
  /** The passkey ceremony's options URL and where its answer goes (a passkey alone signs in). */
  passkeyOptions?: string;
  passkeyAction?: string; action: string; abortAction: string; csrfToken: string; clientName: string; username?: string; error?: string; forgotPasswordHref: string; /** Where to create an account, when sign-up is not closed. */ signupHref?: string };

export function oauthLoginPage(options: LoginPageOptions): Html {
  const failed = options.error !== undefined && options.error !== '';
  return layout({
    title: 'Log in',
    webauthn: options.passkeyOptions !== undefined,
    main: html`<main class="narrow">
<h1>Log in</h1>
<p><strong id="client-name">${options.clientName}</strong> wants to use your account. Log in to continue.</p>
<form method="post" action="${options.action}">
!${csrfField(options.csrfToken)}
<label for="login-username">Username</label>
<input type="text" id="login-username" name="username" value="${options.username ?? ''}" autocomplete="username" autocapitalize="none" spellcheck="false" required!${options.username ? '' : html` autofocus`}>
<label for="login-password">Password</label>
<input type="password" id="login-password" name="password" autocomplete="current-password" required!${failed ? html` aria-invalid="true" aria-describedby="login-error"` : ''}!${options.username ? html` autofocus` : ''}>
!${failed ? html`<p class="error" id="login-error" role="alert">${options.error}</p>` : ''}
<button type="submit">Log in</button>
!${options.passkeyOptions && options.passkeyAction ? html`!${passkeyButton('Sign in with a passkey', options.passkeyOptions, options.passkeyAction)}!${passkeyFields()}` : ''}
</form>
<p><a href="${options.forgotPasswordHref}">Forgot your password?</a></p>
!${options.signupHref ? html`<p class="muted">No account yet? <a href="${options.signupHref}">Create an account</a>.</p>` : ''}
<form method="post" action="${options.abortAction}">
!${csrfField(options.csrfToken)}
<button type="submit" class="secondary">Cancel and go back</button>
</form>
</main>`,
  });
}

export type ConsentPageOptions = { action: string; csrfToken: string; clientName: string; username: string; scopes: string[]; redirectOrigin: string };

export function consentPage(options: ConsentPageOptions): Html {
  const items = options.scopes.map((scope) => html`<li><strong>${SCOPE_DESCRIPTIONS[scope] ?? scope}</strong> <span class="muted">(<code>${scope}</code>)</span></li>
`);
  return layout({
    title: `Allow ${options.clientName}?`,
    main: html`<main class="narrow">
<h1>Allow <span id="client-name">${options.clientName}</span> to use your account?</h1>
<p>You are logged in as <strong id="who">${options.username}</strong>. If you allow it, <strong>${options.clientName}</strong> will be able to:</p>
<ul id="scopes">
!${items}</ul>
<p class="muted">You will be sent back to <code>${options.redirectOrigin}</code>. You can revoke this access at any time on your account page.</p>
<form method="post" action="${options.action}" class="actions decision">
!${csrfField(options.csrfToken)}
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
</form>
</main>`,
  });
}

export function oauthMessagePage(title: string, message: string): Html {
  return messagePage(title, message);
}

/** The provider's error page: shown instead of redirecting when the client or redirect URI is not to be trusted. */
export function errorPage(out: { error?: string; error_description?: string }, _error: errors.OIDCProviderError | Error): Html {
  const description = out.error_description ?? 'The request could not be handled.';
  return layout({
    title: 'This request cannot continue',
    main: html`<main class="narrow">
<h1>This request cannot continue</h1>
<p class="alert" role="alert"><code id="error-code">${out.error ?? 'server_error'}</code>: <span id="error-description">${description}</span></p>
<p>The application that sent you here sent a request this service will not act on, so you have not been sent back to it. You can close this page.</p>
</main>`,
  });
}

export type SignOutPageOptions = { action: string; xsrf: string; username?: string | undefined; clientName?: string | undefined };

/**
 * OpenID RP-initiated logout: the user confirms, so that no other site can sign them out unasked.
 * The form is the provider's: it checks its own `xsrf` value (kept in its session), not one of
 * src/web/csrf.ts's tokens.
 */
export function signOutPage(options: SignOutPageOptions): Html {
  return layout({
    title: 'Sign out?',
    main: html`<main class="narrow">
<h1>Sign out?</h1>
!${options.clientName ? html`<p><strong id="client-name">${options.clientName}</strong> asks to sign you out.</p>
` : ''}<p>You are signed in!${options.username ? html` as <strong id="who">${options.username}</strong>` : ''}. Signing out here also signs you out of your account page; applications you allowed keep the access you gave them.</p>
<form method="post" action="${options.action}">
<input type="hidden" name="xsrf" value="${options.xsrf}">
<button type="submit" name="logout" value="yes">Sign out</button>
</form>
<p class="muted">To stay signed in, close this page.</p>
</main>`,
  });
}

export function signedOutPage(clientName: string | undefined): Html {
  return layout({
    title: 'Signed out',
    main: html`<main class="narrow">
<h1>You are signed out</h1>
<p>!${clientName ? html`You can go back to <strong id="client-name">${clientName}</strong>, or close this page.` : html`You can close this page.`}</p>
</main>`,
  });
}

export function tooManySignInsPage(retryAfterSeconds: number): Html {
  const s = retryAfterSeconds === 1 ? '' : 's';
  return oauthMessagePage('Too many sign-in requests', `Too many sign-in requests came from your network. Wait ${retryAfterSeconds} second${s}, then try again.`);
}
