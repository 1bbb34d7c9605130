import { describe, expect, it } from 'vitest';
import { composeMail, linksIn, textToHtml } from './compose.ts';

describe('composeMail', () => {
  it('names the service in the subject and signature, and makes an HTML part from the text', () => {
    const mail = composeMail({ name: 'Example <Hub>', url: 'https://hub.example' }, { subject: 'Hi', text: 'Hello <b>jane</b>,\n\nOpen this:\nhttps://hub.example/x?token=a_b-c&d=1.\n\nBye' });
    expect(mail.subject).toBe('Example <Hub>: Hi');
    expect(mail.text).toBe('Hello <b>jane</b>,\n\nOpen this:\nhttps://hub.example/x?token=a_b-c&d=1.\n\nBye\n\n-- \nExample <Hub>\nhttps://hub.example\n');
    expect(mail.html).toContain('<p>Hello &#60;b&#62;jane&#60;/b&#62;,</p>');
    expect(mail.html).toContain('<p>Open this:<br>\n<a href="https://hub.example/x?token&#61;a_b-c&#38;d&#61;1">https://hub.example/x?token&#61;a_b-c&#38;d&#61;1</a>.</p>');
    expect(mail.html).toContain('Example &#60;Hub&#62;');
    expect(mail.html).not.toContain('<b>');
  });

  it('keeps HTML the caller made, inside the layout', () => {
    const mail = composeMail({ name: 'Accounts', url: 'http://localhost:8080' }, { subject: 'S', text: 't', html: '<p><strong>made</strong></p>' });
    expect(mail.html).toContain('<p><strong>made</strong></p>');
  });

  it('finds links, without the punctuation that ends a sentence', () => {
    expect(linksIn('see https://a.example/p?x=1. and (http://b.example/q), done')).toEqual(['https://a.example/p?x=1', 'http://b.example/q']);
    expect(textToHtml('')).toBe('');
  });
});
