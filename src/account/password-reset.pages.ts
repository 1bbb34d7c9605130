// The HTML of the forgotten-password pages: asking for a link, the answer that is the same
// whatever was asked, the form that sets the new password, and what a link that cannot be used
// says. Server-rendered, no JavaScript, in the service's one layout and style sheet (src/web).
import { passwordRules } from '../auth/passwords.ts';
import { html, type Html } from '../web/html.ts';
import { layout } from '../web/layout.ts';

function page(title: string, content: Html, options: { noReferrer?: boolean } = {}): Html {
  return layout({
    title,
    ...(options.noReferrer ? { noReferrer: true } : {}),
    main: html`<main class="narrow">
<h1>${title}</h1>
!${content}
</main>`,
  });
}

export function forgotPasswordPage(view: { action: string; loginHref: string; identifier?: string; error?: string }): Html {
  const failed = view.error !== undefined;
  return page(
    'Forgot your password?',
    html`<p>Enter your username, or a verified email address of your account. If an account matches, a link to set a new password is mailed to its primary address.</p>
<form method="post" action="${view.action}">
<label for="forgot-identifier">Username or email address</label>
<input type="text" id="forgot-identifier" name="identifier" value="${view.identifier ?? ''}" autocomplete="username" autocapitalize="none" spellcheck="false" required!${failed ? html` aria-invalid="true" aria-describedby="forgot-identifier-error"` : ''}>
!${failed ? html`<p class="error" id="forgot-identifier-error" role="alert">${view.error}</p>` : ''}
<button type="submit">Send a link</button>
</form>
<p><a href="${view.loginHref}">Back to log in</a></p>`,
  );
}

export function linkSentPage(view: { loginHref: string }): Html {
  return page(
    'Check your mail',
    html`<p id="reset-requested">If an account matches what you entered and has a verified primary address, a link to set a new password is on its way to that address. It works once, for 1 hour.</p>
<p class="muted">No mail after a few minutes? Check your spam folder, or ask again with your username. If you no longer read that address, ask the service’s administrator for help.</p>
<p><a href="${view.loginHref}">Back to log in</a></p>`,
  );
}

export function resetPasswordPage(view: { action: string; token: string; username: string; passwordMinLength: number; error?: string }): Html {
  const failed = view.error !== undefined;
  return page(
    'Set a new password',
    html`<p>Choose a new password for the account <strong id="who">${view.username}</strong>.</p>
<form method="post" action="${view.action}">
<input type="hidden" name="token" value="${view.token}">
<input type="text" name="username" value="${view.username}" autocomplete="username" hidden>
<label for="reset-password">New password</label>
<input type="password" id="reset-password" name="password" value="" autocomplete="new-password" required aria-describedby="reset-password-hint!${failed ? ' reset-password-error' : ''}"!${failed ? html` aria-invalid="true"` : ''}>
<p class="muted" id="reset-password-hint">${passwordRules(view.passwordMinLength)}</p>
!${failed ? html`<p class="error" id="reset-password-error" role="alert">${view.error}</p>` : ''}
<button type="submit">Set new password</button>
</form>
<p class="muted">Setting it logs the account out everywhere: the account page and the applications’ login pages. Personal access tokens and the applications you allowed keep working; you can revoke them on your account page.</p>`,
    { noReferrer: true },
  );
}

export function passwordResetDonePage(view: { loginHref: string }): Html {
  return page(
    'Your password was changed',
    html`<p id="reset-done">Your new password is set, and every session of the account was logged out. Log in with the new password.</p>
<p><a href="${view.loginHref}">Log in</a></p>`,
    { noReferrer: true },
  );
}

export type LinkProblem = 'unknown' | 'used' | 'expired';

export const LINK_PROBLEMS: Record<LinkProblem, { status: number; title: string; text: string }> = {
  unknown: { status: 400, title: 'This link is not valid', text: 'This password reset link is not valid. Check that you opened the whole link from the mail, or ask for a new one.' },
  used: { status: 410, title: 'This link has already been used', text: 'This password reset link has already been used, or a newer one was. Each link works once; ask for a new one if you still need it.' },
  expired: { status: 410, title: 'This link has expired', text: 'This password reset link has expired: links work for 1 hour. Ask for a new one.' },
};

export function linkProblemPage(problem: LinkProblem, forgotHref: string): Html {
  const { title, text } = LINK_PROBLEMS[problem];
  return page(title, html`<p>${text}</p>
<p><a href="${forgotHref}">Ask for a new link</a></p>`, { noReferrer: true });
}

export function simplePage(title: string, text: string, link?: { href: string; label: string }): Html {
  return page(title, html`<p>${text}</p>!${link ? html`
<p><a href="${link.href}">${link.label}</a></p>` : ''}`);
}
