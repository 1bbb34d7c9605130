// The one script of the pages: the browser's half of a passkey ceremony (WebAuthn), which cannot
// happen without JavaScript. Everything else still works without it: the passkey buttons are
// hidden until this script shows them, and only where the browser has WebAuthn.
//
// A button `data-passkey="<url>"` inside a form: a click POSTs the form's CSRF token to <url>,
// which answers {step, mode: "create" | "get", publicKey} (the options, base64url as JSON);
// the script asks the authenticator (navigator.credentials), writes the step and the answer as
// JSON into the form's hidden `passkey_step` and `passkey_response` inputs, and submits the form
// to the button's formaction. A failure is said in the form's `.passkey-status` element.
// Allowed by its hash in the page's Content-Security-Policy (./security.ts), with connect-src 'self'.
import { createHash } from 'node:crypto';

export const WEBAUTHN_SCRIPT = `(() => {
  if (!window.PublicKeyCredential || !navigator.credentials) return;
  const decode = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4)), (c) => c.charCodeAt(0)).buffer;
  const encode = (b) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  for (const button of document.querySelectorAll('button[data-passkey]')) {
    button.hidden = false;
    button.addEventListener('click', async (event) => {
      event.preventDefault();
      const form = button.form;
      const status = form.querySelector('.passkey-status');
      if (status) status.textContent = '';
      try {
        const body = new URLSearchParams();
        const csrf = form.elements.namedItem('csrf_token');
        if (csrf) body.set('csrf_token', csrf.value);
        const answer = await fetch(button.dataset.passkey, { method: 'POST', body, credentials: 'same-origin' });
        const options = await answer.json().catch(() => ({}));
        if (!answer.ok) throw new Error(options.detail || 'Passkeys cannot be used just now.');
        const publicKey = options.publicKey;
        publicKey.challenge = decode(publicKey.challenge);
        if (publicKey.user) publicKey.user.id = decode(publicKey.user.id);
        for (const list of [publicKey.allowCredentials, publicKey.excludeCredentials]) for (const c of list || []) c.id = decode(c.id);
        const credential = await navigator.credentials[options.mode]({ publicKey });
        const r = credential.response;
        const json = { id: credential.id, rawId: encode(credential.rawId), type: credential.type, authenticatorAttachment: credential.authenticatorAttachment || undefined, clientExtensionResults: credential.getClientExtensionResults(), response: { clientDataJSON: encode(r.clientDataJSON) } };
        if (options.mode === 'create') {
          json.response.attestationObject = encode(r.attestationObject);
          json.response.transports = r.getTransports ? r.getTransports() : [];
        } else {
          json.response.authenticatorData = encode(r.authenticatorData);
          json.response.signature = encode(r.signature);
          if (r.userHandle) json.response.userHandle = encode(r.userHandle);
        }
        form.elements.namedItem('passkey_step').value = options.step;
        form.elements.namedItem('passkey_response').value = JSON.stringify(json);
        if (button.formAction) form.action = button.formAction;
        form.noValidate = true;
        form.submit();
      } catch (error) {
        if (status) status.textContent = error && error.name === 'NotAllowedError' ? 'No passkey was used (cancelled, or none of this site on this device).' : (error && error.message) || 'The passkey could not be used.';
      }
    });
  }
})();`;

export const WEBAUTHN_SCRIPT_SOURCE = `'sha256-${createHash('sha256').update(WEBAUTHN_SCRIPT, 'utf8').digest('base64')}'`;
