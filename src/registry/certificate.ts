// The registry token signer's certificate. Distribution's registry (2.8) trusts a token by the
// certificate in its JWT header (`x5c`), which must chain to a certificate of its
// `rootcertbundle`: so the signing key comes with a self-signed X.509 certificate (RFC 5280),
// written here in DER by hand — a few fixed structures, no library — and signed with the key.
// Version 1 (no extensions): the certificate is both the leaf and the root the registry trusts.
import { createPublicKey, createSign, type KeyObject } from 'node:crypto';

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, content: Buffer) => Buffer.concat([Buffer.from([tag]), length(content.length), content]);
const sequence = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items));

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const bytes = [a! * 40 + b!];
  for (const part of rest) {
    const groups: number[] = [];
    for (let v = part; ; v = Math.floor(v / 128)) {
      groups.unshift(v % 128);
      if (v < 128) break;
    }
    bytes.push(...groups.map((g, i) => (i < groups.length - 1 ? g | 0x80 : g)));
  }
  return tlv(0x06, Buffer.from(bytes));
}

function integer(bytes: Buffer): Buffer {
  // Positive: a leading zero when the high bit is set.
  return tlv(0x02, bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

/** GeneralizedTime, YYYYMMDDHHMMSSZ (RFC 5280 §4.1.2.5.2); fine for any year. */
function time(date: Date): Buffer {
  const text = date.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  return tlv(0x18, Buffer.from(text, 'ascii'));
}

const ECDSA_WITH_SHA256 = sequence(oid('1.2.840.10045.4.3.2'));
const COMMON_NAME = '2.5.4.3';

/** A self-signed certificate for `key` (an EC P-256 private key), valid from `notBefore` to `notAfter`, as DER. */
export function selfSignedCertificate(key: KeyObject, options: { commonName: string; serial: Buffer; notBefore: Date; notAfter: Date }): Buffer {
  const name = sequence(set(sequence(oid(COMMON_NAME), tlv(0x0c, Buffer.from(options.commonName, 'utf8')))));
  // The SubjectPublicKeyInfo, exactly as Node writes it.
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const tbs = sequence(integer(options.serial), ECDSA_WITH_SHA256, name, sequence(time(options.notBefore), time(options.notAfter)), name, spki);
  const signature = createSign('sha256').update(tbs).sign(key); // DER-encoded ECDSA signature
  return sequence(tbs, ECDSA_WITH_SHA256, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
}
