// Recovery codes: ten single-use codes shown once, for someone who lost their authenticator app
// and passkeys. Ten characters from 31 letters and digits without look-alikes (49 bits each, and
// every guess counts toward the account's brute-force limit), written "abcde-fghij". Only the
// SHA-256 digest of the normalised code is stored: a fast hash is enough for 49 random bits.
import { randomInt } from 'node:crypto';
import { sha256Hex } from '../kernel/crypto.ts';

export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789'; // no i, l, o, 0, 1
const LENGTH = 10;

export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const chars = Array.from({ length: LENGTH }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
    return `${chars.slice(0, 5)}-${chars.slice(5)}`;
  });
}

/** The code as stored, whatever case, spaces or hyphens were typed; undefined when it cannot be one. */
export function normalizeRecoveryCode(input: string): string | undefined {
  const code = input.toLowerCase().replace(/[\s-]+/g, '');
  return code.length === LENGTH && [...code].every((c) => ALPHABET.includes(c)) ? code : undefined;
}

export function recoveryCodeDigest(normalized: string): string {
  return sha256Hex(`recovery-code:${normalized}`);
}
