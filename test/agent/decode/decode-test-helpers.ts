/**
 * Shared helpers for the decoder tests: byte concatenation, address words, a full snapshot of the
 * engine's view of a packet, and small packet builders (used by the property and allocation tests;
 * the byte-level tests spell every header out by hand instead).
 */
import type { DecodedView } from '../../support/engine-decoder.js';

export type Bytes = readonly number[] | Uint8Array;

/** Concatenates header fragments into one packet buffer. */
export function bytes(...parts: Bytes[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** "10.0.0.1" -> 0x0a000001 (the view's word 0 for IPv4). */
export function v4(addr: string): number {
  const parts = addr.split('.').map(Number);
  if (parts.length !== 4 || parts.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new Error(`bad IPv4 ${addr}`);
  return (((parts[0] as number) << 24) | ((parts[1] as number) << 16) | ((parts[2] as number) << 8) | (parts[3] as number)) >>> 0;
}

/** The four words the view holds for an IPv4 address. */
export function v4words(addr: string): number[] {
  return [v4(addr), 0, 0, 0];
}

/** Parses an IPv6 address (with :: compression, no embedded IPv4) into 16 bytes. */
export function v6bytes(addr: string): number[] {
  const [head, tail] = addr.includes('::') ? (addr.split('::') as [string, string]) : [addr, undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? 0 : 8 - h.length - t.length;
  const groups = [...h, ...Array<string>(fill).fill('0'), ...t];
  if (groups.length !== 8) throw new Error(`bad IPv6 ${addr}`);
  const out: number[] = [];
  for (const g of groups) {
    const n = parseInt(g, 16);
    if (!(n >= 0 && n <= 0xffff) || !/^[0-9a-fA-F]{1,4}$/.test(g)) throw new Error(`bad IPv6 ${addr}`);
    out.push(n >> 8, n & 0xff);
  }
  return out;
}

/** The four words the view holds for an IPv6 address. */
export function v6words(addr: string): number[] {
  const b = v6bytes(addr);
  const w: number[] = [];
  for (let i = 0; i < 16; i += 4) w.push((((b[i] as number) << 24) | ((b[i + 1] as number) << 16) | ((b[i + 2] as number) << 8) | (b[i + 3] as number)) >>> 0);
  return w;
}

/** Renders view words back to text: dotted quad for version 4, full hex groups for 6. */
export function wordsToString(words: ArrayLike<number>, version: number, base = 0): string {
  if (version === 4) {
    const w = words[base] as number;
    return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
  }
  const groups: string[] = [];
  for (let i = 0; i < 4; i++) {
    const w = words[base + i] as number;
    groups.push(((w >>> 16) & 0xffff).toString(16), (w & 0xffff).toString(16));
  }
  return groups.join(':');
}

/** Canonical IPv6 text (expanded, lower case, no leading zeros) so tcpdump's form can be compared. */
export function canonicalV6(addr: string): string {
  const b = v6bytes(addr);
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((b[i] as number) << 8) | (b[i + 1] as number)).toString(16));
  return groups.join(':');
}

const U8 = (a: ArrayLike<number>, n = a.length): number[] => Array.from({ length: n }, (_, i) => a[i] as number);

/**
 * Every field of the view, as plain data. Array parts that the view documents as meaningful only
 * under a count or flag (encapsulation layers beyond encapDepth, quoted addresses when quotedValid
 * is 0) are cut to that count: the decoder does not clear them per packet, and no reader may look
 * at them.
 */
export function snapshotView(v: DecodedView): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val === 'number') out[k] = val;
  }
  const depth = Math.min(v.encapDepth, v.encapKind.length);
  out.encapKind = U8(v.encapKind, depth);
  out.encapOuterVersion = U8(v.encapOuterVersion, depth);
  out.encapOuterSrc = U8(v.encapOuterSrc, depth * 4);
  out.encapOuterDst = U8(v.encapOuterDst, depth * 4);
  out.encapVni = U8(v.encapVni, depth);
  out.src = U8(v.src);
  out.dst = U8(v.dst);
  out.quotedSrc = v.quotedValid !== 0 ? U8(v.quotedSrc) : [];
  out.quotedDst = v.quotedValid !== 0 ? U8(v.quotedDst) : [];
  return out;
}

