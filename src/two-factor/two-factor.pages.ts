// The HTML of two-factor authentication: the section of the settings page, the set-up of an
// authenticator app (QR code made on the server, the otpauth:// URI and the secret as text), the
// recovery codes shown once, the second step of a login (the account page's and an application's
// sign-in), and the fields that confirm an action with a second factor. Server-rendered; passkeys
// need the one page script (src/web/webauthn-script.ts), and their buttons stay hidden without it.
import QRCode from 'qrcode';
import type { FieldErrors } from '../kernel/errors.ts';
import { html, type Html } from '../web/html.ts';
import { csrfField, layout } from '../web/layout.ts';
import type { TwoFactorStatus } from './two-factor.service.ts';
import { MAX_PASSKEY_NAME } from './passkeys.ts';

function when(iso: string | null): string {
  return iso ? `${iso.slice(0, 16).replace('T', ' ')} UTC` : 'never';
}

function errorsOf(errors: FieldErrors | undefined, field: string): Html {
  const list = errors?.[field] ?? [];
  return list.length > 0 ? html`<p class="error" role="alert">${list.join(' ')}</p>` : '';
}

/** The hidden inputs and status line a passkey button's form needs (src/web/webauthn-script.ts). */
export function passkeyFields(): Html {
  return html`<input type="hidden" name="passkey_step" value=""><input type="hidden" name="passkey_response" value="">
<p class="muted passkey-status" role="status"></p>`;
}

/** A passkey button: hidden until the script shows it; asks `optionsUrl`, then submits the form to `action`. */
export function passkeyButton(label: string, optionsUrl: string, action: string): Html {
  return html`<button type="button" class="passkey" data-passkey="${optionsUrl}" formaction="${action}" hidden>${label}</button>`;
}

export type TwoFactorSectionView = { base: string; csrfToken: string; status: TwoFactorStatus; errors?: FieldErrors; form?: string };

export function twoFactorSection(view: TwoFactorSectionView): Html {
  const { base, csrfToken, status } = view;
  const errors = (form: string) => (view.form === form ? view.errors : undefined);
  const factorCount = (status.totp === 'on' ? 1 : 0) + status.passkeys.length;
  const totp =
    status.totp === 'on'
      ? html`<li><span><strong>Authenticator app</strong><span class="badge">on</span></span>
<span class="actions">!${factorCount > 1 ? html`<form method="post" action="${base}/two-factor/totp/remove">!${csrfField(csrfToken)}<button type="submit" class="danger">Remove</button></form>` : ''}</span></li>`
      : html`<li><span><strong>Authenticator app</strong><br><span class="muted">Codes from an app such as Google Authenticator, Aegis, 1Password or Authy.</span></span>
<span class="actions"><form method="post" action="${base}/two-factor/totp/start">!${csrfField(csrfToken)}<button type="submit" class="secondary">Set up an authenticator app</button></form></span></li>`;
  const passkeys = status.passkeys.map(
    (p) => html`<li><span><strong>${p.name}</strong><span class="badge">passkey</span><br><span class="muted">added ${when(p.created_at)} · last used ${when(p.last_used_at)}</span></span>
<span class="actions"><form method="post" action="${base}/two-factor/passkeys/rename" class="inline">!${csrfField(csrfToken)}<input type="hidden" name="passkey_id" value="${p.id}"><input type="text" name="name" value="${p.name}" maxlength="${MAX_PASSKEY_NAME}" aria-label="${`New name for ${p.name}`}" required><button type="submit" class="secondary" aria-label="${`Rename passkey ${p.name}`}">Rename</button></form>!${
      factorCount > 1
        ? html`<form method="post" action="${base}/two-factor/passkeys/remove">!${csrfField(csrfToken)}<input type="hidden" name="passkey_id" value="${p.id}"><button type="submit" class="danger" aria-label="${`Remove passkey ${p.name}`}">Remove</button></form>`
        : ''
    }</span></li>`,
  );
  const addPasskey = html`<form method="post" action="${base}/two-factor/passkeys/add" class="inline" id="passkey-add">
!${csrfField(csrfToken)}
<div><label for="passkey-name">Passkey name</label><input type="text" id="passkey-name" name="name" maxlength="${MAX_PASSKEY_NAME}" placeholder="Laptop, phone, security key" autocomplete="off"></div>
!${passkeyButton('Add a passkey', `${base}/two-factor/passkeys/options`, `${base}/two-factor/passkeys/add`)}
!${passkeyFields()}
!${errorsOf(errors('passkey_add'), 'passkey')}!${errorsOf(errors('passkey_add'), 'name')}
</form>
<p class="muted">A passkey signs you in on its own, with your device’s fingerprint, face or PIN, and is also a second factor after your password. Adding one needs JavaScript and a browser with passkeys.</p>`;
  const recovery = status.on
    ? html`<p>Recovery codes left: <strong id="recovery-left">${status.recoveryCodesLeft}</strong> of 10. Each works once, when you have none of your factors at hand.</p>
<form method="post" action="${base}/two-factor/recovery-codes">!${csrfField(csrfToken)}<button type="submit" class="secondary">Make new recovery codes</button></form>
<h3>Turn off two-factor authentication</h3>
<form method="post" action="${base}/two-factor/disable">
!${csrfField(csrfToken)}
!${secondFactorConfirmation({ base, id: 'disable', errors: errors('two_factor_disable'), passkeys: status.passkeys.length > 0, action: `${base}/two-factor/disable` })}
<button type="submit" class="danger">Turn off two-factor authentication</button>
</form>`
    : html`<p class="muted">Two-factor authentication is off: your password alone signs you in. Set up an authenticator app or add a passkey to turn it on; you will get recovery codes.</p>`;
  return html`<section aria-labelledby="two-factor-h">
<h2 id="two-factor-h">Two-factor authentication</h2>
<p id="two-factor-state">Two-factor authentication is <strong>${status.on ? 'on' : 'off'}</strong>.!${status.on ? ' The API takes personal access tokens only, not your password.' : ''}</p>
!${errorsOf(errors('two_factor'), 'two_factor')}
<ul class="rows" id="factors">
!${totp}
!${passkeys}
</ul>
!${addPasskey}
!${recovery}
</section>`;
}

