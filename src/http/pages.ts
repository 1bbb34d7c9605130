// Shared pieces of the server-rendered pages (the verification link's page, the account page):
// escaping, and a Content-Security-Policy that allows nothing but the page's own inline style,
// named by its hash.
import { createHash } from 'node:crypto';
import type { FastifyReply } from 'fastify';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * A CSP that loads nothing, runs no script, and applies only `style` (inline, by its SHA-256).
 * Forms post to this origin; `formTargets` are origins their redirects may lead to.
 */
export function pageCsp(style: string, formTargets: readonly string[] = []): string {
  const hash = createHash('sha256').update(style, 'utf8').digest('base64');
  const targets = formTargets.map((t) => ` ${t}`).join('');
  return `default-src 'none'; style-src 'sha256-${hash}'; form-action 'self'${targets}; frame-ancestors 'none'; base-uri 'none'`;
}

/** Sends a page that no cache keeps and no frame shows. */
export function sendPage(reply: FastifyReply, status: number, html: string, options: { csp: string; referrerPolicy: 'no-referrer' | 'same-origin' }): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('content-security-policy', options.csp)
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', options.referrerPolicy)
    .send(html);
}

/** The document around a page: language, viewport, title, its one style sheet, then the body. */
export function htmlDocument(title: string, style: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${style}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

/**
 * True when a form was posted from another site, as the browser tells it. Fetch Metadata's
 * Sec-Fetch-Site decides when it is there: anything but same-origin is refused, a sibling
 * subdomain included (it could also have planted our cookies). Browsers without it send Origin:
 * it must be PUBLIC_URL's origin, or name the host the request came to (a page opened under
 * another name; a proxy may have rewritten Host, hence PUBLIC_URL first). Origin "null" is what
 * browsers send for a form on a page with Referrer-Policy no-referrer, so it is not refused here;
 * the form's own token still is checked.
 */
export function isCrossSiteForm(request: { headers: Record<string, string | string[] | undefined>; host: string }, publicOrigin: string): boolean {
  const site = request.headers['sec-fetch-site'];
  if (typeof site === 'string') return site !== 'same-origin' && site !== 'none';
  const origin = request.headers.origin;
  if (typeof origin !== 'string' || origin === 'null' || origin === publicOrigin) return false;
  try {
    return new URL(origin).host !== request.host;
  } catch {
    return true;
  }
}
