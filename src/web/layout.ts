// The document every page is: the same head, the one style sheet, the same header, then the page's
// own <main>. Pages pass markup made with `html` (./html.ts); the title is text and is escaped.
import { html, type Html } from './html.ts';
import { STYLE } from './style.ts';
import { WEBAUTHN_SCRIPT } from './webauthn-script.ts';

/** The name the pages show in their header and the landing page's heading. */
export const SERVICE_NAME = 'Accounts';

export type LayoutOptions = {
  title: string;
  /** The page's <main> element, made with `html`. */
  main: Html;
  /** Markup at the end of the header (who is signed in, a log-out button), made with `html`. */
  headerEnd?: Html;
  /**
   * Repeats Referrer-Policy: no-referrer in the document, for a page whose URL holds a secret
   * (the verification link): kept even where a proxy drops the header.
   */
  noReferrer?: boolean;
  /** The passkey script (./webauthn-script.ts), for a page with passkey buttons. */
  webauthn?: boolean;
};

export function layout(options: LayoutOptions): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">!${options.noReferrer ? html`
<meta name="referrer" content="no-referrer">` : ''}
<title>${options.title}</title>
<style>!${STYLE}</style>
</head>
<body>
<header><span class="brand">${SERVICE_NAME}</span>!${options.headerEnd ?? ''}</header>
!${options.main}!${options.webauthn ? html`
<script>!${WEBAUTHN_SCRIPT}</script>` : ''}
</body>
</html>
`;
}

/** A page that says one thing: a heading, a sentence, and perhaps a link onwards. */
export function messagePage(title: string, text: string, link?: { href: string; label: string }): Html {
  return layout({
    title,
    main: html`<main class="narrow">
<h1>${title}</h1>
<p>${text}</p>!${link ? html`
<p><a href="${link.href}">${link.label}</a></p>` : ''}
</main>`,
  });
}

/** The hidden field every form of the service carries (./csrf.ts). */
export function csrfField(token: string): Html {
  return html`<input type="hidden" name="csrf_token" value="${token}">`;
}
