// The page a verification link opens. GET only shows the address and a Confirm
// button; POST (the button) verifies. Mail scanners that follow links therefore verify nothing.
// Server-rendered, no JavaScript, in the service's one layout and style sheet (src/web). The token
// is in the URL, so the page is never cached, sends no Referer (header and <meta>), and may load
// nothing but its style sheet. The form carries the link's token itself, which is the secret a
// CSRF token would be: no other site knows it.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { toApiError } from '../http/error-handler.ts';
import { formOf, queryParam } from '../web/forms.ts';
import { html, type Html } from '../web/html.ts';
import { layout } from '../web/layout.ts';
import { sendPage } from '../web/send.ts';
import type { Deps } from '../kernel/deps.ts';
import { selfContext } from '../audit/audit-events.ts';
import { VERIFY_PAGE_PATH, confirmVerificationLink, inspectVerificationLink, type LinkState } from './verification.service.ts';

function page(title: string, content: Html): Html {
  return layout({
    title,
    noReferrer: true,
    main: html`<main class="narrow">
<h1>${title}</h1>
!${content}
</main>`,
  });
}

function confirmPage(email: string, username: string, token: string): Html {
  return page(
    'Confirm your email address',
    html`<p>Confirm that <strong class="address">${email}</strong> is your address for the account <strong>${username}</strong>.</p>
<form method="post" action="verify-email">
<input type="hidden" name="token" value="${token}">
<button type="submit">Confirm</button>
</form>
<p class="muted">If you did not ask for this, close this page: nothing changes.</p>`,
  );
}

function verifiedPage(email: string): Html {
  return page('Email address verified', html`<p><strong class="address">${email}</strong> is verified. You can close this page.</p>`);
}

const PROBLEMS: Record<Exclude<LinkState['state'], 'valid'>, { status: number; title: string; text: string }> = {
  unknown: { status: 400, title: 'This link is not valid', text: 'This verification link is not valid. Check that you opened the whole link from the mail, or ask for a new one.' },
  used: { status: 410, title: 'This link has already been used', text: 'This verification link has already been used. Each link works once; if the address is not verified yet, ask for a new one.' },
  expired: { status: 410, title: 'This link has expired', text: 'This verification link has expired: links work for 24 hours. Ask for a new one.' },
};

function send(reply: FastifyReply, status: number, content: Html): FastifyReply {
  return sendPage(reply, status, content, { referrerPolicy: 'no-referrer' });
}

function sendProblem(reply: FastifyReply, state: Exclude<LinkState['state'], 'valid'>): FastifyReply {
  const problem = PROBLEMS[state];
  return send(reply, problem.status, page(problem.title, html`<p>${problem.text}</p>`));
}

/** A page, not the API's JSON, for whatever goes wrong: a body that cannot be parsed is a link that is not valid. */
function answerPageError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const known = toApiError(error);
  if (known && known.status < 500) return sendProblem(reply, 'unknown');
  request.log.error({ err: error }, 'unexpected error');
  return send(reply, 500, page('Something went wrong', html`<p>The link could not be checked just now. Try again in a moment.</p>`));
}

export function registerVerificationPages(app: FastifyInstance, deps: Deps): void {
  const options = { schema: { hide: true }, errorHandler: answerPageError };
  app.get(VERIFY_PAGE_PATH, options, async (request, reply) => {
    const token = queryParam(request, 'token');
    const link = await inspectVerificationLink(deps, token);
    if (link.state !== 'valid' || token === undefined) return sendProblem(reply, link.state === 'valid' ? 'unknown' : link.state);
    return send(reply, 200, confirmPage(link.email, link.username, token));
  });

  app.post(VERIFY_PAGE_PATH, options, async (request, reply) => {
    const result = await confirmVerificationLink(deps, formOf(request).token, selfContext(request));
    if (result.state !== 'valid') return sendProblem(reply, result.state);
    return send(reply, 200, verifiedPage(result.email));
  });
}
