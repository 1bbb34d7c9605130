// Email address rules (docs/reference/api.md, "Email addresses"). One '@'; a dot-atom
// local part (RFC 5322 §3.2.3, plus UTF-8 per RFC 6531) of at most 64 octets; a domain of
// dot-separated labels; at most 254 octets in all (RFC 5321 §4.5.3.1). Quoted local parts and
// address literals are not accepted.
import { domainToASCII } from 'node:url';

export type ParsedEmail = {
  /** What we store and show: the local part as typed, the domain in its ASCII (punycode) form. */
  display: string;
  /** The uniqueness key: NFC-normalised, lower-cased local part @ lower-cased ASCII domain. */
  key: string;
};

const ATEXT = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\u{10FFFF}-]+$/u;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
// eslint-disable-next-line no-control-regex -- the point is to find control characters
const CONTROL_OR_SPACE = /[\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200f\u2028-\u202f\u205f\u3000\ufeff]/u;

/** Returns the parsed address, or a message saying what is wrong with it. */
export function parseEmail(input: string): ParsedEmail | { error: string } {
  const invalid = { error: 'Enter a valid email address.' };
  if (!input.isWellFormed() || CONTROL_OR_SPACE.test(input)) return invalid;
  const at = input.indexOf('@');
  if (at <= 0 || at !== input.lastIndexOf('@')) return invalid;
  const local = input.slice(0, at);
  const domainTyped = input.slice(at + 1);
  if (Buffer.byteLength(local) > 64) return { error: 'The part before the @ may be at most 64 characters.' };
  if (!local.split('.').every((atom) => ATEXT.test(atom))) return invalid;

  if (domainTyped === '' || domainTyped.endsWith('.')) return invalid;
  const domain = domainToASCII(domainTyped);
  if (domain === '') return invalid;
  const labels = domain.split('.');
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l))) return invalid;
  if (/^\d+$/.test(labels[labels.length - 1]!)) return invalid; // an IP address is not a domain

  const display = `${local}@${domain}`;
  if (Buffer.byteLength(display) > 254) return { error: 'Email addresses may be at most 254 characters.' };
  return { display, key: `${local.normalize('NFC').toLowerCase()}@${domain}` };
}
