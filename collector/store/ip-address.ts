/**
 * IP addresses as the store keeps them: every address is 16 bytes, IPv4 as its IPv4-mapped IPv6 form
 * (::ffff:a.b.c.d), so one column type holds both families and equal addresses compare equal however
 * they were spelled. Text comes back canonical: dotted quad for IPv4 (and IPv4-mapped), RFC 5952 for
 * IPv6 (lower case, longest run of zero groups compressed), which is also what node prints.
 */
import { isIP } from 'node:net';
import { formatIpv6Groups } from '../../core/net/address.js';

export class InvalidIpAddressError extends Error {
  override name = 'InvalidIpAddressError';
}

/** The 16 bytes of an IPv4 or IPv6 address; throws InvalidIpAddressError for anything else (zone ids too). */
export function ipToBytes(text: string): Uint8Array {
  const family = isIP(text);
  // A zone id (fe80::1%eth0) names an interface of one host: it has no 16-byte form to store.
  if (family === 0 || text.includes('%')) throw new InvalidIpAddressError(`not an IP address: ${JSON.stringify(text)}`);
  const bytes = new Uint8Array(16);
  if (family === 4) {
    bytes[10] = 0xff;
    bytes[11] = 0xff;
    writeDottedQuad(text, bytes, 12);
    return bytes;
  }
  // An embedded dotted quad (::ffff:1.2.3.4, 64:ff9b::1.2.3.4) is the last two groups spelled in decimal.
  let groupsText = text;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const [a, b, c, d] = tail.split('.').map(Number) as [number, number, number, number];
    groupsText = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [headText, tailText] = groupsText.split('::') as [string, string | undefined];
  const head = headText === '' ? [] : headText.split(':');
  const rest = tailText === undefined || tailText === '' ? [] : tailText.split(':');
  const groups = new Array<number>(8).fill(0);
  head.forEach((g, i) => (groups[i] = parseInt(g, 16)));
  rest.forEach((g, i) => (groups[8 - rest.length + i] = parseInt(g, 16)));
  groups.forEach((g, i) => {
    bytes[i * 2] = g >> 8;
    bytes[i * 2 + 1] = g & 0xff;
  });
  return bytes;
}

/**
 * The canonical text of an address given as text (IPv4 as it is, IPv6 compressed and lower case), or
 * undefined when it is not one. node's isIP accepts an IPv6 zone (fe80::1%eth0); a zone names an
 * interface of one host, no stored or shipped address has one, and URL cannot parse it, so it is refused.
 */
export function canonicalIpText(text: string): string | undefined {
  const family = isIP(text);
  if (family === 0 || text.includes('%')) return undefined;
  return family === 4 ? text : new URL(`http://[${text}]/`).hostname.slice(1, -1);
}

function writeDottedQuad(text: string, bytes: Uint8Array, at: number): void {
  text.split('.').forEach((octet, i) => (bytes[at + i] = Number(octet)));
}

function isV4Mapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/** Canonical text of 16 address bytes. */
export function bytesToIp(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new InvalidIpAddressError(`an address has 16 bytes, not ${bytes.length}`);
  if (isV4Mapped(bytes)) return `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  return formatIpv6Groups(groups);
}

/**
 * Parsing costs microseconds and a batch names the same few addresses over and over (a node's pods),
 * so results are remembered; the memo is emptied whenever it grows past a bound.
 */
function memo<T>(compute: (text: string) => T, bound = 8192): (text: string) => T {
  const known = new Map<string, T>();
  return (text) => {
    let value = known.get(text);
    if (value === undefined) {
      value = compute(text); // throws for a non-address: nothing is remembered then
      if (known.size >= bound) known.clear();
      known.set(text, value);
    }
    return value;
  };
}

/** The canonical spelling of an address given in any valid spelling. */
export const canonicalIp: (text: string) => string = memo((text) => bytesToIp(ipToBytes(text)));

/** The address as two unsigned 64-bit halves (for servers without an address type). */
export function ipToHalves(text: string): { readonly hi: bigint; readonly lo: bigint } {
  // IPv4 (most rows) without the 16-byte detour: hi is 0, lo is ::ffff:a.b.c.d.
  if (isIP(text) === 4) return { hi: 0n, lo: 0xffff_0000_0000n + BigInt(ipv4ToNumber(text)) };
  return ipv6Halves(text);
}

const ipv6Halves = memo((text: string): { readonly hi: bigint; readonly lo: bigint } => {
  const bytes = ipToBytes(text);
  const view = new DataView(bytes.buffer);
  return { hi: view.getBigUint64(0), lo: view.getBigUint64(8) };
});

export function halvesToIp(hi: bigint, lo: bigint): string {
  if (hi === 0n && lo >> 32n === 0xffffn) {
    const v4 = Number(lo & 0xffff_ffffn);
    return `${v4 >>> 24}.${(v4 >> 16) & 255}.${(v4 >> 8) & 255}.${v4 & 255}`;
  }
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, hi);
  view.setBigUint64(8, lo);
  return bytesToIp(bytes);
}

function ipv4ToNumber(text: string): number {
  const [a, b, c, d] = text.split('.').map(Number) as [number, number, number, number];
  return ((a << 24) >>> 0) + (b << 16) + (c << 8) + d;
}

/** The IPv6 text ClickHouse's IPv6 type parses on every version: IPv4 in its mapped form. */
export function ipv6Text(text: string): string {
  // node's isIP refuses leading zeros, so an IPv4 address it accepts is already canonical.
  if (isIP(text) === 4) return `::ffff:${text}`;
  const canonical = canonicalIp(text);
  return canonical.includes(':') ? canonical : `::ffff:${canonical}`;
}
