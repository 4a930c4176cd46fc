/**
 * Stored packets as a pcapng file (little endian, microsecond timestamps): one interface block per
 * (node, interface, link type) named `node/iface`, so Wireshark shows where each packet was seen
 * and `pathwatch replay` reads the node and interface back; a comment on each packet carries the
 * verdict. Built in memory: an export is bounded by the store's per-event packet cap.
 */
export interface ExportPacket {
  readonly node: string;
  readonly iface: string;
  readonly linkType: number;
  readonly tsMs: number;
  readonly origLen: number;
  readonly bytes: Uint8Array;
  readonly comment: string;
}

const SHB = 0x0a0d0d0a;
const IDB = 0x00000001;
const EPB = 0x00000006;
const OPT_END = 0;
const OPT_COMMENT = 1;
const SHB_USERAPPL = 4;
const IF_NAME = 2;

class BlockWriter {
  private readonly parts: Uint8Array[] = [];

  block(type: number, body: Uint8Array): void {
    const total = 12 + body.length;
    const head = new DataView(new ArrayBuffer(8));
    head.setUint32(0, type, true);
    head.setUint32(4, total, true);
    const tail = new DataView(new ArrayBuffer(4));
    tail.setUint32(0, total, true);
    this.parts.push(new Uint8Array(head.buffer), body, new Uint8Array(tail.buffer));
  }

  bytes(): Uint8Array {
    return Buffer.concat(this.parts);
  }
}

function padded(n: number): number {
  return (n + 3) & ~3;
}

/** Options: (code, value) pairs then opt_endofopt, each value padded to 32 bits. */
function options(list: readonly [number, Uint8Array][]): Uint8Array {
  const size = list.reduce((s, [, v]) => s + 4 + padded(v.length), 0) + 4;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let o = 0;
  for (const [code, value] of list) {
    view.setUint16(o, code, true);
    view.setUint16(o + 2, value.length, true);
    out.set(value, o + 4);
    o += 4 + padded(value.length);
  }
  view.setUint16(o, OPT_END, true);
  return out;
}

function text(s: string): Uint8Array {
  // Option values are at most 65535 bytes.
  return Buffer.from(s, 'utf8').subarray(0, 65535);
}

export function writePcapng(packets: readonly ExportPacket[]): Uint8Array {
  const w = new BlockWriter();
  const shbHead = new DataView(new ArrayBuffer(16));
  shbHead.setUint32(0, 0x1a2b3c4d, true);
  shbHead.setUint16(4, 1, true);
  shbHead.setUint16(6, 0, true);
  shbHead.setBigInt64(8, -1n, true); // section length unknown
  w.block(SHB, Buffer.concat([new Uint8Array(shbHead.buffer), options([[SHB_USERAPPL, text('pathwatch')]])]));

  const interfaces = new Map<string, number>();
  for (const p of packets) {
    const key = `${p.node}/${p.iface}\u0000${p.linkType}`;
    let id = interfaces.get(key);
    if (id === undefined) {
      id = interfaces.size;
      interfaces.set(key, id);
      const head = new DataView(new ArrayBuffer(8));
      head.setUint16(0, p.linkType, true);
      head.setUint32(4, 0, true); // snaplen: no limit
      w.block(IDB, Buffer.concat([new Uint8Array(head.buffer), options([[IF_NAME, text(`${p.node}/${p.iface}`)]])]));
    }
    const micros = BigInt(Math.round(p.tsMs * 1000));
    const head = new DataView(new ArrayBuffer(20));
    head.setUint32(0, id, true);
    head.setUint32(4, Number(micros >> 32n), true);
    head.setUint32(8, Number(micros & 0xffffffffn), true);
    head.setUint32(12, p.bytes.length, true);
    head.setUint32(16, Math.max(p.origLen, p.bytes.length), true);
    const data = new Uint8Array(padded(p.bytes.length));
    data.set(p.bytes);
    w.block(EPB, Buffer.concat([new Uint8Array(head.buffer), data, options([[OPT_COMMENT, text(p.comment)]])]));
  }
  return w.bytes();
}
