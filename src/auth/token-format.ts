// Personal access tokens: "dapat_" + 32 random base62 characters (190 bits) + a 6-character
// base62 CRC-32 of everything before it. The registry's refresh tokens (src/registry) have the
// same shape with "dareg_". The prefix lets secret scanners find leaked tokens; the
// checksum lets us refuse a mistyped or made-up token without a database lookup. Only the
// SHA-256 digest of the whole token is ever stored.
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const TOKEN_PREFIX = 'dapat_';
export const REGISTRY_REFRESH_PREFIX = 'dareg_';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const RANDOM_LENGTH = 32;
const CHECKSUM_LENGTH = 6;
const shapeOf = (prefix: string) => new RegExp(`^${prefix}[0-9A-Za-z]{${RANDOM_LENGTH + CHECKSUM_LENGTH}}$`);
const SHAPES = new Map([TOKEN_PREFIX, REGISTRY_REFRESH_PREFIX].map((prefix) => [prefix, shapeOf(prefix)]));

/** Uniform random base62: bytes of 248 or more are dropped (248 = 4 × 62) to avoid modulo bias. */
function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += BASE62[byte % 62];
    }
  }
  return out;
}

function checksum(body: string): string {
  let n = crc32(body);
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

export function generateToken(prefix = TOKEN_PREFIX): string {
  const body = prefix + randomBase62(RANDOM_LENGTH);
  return body + checksum(body);
}

/** True when the string has a token's shape and a correct checksum. Costs no I/O. */
export function isWellFormedToken(candidate: string, prefix = TOKEN_PREFIX): boolean {
  if (!SHAPES.get(prefix)!.test(candidate)) return false;
  const body = candidate.slice(0, -CHECKSUM_LENGTH);
  return checksum(body) === candidate.slice(-CHECKSUM_LENGTH);
}

/** What `token list` shows: enough to recognise a token, far too little to use it. */
export function tokenHint(token: string): string {
  return token.slice(0, TOKEN_PREFIX.length + 4); // both prefixes are six characters
}
