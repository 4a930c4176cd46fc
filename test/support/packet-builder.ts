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
/** A nanosecond pcap; a packet's time as `tsNs`, or exactly as seconds and nanoseconds (`ts`: beyond 2^53 ns a double rounds). */
export function pcapFile(linkType: number, packets: ({ tsNs: number; frame: Uint8Array } | { ts: readonly [number, number]; frame: Uint8Array })[]): Uint8Array {
  const header = new Uint8Array(24);
  const dv = new DataView(header.buffer);
  dv.setUint32(0, 0xa1b23c4d, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setUint32(16, 262144, true);
  dv.setUint32(20, linkType, true);
  const records = packets.map((p) => {
    const frame = p.frame;
    const [sec, nsec] = 'ts' in p ? p.ts : [Math.floor(p.tsNs / 1e9), p.tsNs % 1e9];
    const r = new Uint8Array(16 + frame.length);
    const rv = new DataView(r.buffer);
    rv.setUint32(0, sec, true);
    rv.setUint32(4, nsec, true);
    rv.setUint32(8, frame.length, true);
    rv.setUint32(12, frame.length, true);
    r.set(frame, 16);
    return r;
  });
  return concat(header, ...records);
}

/** A little-endian pcapng file: one section, the given interfaces (name, link type), EPBs with ns timestamps. */
export function pcapngFile(interfaces: { name: string; linkType: number }[], packets: { iface: number; tsNs: number; frame: Uint8Array; inbound?: boolean }[]): Uint8Array {
  const block = (type: number, body: Uint8Array): Uint8Array => {
    const len = 12 + body.length;
    const b = new Uint8Array(len);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, type, true);
    dv.setUint32(4, len, true);
    b.set(body, 8);
    dv.setUint32(len - 4, len, true);
    return b;
  };
  const pad4 = (n: number) => (4 - (n % 4)) % 4;
  const option = (code: number, value: Uint8Array): Uint8Array => {
    const o = new Uint8Array(4 + value.length + pad4(value.length));
    const dv = new DataView(o.buffer);
    dv.setUint16(0, code, true);
    dv.setUint16(2, value.length, true);
    o.set(value, 4);
    return o;
  };
  const shbBody = new Uint8Array(16);
  const sdv = new DataView(shbBody.buffer);
  sdv.setUint32(0, 0x1a2b3c4d, true);
  sdv.setUint16(4, 1, true);
  sdv.setUint16(6, 0, true);
  sdv.setBigInt64(8, -1n, true);
  const parts: Uint8Array[] = [block(0x0a0d0d0a, shbBody)];
  for (const i of interfaces) {
    const head = new Uint8Array(8);
    const hdv = new DataView(head.buffer);
    hdv.setUint16(0, i.linkType, true);
    hdv.setUint32(4, 262144, true);
    parts.push(block(1, concat(head, option(2, bytesOf(i.name)), option(9, new Uint8Array([9])), new Uint8Array(4))));
  }
  for (const p of packets) {
    const head = new Uint8Array(20);
    const hdv = new DataView(head.buffer);
    hdv.setUint32(0, p.iface, true);
    const ts = BigInt(p.tsNs);
    hdv.setUint32(4, Number(ts >> 32n), true);
    hdv.setUint32(8, Number(ts & 0xffffffffn), true);
    hdv.setUint32(12, p.frame.length, true);
    hdv.setUint32(16, p.frame.length, true);
    const flags = new Uint8Array(4);
    new DataView(flags.buffer).setUint32(0, p.inbound === undefined ? 0 : p.inbound ? 1 : 2, true);
    parts.push(block(6, concat(head, p.frame, new Uint8Array(pad4(p.frame.length)), option(2, flags), new Uint8Array(4))));
  }
  return concat(...parts);
}
