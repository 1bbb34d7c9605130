// Time-based one-time passwords (RFC 6238, on HOTP, RFC 4226) as every authenticator app reads
// them: SHA-1, 6 digits, 30-second steps, a 160-bit secret (RFC 4226 §4 recommends 160 bits).
// The `otpauth` library computes the codes; the rules around them (one step of drift either way,
// each step accepted once, wrong codes counted) are the service's (./two-factor.service.ts).
import { Secret, TOTP } from 'otpauth';

const PERIOD_SECONDS = 30;
const DIGITS = 6;
/** RFC 6238 §5.2: allow for clock drift and transmission delay — one step either way. */
const DRIFT_STEPS = 1;

export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

function totp(secret: string, account: string, issuer: string): TOTP {
  return new TOTP({ issuer, label: account, secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: DIGITS, period: PERIOD_SECONDS });
}

/** The otpauth:// URI an authenticator app scans (the QR code) or is given by hand. */
export function totpUri(secret: string, account: string, issuer: string): string {
  return totp(secret, account, issuer).toString();
}

/** Six digits, as a person types them: spaces are allowed between digits ("123 456"). */
export function normalizeTotpCode(input: string): string | undefined {
  const code = input.replace(/\s+/g, '');
  return /^\d{6}$/.test(code) ? code : undefined;
}

/** The time step whose code `code` is (within the drift allowed), or undefined. */
export function stepOfCode(secret: string, code: string, nowMs: number): number | undefined {
  const generator = totp(secret, '', '');
  const delta = generator.validate({ token: code, timestamp: nowMs, window: DRIFT_STEPS });
  if (delta === null) return undefined;
  return generator.counter({ timestamp: nowMs }) + delta;
}
