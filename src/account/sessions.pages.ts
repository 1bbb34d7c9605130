// The "Sessions" section of the settings page: where the account is signed in (the account page's
// sessions and the authorization server's logins), with a Sign out button on each but this
// browser's, and one for all the others. The User-Agent is the client's word: shown in words,
// and in full only as escaped text (ghtml escapes every ${}).
import { html, type Html } from '../web/html.ts';
import { csrfField } from '../web/layout.ts';
import { describeUserAgent } from '../web/user-agent.ts';
import type { SignInSummary } from './sign-ins.service.ts';

/** "2026-12-02 16:27 UTC", in a <time> element; a dash when unknown. */
function moment(iso: string | null): Html {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '—';
  return html`<time datetime="${date.toISOString()}">${date.toISOString().slice(0, 16).replace('T', ' ')} UTC</time>`;
}

const KIND_LABELS: Record<SignInSummary['kind'], string> = {
  account: 'account page',
  oauth: 'application sign-in',
};

/** How a sign-in of the account page was made, beyond the password. */
const FACTOR_LABELS: Record<string, string> = { totp: 'with an authenticator app', passkey: 'with a passkey', recovery_code: 'with a recovery code' };

export function sessionsSection(view: { base: string; csrfToken: string; sessions: readonly SignInSummary[]; errors: readonly string[] }): Html {
  const { base, csrfToken } = view;
  const rows = view.sessions.map((s) => {
    const browser = describeUserAgent(s.userAgent);
    const factor = s.secondFactor && FACTOR_LABELS[s.secondFactor] ? html`<span class="badge">${FACTOR_LABELS[s.secondFactor]}</span>` : '';
    const here = s.current ? html`<span class="badge">${s.kind === 'account' ? 'this session' : 'this browser'}</span>` : '';
    const action = s.current
      ? ''
      : html`<form method="post" action="${base}/sessions/end">!${csrfField(csrfToken)}<input type="hidden" name="session" value="${s.ref}"><button type="submit" class="danger" aria-label="${`Sign out: ${browser}, ${KIND_LABELS[s.kind]}`}">Sign out</button></form>`;
    return html`<li data-session="${s.ref}"><span><strong>${browser}</strong>!${here}<span class="badge">${KIND_LABELS[s.kind]}</span>!${factor}<br>
<span class="muted">${s.ip ?? 'address unknown'} · started !${moment(s.startedAt)} · last seen !${moment(s.lastSeenAt)}</span>!${s.userAgent ? html`<br><span class="muted user-agent">${s.userAgent}</span>` : ''}</span>
<span class="actions">!${action}</span></li>
`;
  });
  const others = view.sessions.some((s) => !s.current);
  const errors = view.errors.length > 0 ? html`<p class="error" id="session_end-error" role="alert">${view.errors.join(' ')}</p>` : '';
  return html`<section aria-labelledby="sessions-h">
<h2 id="sessions-h">Sessions</h2>
!${errors}
<p class="muted">Where your account is signed in: this page, and the sign-in page applications send you to.</p>
<ul class="rows" id="sessions">
!${rows}</ul>
!${
    others
      ? html`<form method="post" action="${base}/sessions/end-others">
!${csrfField(csrfToken)}
<button type="submit" class="secondary">Sign out all other sessions</button>
</form>`
      : ''
  }
</section>`;
}
