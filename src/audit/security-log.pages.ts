// The "Security log" section of the settings page: the same list as GET …/events/, newest first,
// a page at a time ("Older events" follows the cursor). Event names in words; the detail as the
// API gives it, escaped.
import { html, type Html } from '../web/html.ts';
import type { SecurityEvent } from './audit.service.ts';

const WORDS: Record<string, string> = {
  signed_in: 'Signed in',
  login_failed: 'Failed sign-in',
  login_throttled: 'Sign-ins paused after failures',
  signed_up: 'Account created',
  password_changed: 'Password changed',
  password_reset_requested: 'Password reset asked for',
  password_reset: 'Password reset',
  token_created: 'Token created',
  token_revoked: 'Token revoked',
  email_added: 'Address added',
  email_removed: 'Address removed',
  email_verified: 'Address verified',
  email_made_primary: 'Primary address changed',
  account_deactivated: 'Account deactivated',
  account_activated: 'Account activated',
  oauth_grant: 'Application allowed',
  oauth_revoked: 'Application revoked',
  session_ended: 'Session signed out',
  sessions_ended: 'Other sessions signed out',
  second_factor_added: 'Second factor added',
  second_factor_removed: 'Second factor removed',
  recovery_codes_generated: 'New recovery codes',
  recovery_code_used: 'Recovery code used',
  two_factor_disabled: 'Two-factor turned off',
  two_factor_reset: 'Two-factor reset by an operator',
  registry_refresh_token_issued: 'Registry login',
  registry_refresh_token_revoked: 'Registry login revoked',
};

export function securityLogSection(view: { base: string; events: readonly SecurityEvent[]; next: string | undefined; username: string }): Html {
  const rows = view.events.map(
    (e) => html`<li><span><strong>${WORDS[e.event] ?? e.event}</strong>!${e.outcome === 'success' ? '' : html` <span class="badge">${e.outcome}</span>`}!${e.actor === 'self' ? '' : html` <span class="badge">by ${e.actor === 'admin' ? 'an operator' : 'the service'}</span>`}<br>
<span class="muted"><time datetime="${e.occurred_at}">${e.occurred_at.slice(0, 16).replace('T', ' ')} UTC</time> · ${e.client_ip ?? 'no address'}!${e.detail ? html` · <code>${JSON.stringify(e.detail)}</code>` : ''}</span></span></li>
`,
  );
  return html`<section aria-labelledby="security-log-h">
<h2 id="security-log-h">Security log</h2>
<p class="muted">What happened to your account, newest first. Applications and scripts read the same list with a token that has <code>security_read</code>: <code>GET /api/v1.1/users/${view.username}/events/</code>.</p>
!${view.events.length > 0 ? html`<ul class="rows" id="security-log">
!${rows}</ul>` : html`<p class="muted" id="security-log">Nothing yet.</p>`}
!${view.next ? html`<p><a href="${view.base}/?log=${view.next}#security-log-h">Older events</a></p>` : ''}
</section>`;
}
