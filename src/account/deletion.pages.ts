// The "Delete account" section at the bottom of the settings page, and the page shown once the
// account is gone. The password is asked again and the username typed, so neither a stolen
// session nor a slip of the mouse deletes an account.
import { html, type Html } from '../web/html.ts';
import { csrfField, messagePage } from '../web/layout.ts';
import { secondFactorConfirmation } from '../two-factor/two-factor.pages.ts';

export const DELETE_FORM = 'delete_account';

export type DeleteSectionView = {
  base: string;
  csrfToken: string;
  username: string;
  /** The form's messages by field, when it was just refused. */
  errors?: Record<string, string[]> | undefined;
  /** What was typed in the username field, shown again after a refusal. */
  typed?: string | undefined;
  /** Two-factor on: a second factor is asked too (a code, or a passkey). */
  twoFactorOn?: boolean;
  passkeys?: boolean;
};

function field(name: string, label: string, type: string, errors: readonly string[], extra: { value?: string; autocomplete: string; hint?: string }): Html {
  const id = `${DELETE_FORM}-${name}`;
  const describedBy = [errors.length > 0 ? `${id}-error` : '', extra.hint ? `${id}-hint` : ''].filter(Boolean).join(' ');
  return html`<label for="${id}">${label}</label>
<input type="${type}" id="${id}" name="${name}" value="${extra.value ?? ''}" autocomplete="${extra.autocomplete}" required!${errors.length > 0 ? html` aria-invalid="true"` : ''}!${describedBy ? html` aria-describedby="${describedBy}"` : ''}>
!${extra.hint ? html`<p class="muted" id="${id}-hint">${extra.hint}</p>` : ''}!${errors.length > 0 ? html`<p class="error" id="${id}-error" role="alert">${errors.join(' ')}</p>` : ''}`;
}

export function deleteAccountSection(view: DeleteSectionView): Html {
  const errors = view.errors ?? {};
  return html`<section aria-labelledby="delete-h">
<h2 id="delete-h">Delete account</h2>
<p>Deleting your account removes your profile, your email addresses, your access tokens and the access of the applications you allowed, and logs you out everywhere. It cannot be undone. Your username will not be given to anyone else.</p>
<form method="post" action="${view.base}/delete">
!${csrfField(view.csrfToken)}
<input type="text" name="username" value="${view.username}" autocomplete="username" hidden>
!${field('current_password', 'Your password', 'password', errors.current_password ?? [], { autocomplete: 'current-password' })}
!${field('confirm_username', 'Type your username to confirm', 'text', errors.confirm_username ?? [], { value: view.typed ?? '', autocomplete: 'off', hint: `Type “${view.username}”.` })}
!${view.twoFactorOn ? secondFactorConfirmation({ base: view.base, id: DELETE_FORM, errors: view.errors, passkeys: view.passkeys ?? false, action: `${view.base}/delete` }) : ''}
<button type="submit" class="danger">Delete my account</button>
</form>
</section>`;
}

export function accountDeletedPage(username: string, home: string): Html {
  return messagePage('Your account was deleted', `The account “${username}” and everything of it are gone. A confirmation was sent to its primary address.`, { href: home, label: 'Home' });
}
