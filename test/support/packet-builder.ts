/**
 * Small builders for test packets. Checksums are left zero: pathwatch never validates them (they
 * change every hop and are often offloaded), and the fingerprint must not depend on them.
 */
export function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const be16 = (v: number) => [(v >>> 8) & 255, v & 255];
const be32 = (v: number) => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
export const ip4 = (a: string) => a.split('.').map(Number);

export function ipv4(o: { src: string; dst: string; proto: number; ttl?: number; id?: number; df?: boolean; checksum?: number }, payload: Uint8Array): Uint8Array {
  const total = 20 + payload.length;
  return concat(
    [0x45, 0, ...be16(total), ...be16(o.id ?? 0x1234), o.df === false ? 0 : 0x40, 0, o.ttl ?? 64, o.proto, ...be16(o.checksum ?? 0)],
    ip4(o.src),
    ip4(o.dst),
    payload,
  );
}

export function tcp(o: { sport: number; dport: number; seq?: number; ack?: number; flags?: number }, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  return concat([...be16(o.sport), ...be16(o.dport), ...be32(o.seq ?? 1000), ...be32(o.ack ?? 0), 0x50, o.flags ?? 0x02, ...be16(64240), 0, 0, 0, 0], payload);
}

export function udp(o: { sport: number; dport: number }, payload: Uint8Array): Uint8Array {
  return concat([...be16(o.sport), ...be16(o.dport), ...be16(8 + payload.length), 0, 0], payload);
}

export function icmpEcho(o: { type?: number; id: number; seq: number }, payload: Uint8Array): Uint8Array {
  return concat([o.type ?? 8, 0, 0, 0, ...be16(o.id), ...be16(o.seq)], payload);
}

export function ethernet(o: { dst?: number[]; src?: number[]; type?: number }, payload: Uint8Array): Uint8Array {
  return concat(o.dst ?? [2, 0, 0, 0, 0, 2], o.src ?? [2, 0, 0, 0, 0, 1], be16(o.type ?? 0x0800), payload);
}

export function vxlan(vni: number, innerFrame: Uint8Array): Uint8Array {
  return concat([0x08, 0, 0, 0, ...be32(vni << 8)], innerFrame);
}

/** Linux SLL2 header (tcpdump -i any). packetType: 0 host (in), 4 outgoing. */
export function sll2(o: { ifindex: number; packetType: number; hatype?: number; protocol?: number; mac?: number[] }, payload: Uint8Array): Uint8Array {
  const mac = o.mac ?? [2, 0, 0, 0, 0, 9];
  return concat([...be16(o.protocol ?? 0x0800), 0, 0, ...be32(o.ifindex), ...be16(o.hatype ?? 1), o.packetType, mac.length, ...mac, ...new Array(8 - mac.length).fill(0)], payload);
}

export function bytesOf(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** A classic little-endian nanosecond pcap file from (timestamp ns, frame) pairs. */
export function pcapFile(linkType: number, packets: { tsNs: number; frame: Uint8Array }[]): Uint8Array {
  const header = new Uint8Array(24);
  const dv = new DataView(header.buffer);
  dv.setUint32(0, 0xa1b23c4d, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setUint32(16, 262144, true);
  dv.setUint32(20, linkType, true);
  const records = packets.map(({ tsNs, frame }) => {
    const r = new Uint8Array(16 + frame.length);
    const rv = new DataView(r.buffer);
    rv.setUint32(0, Math.floor(tsNs / 1e9), true);
    rv.setUint32(4, tsNs % 1e9, true);
    rv.setUint32(8, frame.length, true);
    rv.setUint32(12, frame.length, true);
    r.set(frame, 16);
    return r;
  });
  return concat(header, ...records);
}
