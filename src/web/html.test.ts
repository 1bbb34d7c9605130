import { describe, expect, it } from 'vitest';
import { html } from './html.ts';
import { layout, messagePage } from './layout.ts';
import { STYLE, STYLE_SOURCE } from './style.ts';
import { createHash } from 'node:crypto';

const SCRIPT = '<script>alert("x")</script>';

describe('templates escape by default', () => {
  it('escapes every interpolation, in text and in attributes', () => {
    expect(html`<p title="${SCRIPT}">${SCRIPT}</p>`).toBe('<p title="&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;">&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;</p>');
    expect(html`<input value="${`" onfocus="alert(1)`}">`).not.toContain('" onfocus');
  });

  it('inserts markup made by html itself with !${…}, and arrays of it', () => {
    const items = ['a<b', 'c'].map((s) => html`<li>${s}</li>`);
    expect(html`<ul>!${items}</ul>`).toBe('<ul><li>a&#60;b</li><li>c</li></ul>');
  });

  it('the layout escapes the title and the message page its text and link', () => {
    const page = messagePage(SCRIPT, SCRIPT, { href: 'javascript:"><script>', label: SCRIPT });
    expect(page).not.toContain('<script>');
    expect(page).toContain('<title>&#60;script&#62;');
    expect(layout({ title: 't', main: html`<main></main>` })).toMatch(/^<!doctype html>\n<html lang="en">/);
  });

  it('names the one style sheet by its hash', () => {
    expect(layout({ title: 't', main: '' })).toContain(`<style>${STYLE}</style>`);
    expect(STYLE_SOURCE).toBe(`'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`);
  });
});
