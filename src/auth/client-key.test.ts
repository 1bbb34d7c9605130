import { expect, it } from 'vitest';
import { clientKey } from './client-key.ts';

it('counts an IPv4 address as itself, also when it reaches a dual-stack socket', () => {
  expect(clientKey('203.0.113.7')).toBe('203.0.113.7');
  expect(clientKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
});

it('counts IPv6 addresses by their /64, however they are written', () => {
  const key = '2001:db8:1:2::/64';
  for (const ip of ['2001:db8:1:2::1', '2001:db8:1:2:ffff:eeee:dddd:cccc', '2001:0db8:0001:0002:0000:0000:0000:0001', '2001:DB8:1:2::abcd']) {
    expect(clientKey(ip), ip).toBe(key);
  }
  expect(clientKey('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64');
  expect(clientKey('::1')).toBe('0:0:0:0::/64');
  expect(clientKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  expect(clientKey('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64');
});
