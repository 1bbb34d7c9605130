import { describe, expect, it } from 'vitest';
import { parseEmail } from './email-address.ts';

describe('parseEmail', () => {
  it('keeps the local part as typed and lower-cases the domain', () => {
    expect(parseEmail('Jane.Doe+tag@Example.COM')).toEqual({ display: 'Jane.Doe+tag@example.com', key: 'jane.doe+tag@example.com' });
  });

  it('stores internationalised domains in ASCII form and compares by it', () => {
    const a = parseEmail('x@Bücher.example');
    const b = parseEmail('X@xn--bcher-kva.example');
    expect(a).toEqual({ display: 'x@xn--bcher-kva.example', key: 'x@xn--bcher-kva.example' });
    expect('key' in b && b.key).toBe('x@xn--bcher-kva.example');
  });

  it('accepts UTF-8 local parts and compares them NFC-normalised and case-folded', () => {
    const composed = parseEmail('Jos\u00e9@example.com');
    const decomposed = parseEmail('JOSE\u0301@example.com');
    expect('key' in composed && 'key' in decomposed && composed.key === decomposed.key).toBe(true);
  });

  it('enforces 64 octets before the @ and 254 in all', () => {
    expect('key' in parseEmail(`${'a'.repeat(64)}@example.com`)).toBe(true);
    expect(parseEmail(`${'a'.repeat(65)}@example.com`)).toEqual({ error: 'The part before the @ may be at most 64 characters.' });
    expect(parseEmail(`${'é'.repeat(33)}@example.com`)).toHaveProperty('error'); // 66 octets
    const domain = `${'d'.repeat(63)}.${'e'.repeat(63)}.${'f'.repeat(63)}.${'g'.repeat(50)}.com`; // 246 octets
    expect(parseEmail(`abcdefghij@${domain}`)).toEqual({ error: 'Email addresses may be at most 254 characters.' });
  });

  it.each([
    'plain', '@example.com', 'a@', 'a@@b.com', 'a@b@c.com', 'a b@c.com', ' a@b.com', 'a@b.com ', 'a\t@b.com', 'a@b\u0000.com', 'a@localhost', 'a@.com',
    'a@b..com', 'a@-b.com', 'a@b-.com', 'a@b.com.', '.a@b.com', 'a.@b.com', 'a..b@c.com', 'a@1.2.3.4', 'a@[127.0.0.1]', '"a"@b.com', 'a(b)@c.com',
    'a@b_c.com', '\ud800@b.com', 'a@b.c\u200bom', `a@${'x'.repeat(64)}.com`,
  ])('refuses %j', (input) => {
    expect(parseEmail(input)).toHaveProperty('error');
  });
});
