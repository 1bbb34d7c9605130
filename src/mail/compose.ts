// What a mail looks like when it leaves: a text part and an HTML part, both naming the service
// (SERVICE_NAME) in the subject and the signature, so that people recognise it among their mail
// and do not take it for phishing. Callers write plain text; the HTML is made from it here when
// they give none: one paragraph per block of lines, each line kept, each link made clickable.
// Everything a caller wrote is escaped (ghtml), so an address or a name cannot become markup.
import { html, type Html } from '../web/html.ts';

export type MailContent = {
  subject: string;
  /** The body as plain text, without signature; blank lines separate paragraphs. */
  text: string;
  /** The body as HTML (the inside of the layout); made from `text` when absent. */
  html?: Html | undefined;
};

export type ComposedMail = { subject: string; text: string; html: Html };

// A link ends at white space or a quote; punctuation that ends a sentence is not part of it.
const LINK = /\bhttps?:\/\/[^\s<>"]*[^\s<>".,;:!?)]/g;

/** Every http(s) link in a text, in order (the development log shows them). */
export function linksIn(text: string): string[] {
  return [...text.matchAll(LINK)].map((m) => m[0]);
}

/** One line of text as HTML: escaped, its links made clickable. */
function lineToHtml(line: string): Html {
  const parts: Html[] = [];
  let last = 0;
  for (const match of line.matchAll(LINK)) {
    parts.push(html`${line.slice(last, match.index)}`);
    parts.push(html`<a href="${match[0]}">${match[0]}</a>`);
    last = match.index + match[0].length;
  }
  parts.push(html`${line.slice(last)}`);
  return parts.join('');
}

/** Plain text as HTML paragraphs: blank lines separate them, line breaks are kept. */
export function textToHtml(text: string): Html {
  const paragraphs = text
    .replace(/\r\n/g, '\n')
    .split(/\n\s*\n/)
    .map((block) => block.trim())
    .filter((block) => block !== '');
  return paragraphs.map((block) => html`<p>!${block.split('\n').map(lineToHtml).join('<br>\n')}</p>`).join('\n');
}

/** The mail as sent: subject and signature naming the service, text and HTML parts. */
export function composeMail(service: { name: string; url: string }, content: MailContent): ComposedMail {
  const body = content.text.replace(/\s+$/, '');
  const inner = content.html ?? textToHtml(body);
  return {
    subject: `${service.name}: ${content.subject}`,
    // "-- " is the usual signature separator: mail programs grey out or fold what follows.
    text: `${body}\n\n-- \n${service.name}\n${service.url}\n`,
    html: html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${content.subject}</title>
</head>
<body style="margin:0;padding:0;background:#f4f5f7;">
<div style="max-width:36em;margin:0 auto;padding:24px 16px;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;font-size:16px;line-height:1.5;color:#1f2328;">
<p style="font-weight:600;font-size:18px;margin:0 0 16px;">${service.name}</p>
<div style="background:#ffffff;border:1px solid #d8dee4;border-radius:6px;padding:16px 20px;">
!${inner}
</div>
<p style="color:#59636e;font-size:13px;margin:16px 0 0;">${service.name} · <a href="${service.url}" style="color:#59636e;">${service.url}</a></p>
</div>
</body>
</html>
`,
  };
}
