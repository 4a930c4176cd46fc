/**
 * IP addresses as the decoder keeps them (four 32-bit words, IPv4 in word 0): numeric keys for maps
 * on the hot path, text only at the edges (reports, wire, storage).
 */
import { isIPv4, isIPv6 } from 'node:net';

/** A map key for an address: exact for IPv4, a 53-bit hash for IPv6 (collisions are negligible). */
export function addressKey(version: number, words: Uint32Array, base = 0): number {
  if (version === 4) return words[base] as number;
  let h = 0x811c9dc5;
  let l = 0x01000193;
  for (let i = 0; i < 4; i++) {
    const w = words[base + i] as number;
    h = Math.imul(h ^ w, 0x01000193);
    l = Math.imul(l ^ (w >>> 7), 0x5bd1e995) ^ (l >>> 15);
  }
  // 20 + 32 bits, offset by 2^32 so IPv6 keys never equal IPv4 ones (which are below 2^32).
  return (((h >>> 0) & 0xfffff) + 1) * 4294967296 + (l >>> 0);
}

export function formatIpv4(word: number): string {
  return `${word >>> 24}.${(word >>> 16) & 255}.${(word >>> 8) & 255}.${word & 255}`;
}

export function formatIpv6(words: Uint32Array, base = 0): string {
  const groups: number[] = [];
  for (let i = 0; i < 4; i++) {
    const w = words[base + i] as number;
    groups.push(w >>> 16, w & 0xffff);
  }
  return formatIpv6Groups(groups);
}

/** RFC 5952 text of eight 16-bit groups: lower case, the longest run (2 or more, first on a tie) of zero groups compressed. */
export function formatIpv6Groups(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function formatAddress(version: number, words: Uint32Array, base = 0): string {
  if (version === 4) return formatIpv4(words[base] as number);
  if (version === 6) return formatIpv6(words, base);
  return '';
}

/** Parses dotted IPv4 or IPv6 text into words; returns the version or 0 when it is not an address. */
export function parseAddress(text: string, out: Uint32Array): number {
  if (isIPv4(text)) {
    const p = text.split('.').map(Number);
    out.fill(0);
    out[0] = (((p[0] as number) << 24) | ((p[1] as number) << 16) | ((p[2] as number) << 8) | (p[3] as number)) >>> 0;
    return 4;
  }
  if (isIPv6(text)) {
    let t = text;
    const zone = t.indexOf('%');
    if (zone >= 0) t = t.slice(0, zone);
    // Embedded IPv4 tail (::ffff:1.2.3.4).
    const lastColon = t.lastIndexOf(':');
    const tail = t.slice(lastColon + 1);
    if (tail.includes('.')) {
      const p = tail.split('.').map(Number);
      t = `${t.slice(0, lastColon + 1)}${(((p[0] as number) << 8) | (p[1] as number)).toString(16)}:${(((p[2] as number) << 8) | (p[3] as number)).toString(16)}`;
    }
    const [head, rest] = t.includes('::') ? t.split('::') : [t, undefined];
    const h = head ? head.split(':') : [];
    const r = rest !== undefined && rest !== '' ? rest.split(':') : [];
    const fill = rest !== undefined ? 8 - h.length - r.length : 0;
    const groups = [...h, ...Array<string>(fill).fill('0'), ...r].map((g) => parseInt(g, 16));
    for (let i = 0; i < 4; i++) out[i] = (((groups[i * 2] as number) << 16) | (groups[i * 2 + 1] as number)) >>> 0;
    return 6;
  }
  return 0;
}

/**
 * Addresses whose packets are never drop events: multicast, broadcast, link-local, unspecified
 * (CONTRACT.md). Loopback too: it never crosses a node's interfaces legitimately.
 */
export function isNonUnicastOrLinkLocal(version: number, words: Uint32Array, base = 0): boolean {
  const w = words[base] as number;
  if (version === 4) {
    const a = w >>> 24;
    if (a >= 224) return true; // multicast 224/4, reserved 240/4, broadcast
    if (a === 0 || a === 127) return true;
    if (w >>> 16 === 0xa9fe) return true; // 169.254/16
    return false;
  }
  if (version === 6) {
    if (w >>> 24 === 0xff) return true; // ff00::/8
    if (w >>> 22 === 0x3fa) return true; // fe80::/10
    if ((words[base] as number) === 0 && (words[base + 1] as number) === 0 && (words[base + 2] as number) === 0) {
      const last = words[base + 3] as number;
      if (last === 0 || last === 1) return true; // :: and ::1
    }
    return false;
  }
  return true;
}

export function ipProtoName(proto: number): string {
  switch (proto) {
    case 1:
      return 'icmp';
    case 6:
      return 'tcp';
    case 17:
      return 'udp';
    case 58:
      return 'icmpv6';
    default:
      return String(proto);
  }
}
