import { describe, expect, it } from 'vitest';
import { prefersHtml } from './negotiation.ts';

describe('prefersHtml', () => {
  it('is true for what browsers send', () => {
    // Chromium and Firefox, and Safari.
    expect(prefersHtml('text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7')).toBe(true);
    expect(prefersHtml('text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8')).toBe(true);
  });

  it('is false for API clients: JSON, anything, nothing, or a tie', () => {
    for (const accept of [undefined, '', '*/*', 'application/json', 'application/json, text/plain, */*', 'text/html;q=0.5, application/json', 'application/json, text/html', 'text/html;q=0'])
      expect(prefersHtml(accept), String(accept)).toBe(false);
    expect(prefersHtml(['text/html'])).toBe(false); // not a single header
  });

  it('weighs the q values', () => {
    expect(prefersHtml('application/json;q=0.5, text/html')).toBe(true);
    expect(prefersHtml('TEXT/HTML ; Q=0.9, application/json;q=0.8')).toBe(true);
  });
});
