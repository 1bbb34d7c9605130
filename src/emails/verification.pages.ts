// The page a verification link opens. GET only shows the address and a Confirm
// button; POST (the button) verifies. Mail scanners that follow links therefore verify nothing.
// Server-rendered, no JavaScript. The token is in the URL, so the page is never cached, sends no
// Referer, and may load nothing but its own inline style (whose hash the CSP names).
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { toApiError } from '../http/error-handler.ts';
import { escapeHtml, pageCsp, sendPage } from '../http/pages.ts';
import type { Deps } from '../kernel/deps.ts';
import { selfContext } from '../audit/audit-events.ts';
import { VERIFY_PAGE_PATH, confirmVerificationLink, inspectVerificationLink, type LinkState } from './verification.service.ts';

const STYLE = `
:root { color-scheme: light dark; --accent: #1d63ed; }
* { box-sizing: border-box; }
body { margin: 0; font: 1rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; display: grid; place-items: center; min-height: 100vh; padding: 1rem; background: Canvas; color: CanvasText; }
main { max-width: 32rem; width: 100%; padding: 2rem; border: 1px solid color-mix(in srgb, CanvasText 20%, transparent); border-radius: 0.75rem; }
h1 { font-size: 1.5rem; margin: 0 0 1rem; }
.address { font-weight: 600; overflow-wrap: anywhere; }
button { font: inherit; font-weight: 600; padding: 0.6rem 1.4rem; border: 0; border-radius: 0.5rem; background: var(--accent); color: #fff; cursor: pointer; }
button:focus-visible { outline: 3px solid color-mix(in srgb, var(--accent) 50%, CanvasText); outline-offset: 2px; }
.note { font-size: 0.9rem; opacity: 0.8; }
`;

export const PAGE_CSP = pageCsp(STYLE);

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

function confirmPage(email: string, username: string, token: string): string {
  return page(
    'Confirm your email address',
    `<h1>Confirm your email address</h1>
<p>Confirm that <span class="address">${escapeHtml(email)}</span> is your address for the account <strong>${escapeHtml(username)}</strong>.</p>
<form method="post" action="verify-email">
<input type="hidden" name="token" value="${escapeHtml(token)}">
<button type="submit">Confirm</button>
</form>
<p class="note">If you did not ask for this, close this page: nothing changes.</p>`,
  );
}

function verifiedPage(email: string): string {
  return page(
    'Email address verified',
    `<h1>Email address verified</h1>
<p><span class="address">${escapeHtml(email)}</span> is verified. You can close this page.</p>`,
  );
}

const PROBLEMS: Record<Exclude<LinkState['state'], 'valid'>, { status: number; title: string; text: string }> = {
  unknown: { status: 400, title: 'This link is not valid', text: 'This verification link is not valid. Check that you opened the whole link from the mail, or ask for a new one.' },
  used: { status: 410, title: 'This link has already been used', text: 'This verification link has already been used. Each link works once; if the address is not verified yet, ask for a new one.' },
  expired: { status: 410, title: 'This link has expired', text: 'This verification link has expired: links work for 24 hours. Ask for a new one.' },
};

function send(reply: FastifyReply, status: number, html: string): FastifyReply {
  return sendPage(reply, status, html, { csp: PAGE_CSP, referrerPolicy: 'no-referrer' });
}

function sendProblem(reply: FastifyReply, state: Exclude<LinkState['state'], 'valid'>): FastifyReply {
  const problem = PROBLEMS[state];
  return send(reply, problem.status, page(problem.title, `<h1>${problem.title}</h1>\n<p>${problem.text}</p>`));
}

/** A page, not the API's JSON, for whatever goes wrong: a body that cannot be parsed is a link that is not valid. */
function answerPageError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const known = toApiError(error);
  if (known && known.status < 500) return sendProblem(reply, 'unknown');
  request.log.error({ err: error }, 'unexpected error');
  return send(reply, 500, page('Something went wrong', '<h1>Something went wrong</h1>\n<p>The link could not be checked just now. Try again in a moment.</p>'));
}

export function registerVerificationPages(app: FastifyInstance, deps: Deps): void {
  const options = { schema: { hide: true }, errorHandler: answerPageError };
  app.get(VERIFY_PAGE_PATH, options, async (request, reply) => {
    const token = (request.query as Record<string, unknown>).token;
    const link = await inspectVerificationLink(deps, token);
    if (link.state !== 'valid') return sendProblem(reply, link.state);
    return send(reply, 200, confirmPage(link.email, link.username, token as string));
  });

  app.post(VERIFY_PAGE_PATH, options, async (request, reply) => {
    const body = request.body;
    const token = body && typeof body === 'object' ? (body as Record<string, unknown>).token : undefined;
    const result = await confirmVerificationLink(deps, token, selfContext(request));
    if (result.state !== 'valid') return sendProblem(reply, result.state);
    return send(reply, 200, verifiedPage(result.email));
  });
}
