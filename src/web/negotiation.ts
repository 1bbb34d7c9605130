// Whether a request is a browser's asking for a page: its Accept header prefers HTML to JSON.
// Browsers send text/html first (Chromium, Firefox, Safari alike); API clients send JSON, */* or
// nothing, and keep getting JSON. A tie goes to JSON.

function qualityOf(params: string[]): number {
  for (const param of params) {
    const [name, value] = param.split('=').map((s) => s.trim());
    if (name === 'q') {
      const q = Number(value);
      return Number.isFinite(q) && q >= 0 && q <= 1 ? q : 0;
    }
  }
  return 1;
}

export function prefersHtml(accept: string | string[] | undefined): boolean {
  if (typeof accept !== 'string') return false;
  let html = 0;
  let json = 0;
  for (const range of accept.toLowerCase().split(',')) {
    const [type, ...params] = range.split(';').map((s) => s.trim());
    const q = qualityOf(params);
    if (type === 'text/html' || type === 'application/xhtml+xml') html = Math.max(html, q);
    else if (type === 'application/json' || type === 'application/problem+json') json = Math.max(json, q);
  }
  return html > json;
}
