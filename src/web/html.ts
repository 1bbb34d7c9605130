// The one way this service writes HTML: ghtml's `html` tagged template. Every `${value}` is
// escaped (& < > " ' =), so text that comes from users, clients, the database or the URL cannot
// turn into markup, in an element or in an attribute. `!${…}` inserts without escaping: it is
// for what another `html` call made (or an array of them), never for a value from outside.
//
// Why ghtml: @kitajs/html escapes as well but is written as JSX, and this project runs its
// TypeScript with Node's type stripping, which has no JSX transform (no build step, no .tsx).
// A tagged template is plain TypeScript.
//
// ghtml reads the template's raw text: write real line breaks in templates, not "\n".
export { html } from 'ghtml';

/** What an `html` call returned: markup that may be inserted with `!${…}`. */
export type Html = string;