/** The fields that confirm an action with a second factor: a code, or a passkey. */
export function secondFactorConfirmation(view: { base: string; id: string; errors?: FieldErrors | undefined; passkeys: boolean; action: string }): Html {
  const id = `${view.id}-code`;
  const errors = view.errors?.code ?? [];
  return html`<label for="${id}">Code from your authenticator app, or a recovery code</label>
<input type="text" id="${id}" name="code" value="" inputmode="text" autocomplete="one-time-code" autocapitalize="none" spellcheck="false"!${errors.length > 0 ? html` aria-invalid="true" aria-describedby="${id}-error"` : ''}>
!${errors.length > 0 ? html`<p class="error" id="${id}-error" role="alert">${errors.join(' ')}</p>` : ''}
!${view.passkeys ? html`!${passkeyButton('Confirm with a passkey', `${view.base}/two-factor/confirm-options`, view.action)}!${passkeyFields()}` : ''}`;
}

export async function totpSetupPage(view: { base: string; csrfToken: string; username: string; secret: string; uri: string; error?: string }): Promise<Html> {
  const qr = await QRCode.toString(view.uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  const grouped = view.secret.replace(/(.{4})/g, '$1 ').trim();
  return layout({
    title: 'Set up an authenticator app',
    main: html`<main class="narrow">
<h1>Set up an authenticator app</h1>
<p>1. Scan this code with your authenticator app.</p>
<div class="qr" role="img" aria-label="QR code of the set-up link">!${qr}</div>
<details open><summary>Cannot scan it?</summary>
<p>Enter this secret in the app (time-based, 6 digits, every 30 seconds):</p>
<p><code id="totp-secret">${grouped}</code></p>
<p>Or open this link on the device that has the app:</p>
<p><code id="totp-uri">${view.uri}</code></p>
</details>
<form method="post" action="${view.base}/two-factor/totp/confirm">
!${csrfField(view.csrfToken)}
<label for="totp-code">2. Type the 6-digit code the app shows</label>
<input type="text" id="totp-code" name="code" value="" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]*" required!${view.error ? html` aria-invalid="true" aria-describedby="totp-code-error"` : ''}>
!${view.error ? html`<p class="error" id="totp-code-error" role="alert">${view.error}</p>` : ''}
<button type="submit">Turn on</button>
</form>
<p><a href="${view.base}/">Cancel</a></p>
</main>`,
  });
}

export function recoveryCodesPage(view: { base: string; codes: readonly string[]; turnedOn: boolean }): Html {
  return layout({
    title: 'Your recovery codes',
    main: html`<main class="narrow">
<h1>Your recovery codes</h1>
!${view.turnedOn ? html`<div class="notice" role="status">Two-factor authentication is on.</div>` : ''}
<p>Keep these codes somewhere safe — a password manager, or printed. Each works <strong>once</strong>, in place of a code from your app or a passkey, if you lose them. <strong>They are shown only now.</strong></p>
<ol class="codes" id="recovery-codes">
!${view.codes.map((c) => html`<li>${c}</li>`)}
</ol>
<p><a href="${view.base}/">I have saved them: back to my account</a></p>
</main>`,
  });
}

export type SecondStepView = {
  /** Where the code is posted, and where a passkey's answer goes. */
  action: string;
  passkeyOptions: string;
  passkeyAction: string;
  csrfToken: string;
  cancelHref: string;
  username: string;
  totp: boolean;
  passkeys: boolean;
  error?: string;
  /** REQUIRE_2FA, no factor yet: the page says so (the set-up is on the account page). */
};

export function secondStepPage(view: SecondStepView): Html {
  const failed = view.error !== undefined;
  return layout({
    title: 'Two-factor authentication',
    webauthn: view.passkeys,
    main: html`<main class="narrow">
<h1>Two-factor authentication</h1>
<p>Signing in as <strong id="who">${view.username}</strong>. ${view.totp ? 'Type the code your authenticator app shows' : 'Use your passkey'}, or a recovery code.</p>
<form method="post" action="${view.action}">
!${csrfField(view.csrfToken)}
<label for="second-factor-code">${view.totp ? 'Code from your authenticator app' : 'Recovery code'}</label>
<input type="text" id="second-factor-code" name="code" value="" inputmode="text" autocomplete="one-time-code" autocapitalize="none" spellcheck="false" autofocus!${failed ? html` aria-invalid="true" aria-describedby="second-factor-code-error"` : ''}>
<p class="muted">!${view.totp ? 'Lost your app? Type one of your recovery codes instead.' : 'A recovery code works too.'}</p>
!${failed ? html`<p class="error" id="second-factor-code-error" role="alert">${view.error}</p>` : ''}
<button type="submit">Continue</button>
!${view.passkeys ? html` !${passkeyButton('Use a passkey', view.passkeyOptions, view.passkeyAction)}!${passkeyFields()}` : ''}
</form>
<p><a href="${view.cancelHref}">Cancel</a></p>
</main>`,
  });
}
