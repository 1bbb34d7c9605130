// The one style sheet of every page (account, sign-in, consent, sign-out, verification, errors).
// It is inline, and the pages' Content-Security-Policy allows it by its hash and allows nothing
// else: no other style, no script, no image, no font.
import { createHash } from 'node:crypto';

export const STYLE = `
:root { color-scheme: light dark; --accent: #1d63ed; --danger: #c62828; --line: color-mix(in srgb, CanvasText 18%, transparent); --muted: color-mix(in srgb, CanvasText 65%, Canvas); }
* { box-sizing: border-box; }
body { margin: 0; font: 1rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: Canvas; color: CanvasText; }
header { display: flex; flex-wrap: wrap; gap: 0.5rem 1rem; align-items: center; justify-content: space-between; padding: 0.75rem 1.25rem; border-bottom: 1px solid var(--line); }
header .brand { font-weight: 700; }
header form { display: inline; margin: 0; }
main { max-width: 48rem; margin: 0 auto; padding: 1.25rem; }
main.narrow { max-width: 26rem; margin-top: 8vh; }
h1 { font-size: 1.6rem; margin: 0 0 1rem; }
h2 { font-size: 1.15rem; margin: 0 0 0.75rem; }
section { border: 1px solid var(--line); border-radius: 0.75rem; padding: 1.25rem; margin: 0 0 1.25rem; }
label { display: block; font-weight: 600; margin: 0.75rem 0 0.25rem; }
fieldset { border: 0; padding: 0; margin: 0.75rem 0 0; }
legend { font-weight: 600; padding: 0; }
fieldset label { display: inline-flex; gap: 0.35rem; align-items: center; font-weight: 400; margin: 0.25rem 1rem 0 0; }
input[type=text], input[type=email], input[type=url], input[type=password], select { font: inherit; width: 100%; padding: 0.5rem 0.65rem; border: 1px solid var(--line); border-radius: 0.5rem; background: Field; color: FieldText; }
input[aria-invalid=true] { border-color: var(--danger); }
input:focus-visible, select:focus-visible, button:focus-visible, a:focus-visible { outline: 3px solid color-mix(in srgb, var(--accent) 55%, CanvasText); outline-offset: 2px; }
button { font: inherit; font-weight: 600; padding: 0.5rem 1.1rem; border: 0; border-radius: 0.5rem; background: var(--accent); color: #fff; cursor: pointer; margin-top: 1rem; }
button.secondary { background: transparent; color: inherit; border: 1px solid var(--line); margin: 0; padding: 0.3rem 0.8rem; font-weight: 500; }
button.danger { background: transparent; color: var(--danger); border: 1px solid currentColor; margin: 0; padding: 0.3rem 0.8rem; font-weight: 500; }
.error { color: var(--danger); margin: 0.25rem 0 0; font-size: 0.95rem; }
.notice { border: 1px solid color-mix(in srgb, #2e7d32 60%, transparent); background: color-mix(in srgb, #2e7d32 12%, Canvas); border-radius: 0.5rem; padding: 0.6rem 0.9rem; margin: 0 0 1.25rem; }
.alert { border: 1px solid var(--danger); border-radius: 0.5rem; padding: 0.6rem 0.9rem; margin: 0 0 1rem; }
.muted { color: var(--muted); font-size: 0.92rem; }
ul.rows { list-style: none; margin: 0; padding: 0; }
ul.rows > li { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: center; justify-content: space-between; padding: 0.6rem 0; border-bottom: 1px solid var(--line); }
ul.rows > li:last-child { border-bottom: 0; }
.actions { display: flex; flex-wrap: wrap; gap: 0.4rem; }
.actions form { margin: 0; }
form.decision { margin-top: 1.25rem; }
form.decision button { margin: 0; padding: 0.5rem 1.4rem; font-weight: 600; border: 1px solid transparent; }
form.decision button.secondary { border-color: var(--line); }
.badge { display: inline-block; font-size: 0.8rem; padding: 0 0.45rem; border-radius: 1rem; border: 1px solid var(--line); margin-left: 0.35rem; }
.address, code { overflow-wrap: anywhere; }
strong.address { font-weight: 600; }
code.token { display: block; font-size: 1.05rem; padding: 0.75rem; border-radius: 0.5rem; border: 1px dashed var(--accent); user-select: all; }
.inline { display: flex; gap: 0.5rem; align-items: flex-end; flex-wrap: wrap; }
.inline > div { flex: 1 1 16rem; }
.inline button { margin-top: 0; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(14rem, 1fr)); gap: 0 1rem; }
ul.links { list-style: none; margin: 1.25rem 0 0; padding: 0; display: flex; flex-wrap: wrap; gap: 0.5rem 1.25rem; }
ul.links a { color: var(--accent); font-weight: 600; }
[hidden] { display: none !important; }
.qr svg { display: block; width: 13rem; height: 13rem; background: #fff; border-radius: 0.5rem; }
ol.codes { font: 1.05rem/1.8 ui-monospace, monospace; columns: 2; padding-left: 1.5rem; user-select: all; }
details summary { cursor: pointer; margin-top: 1rem; }
button.passkey { background: transparent; color: var(--accent); border: 1px solid currentColor; }
@media (max-width: 32rem) { main { padding: 0.75rem; } section { padding: 1rem; } }
`;

/** The style sheet as a CSP source expression. */
export const STYLE_SOURCE = `'sha256-${createHash('sha256').update(STYLE, 'utf8').digest('base64')}'`;