/** Names of the view's fields that hold buffer offsets (shift with the packet's position). */
export const OFFSET_FIELDS = ['macSrcOffset', 'macDstOffset', 'ipOffset', 'l4Offset', 'payloadOffset', 'payloadEnd'] as const;

// ---------------------------------------------------------------------------------------------
// Builders: checksums are left 0 (the decoder does not verify them); lengths are computed.
// ---------------------------------------------------------------------------------------------

export const MAC_A = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
export const MAC_B = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];

export function be16(n: number): number[] {
  return [(n >>> 8) & 0xff, n & 0xff];
}

export function be32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

export function ethernet(etherType: number, payload: Bytes, dst: Bytes = MAC_B, src: Bytes = MAC_A): Uint8Array {
  return bytes(dst, src, be16(etherType), payload);
}

export function vlanTag(vid: number, innerType: number, pcp = 0): number[] {
  return [...be16((pcp << 13) | (vid & 0x0fff)), ...be16(innerType)];
}

export interface Ipv4Options {
  src: string;
  dst: string;
  proto: number;
  id?: number;
  ttl?: number;
  /** Fragment offset in bytes (multiple of 8) and the MF flag. */
  fragOffset?: number;
  moreFragments?: boolean;
  options?: Bytes;
}

export function ipv4(o: Ipv4Options, payload: Bytes): Uint8Array {
  const opts = o.options ?? [];
  const hl = 20 + opts.length;
  const frag = ((o.moreFragments === true ? 1 : 0) << 13) | ((o.fragOffset ?? 0) >> 3);
  return bytes(
    [0x40 | (hl >> 2), 0x00],
    be16(hl + payload.length),
    be16(o.id ?? 1),
    be16(frag),
    [o.ttl ?? 64, o.proto, 0, 0],
    be32(v4(o.src)),
    be32(v4(o.dst)),
    opts,
    payload,
  );
}

export function ipv6(src: string, dst: string, nextHeader: number, payload: Bytes, hopLimit = 64, flowLabel = 0): Uint8Array {
  return bytes(be32((6 << 28) | (flowLabel & 0xfffff)), be16(payload.length), [nextHeader, hopLimit], v6bytes(src), v6bytes(dst), payload);
}

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

export function tcp(sport: number, dport: number, flags: number, payload: Bytes = [], seq = 1000, ack = 0): Uint8Array {
  return bytes(be16(sport), be16(dport), be32(seq), be32(ack), [0x50, flags], be16(65535), [0, 0, 0, 0], payload);
}

export function udp(sport: number, dport: number, payload: Bytes): Uint8Array {
  return bytes(be16(sport), be16(dport), be16(8 + payload.length), [0, 0], payload);
}

export function icmpEcho(type: number, id: number, seq: number, payload: Bytes = [0x61, 0x62, 0x63, 0x64]): Uint8Array {
  return bytes([type, 0, 0, 0], be16(id), be16(seq), payload);
}

export function vxlan(vni: number, innerFrame: Bytes, flags = 0x08): Uint8Array {
  return bytes([flags, 0, 0, 0], be32((vni << 8) >>> 0), innerFrame);
}

export function geneve(vni: number, protocol: number, inner: Bytes, options: Bytes = []): Uint8Array {
  return bytes([options.length >> 2, 0x00], be16(protocol), be32((vni << 8) >>> 0), options, inner);
}

export function gre(protocol: number, inner: Bytes, key?: number): Uint8Array {
  return key === undefined ? bytes([0x00, 0x00], be16(protocol), inner) : bytes([0x20, 0x00], be16(protocol), be32(key), inner);
}

export function sll2(protocol: number, ifindex: number, packetType: number, payload: Bytes): Uint8Array {
  return bytes(be16(protocol), [0, 0], be32(ifindex), be16(1), [packetType, 6], MAC_A, [0, 0], payload);
}

export function sll(protocol: number, packetType: number, payload: Bytes): Uint8Array {
  return bytes(be16(packetType), be16(1), be16(6), MAC_A, [0, 0], be16(protocol), payload);
}

export interface LinkPacket {
  readonly name: string;
  readonly linkType: number;
  readonly data: Uint8Array;
}
