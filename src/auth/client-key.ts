// What per-client limits count on. An IPv4 address is one client; an IPv6 client normally has a
// whole /64 to itself (RFC 6177, RFC 8981 temporary addresses), and could take a fresh address
// from it for every request, so IPv6 addresses are counted by their /64 prefix.
import { isIPv6 } from 'node:net';

export function clientKey(ip: string): string {
  if (!ip.includes(':')) return ip; // IPv4 (the common case): no parsing
  const address = ip.split('%')[0]!; // a zone index (fe80::1%eth0) is not part of the address
  if (!isIPv6(address)) return ip;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1]!; // an IPv4 client on a dual-stack socket
  return `${expand(address).slice(0, 4).join(':')}::/64`;
}

/** The eight groups of an IPv6 address, without leading zeros. */
function expand(address: string): string[] {
  let text = address;
  const dotted = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.map((group) => parseInt(group, 16).toString(16));
}
