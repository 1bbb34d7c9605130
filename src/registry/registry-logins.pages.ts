// The "Registry logins" section of the settings page: the refresh tokens `docker login` keeps
// (src/registry/refresh-tokens.ts), one per machine that logged in, with a Revoke button on each
// (that machine must log in again). Shown when the registry token endpoint is on.
import { html, type Html } from '../web/html.ts';
import { csrfField } from '../web/layout.ts';
import type { RefreshTokenSummary } from './refresh-tokens.ts';

export const REGISTRY_LOGIN_REVOKE_PATH = '/registry-logins/revoke';

const day = (iso: string | null) => (iso ? iso.slice(0, 10) : 'never');

export function registryLoginsSection(view: { base: string; csrfToken: string; logins: readonly RefreshTokenSummary[]; errors: readonly string[] }): Html {
  const { base, csrfToken } = view;
  const rows = view.logins.map((login) => {
    const client = login.client_id || 'a registry client';
    const made = login.access_token === null ? 'with the password' : html`with the token “${login.access_token}”`;
    return html`<li><span><strong>${client}</strong> <code>${login.hint}…</code> <span class="badge">${login.service}</span><br>
<span class="muted">!${made} · logged in ${day(login.created_at)} · expires ${day(login.expires_at)} · last used ${day(login.last_used_at)}</span></span>
<span class="actions"><form method="post" action="${base}${REGISTRY_LOGIN_REVOKE_PATH}">!${csrfField(csrfToken)}<input type="hidden" name="registry_login_id" value="${login.id}"><button type="submit" class="danger" aria-label="${`Revoke registry login ${login.hint}`}">Revoke</button></form></span></li>
`;
  });
  const errors = view.errors.length > 0 ? html`<p class="error" id="registry_login_revoke-error" role="alert">${view.errors.join(' ')}</p>` : '';
  return html`<section aria-labelledby="registry-logins-h">
<h2 id="registry-logins-h">Registry logins</h2>
!${errors}
!${
    view.logins.length > 0
      ? html`<ul class="rows" id="registry-logins">
!${rows}</ul>
<p class="muted">What <code>docker login</code> keeps on each machine instead of your password. Revoking one logs that machine out of the registry; a new password logs out all of them.</p>`
      : html`<p class="muted" id="registry-logins">No registry logins. When you <code>docker login</code> to the registry, the machine keeps a login listed here, where you can revoke it.</p>`
  }
</section>`;
}
