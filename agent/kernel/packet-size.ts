/**
 * The size and DF bit of a packet from its bytes as captured: the IPv4 header after the link
 * header, and for an IPIP or VXLAN packet the inner one (what the node forwards after
 * decapsulating). Bounds-checked: a short or odd sample gives null.
 */
import type { PacketSample } from '../../core/findings/node-findings.js';

const LINKTYPE_ETHERNET = 1;
const LINKTYPE_RAW = 101;
const LINKTYPE_RAW_OLD = 12;
const LINKTYPE_IPV4 = 228;
const LINKTYPE_LINUX_SLL = 113;
const LINKTYPE_LINUX_SLL2 = 276;
const VXLAN_PORTS = new Set([4789, 8472]);

export interface Ipv4Size {
  /** The IPv4 total length. */
  readonly length: number;
  readonly dontFragment: boolean;
}

/** Offset of the network header and its EtherType (0 when the link type says IP without one). */
function networkStart(b: Uint8Array, linkType: number): { at: number; etherType: number } | null {
  const u16 = (o: number): number => ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);
  switch (linkType) {
    case LINKTYPE_ETHERNET: {
      let at = 12;
      let type = u16(at);
      while ((type === 0x8100 || type === 0x88a8) && at + 6 <= b.length) {
        at += 4;
        type = u16(at);
      }
      return { at: at + 2, etherType: type };
    }
    case LINKTYPE_LINUX_SLL:
      return { at: 16, etherType: u16(14) };
    case LINKTYPE_LINUX_SLL2:
      return { at: 20, etherType: u16(0) };
    case LINKTYPE_RAW:
    case LINKTYPE_RAW_OLD:
    case LINKTYPE_IPV4:
      return { at: 0, etherType: 0 };
    default:
      return null;
  }
}

function ipv4At(b: Uint8Array, at: number, depth: number): Ipv4Size | null {
  if (at + 20 > b.length || ((b[at] ?? 0) >> 4) !== 4) return null;
  const ihl = ((b[at] ?? 0) & 0x0f) * 4;
  const length = ((b[at + 2] ?? 0) << 8) | (b[at + 3] ?? 0);
  const dontFragment = ((b[at + 6] ?? 0) & 0x40) !== 0;
  const proto = b[at + 9];
  if (depth === 0 && ihl >= 20) {
    if (proto === 4) return ipv4At(b, at + ihl, 1) ?? { length, dontFragment };
    const udp = at + ihl;
    if (proto === 17 && udp + 8 + 8 + 14 <= b.length && VXLAN_PORTS.has(((b[udp + 2] ?? 0) << 8) | (b[udp + 3] ?? 0))) {
      const inner = udp + 8 + 8;
      const type = ((b[inner + 12] ?? 0) << 8) | (b[inner + 13] ?? 0);
      if (type === 0x0800) return ipv4At(b, inner + 14, 1) ?? { length, dontFragment };
    }
  }
  return { length, dontFragment };
}

export function ipv4SizeOf(sample: PacketSample): Ipv4Size | null {
  const start = networkStart(sample.bytes, sample.linkType);
  if (start === null || (start.etherType !== 0 && start.etherType !== 0x0800)) return null;
  return ipv4At(sample.bytes, start.at, 0);
}
