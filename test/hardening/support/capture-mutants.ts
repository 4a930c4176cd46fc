/**
 * Mutants of capture files: the structure of a pcap or pcapng file (where its record headers and
 * blocks are, in which byte order) and the ways of breaking it that a reader must survive:
 * truncations, flipped bytes, absurd values in length and timestamp fields, inserted garbage, gzip.
 *
 * Everything is driven by a seeded generator, so a corpus is the same on every run and a failing
 * mutant can be regenerated from its name.
 */
import { gzipSync } from 'node:zlib';

/** mulberry32: small, fast, good enough to pick offsets. */
export class Prng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

export type CaptureKind = 'pcap' | 'pcapng';

/** A 32-bit (or 16-bit) field of a record or block header, at an absolute offset. */
export interface HeaderField {
  readonly offset: number;
  readonly size: 2 | 4;
  readonly littleEndian: boolean;
  /** What it is, for the mutant's description: "record 3 caplen", "EPB@812 block length". */
  readonly name: string;
  /** Length fields get absurd lengths; timestamp fields absurd times. */
  readonly kind: 'length' | 'time' | 'other';
}

export interface CaptureLayout {
  readonly kind: CaptureKind;
  /** Offsets where a record or block starts (plus the end of the last complete one). */
  readonly boundaries: number[];
  readonly fields: HeaderField[];
}

export function captureKind(b: Uint8Array): CaptureKind | undefined {
  if (b.length < 4) return undefined;
  const m = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  if (m === 0xa1b2c3d4 || m === 0xd4c3b2a1 || m === 0xa1b23c4d || m === 0x4d3cb2a1) return 'pcap';
  if (m === 0x0a0d0d0a) return 'pcapng';
  return undefined;
}

/** Walks a (valid, or valid up to some point) capture and lists its header fields. */
export function captureLayout(b: Uint8Array): CaptureLayout {
  const kind = captureKind(b);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const boundaries: number[] = [0];
  const fields: HeaderField[] = [];
  if (kind === 'pcap') {
    const le = dv.getUint32(0, true) === 0xa1b2c3d4 || dv.getUint32(0, true) === 0xa1b23c4d;
    fields.push({ offset: 16, size: 4, littleEndian: le, name: 'file header snaplen', kind: 'length' });
    fields.push({ offset: 20, size: 4, littleEndian: le, name: 'file header link type', kind: 'other' });
    let p = 24;
    boundaries.push(24);
    for (let n = 0; p + 16 <= b.length; n++) {
      fields.push({ offset: p, size: 4, littleEndian: le, name: `record ${n} seconds`, kind: 'time' });
      fields.push({ offset: p + 4, size: 4, littleEndian: le, name: `record ${n} fraction`, kind: 'time' });
      fields.push({ offset: p + 8, size: 4, littleEndian: le, name: `record ${n} caplen`, kind: 'length' });
      fields.push({ offset: p + 12, size: 4, littleEndian: le, name: `record ${n} origlen`, kind: 'length' });
      const caplen = dv.getUint32(p + 8, le);
      if (p + 16 + caplen > b.length) break;
      p += 16 + caplen;
      boundaries.push(p);
    }
  } else if (kind === 'pcapng') {
    let le = true;
    let p = 0;
    while (p + 12 <= b.length) {
      let type = dv.getUint32(p, true);
      if (type === 0x0a0d0d0a && p + 12 <= b.length) le = dv.getUint32(p + 8, true) === 0x1a2b3c4d;
      type = dv.getUint32(p, le);
      const len = dv.getUint32(p + 4, le);
      const tag = `${BLOCK_NAMES[type] ?? `block 0x${type.toString(16)}`}@${p}`;
      fields.push({ offset: p + 4, size: 4, littleEndian: le, name: `${tag} block length`, kind: 'length' });
      if (len < 12 || len % 4 !== 0 || p + len > b.length) break;
      fields.push({ offset: p + len - 4, size: 4, littleEndian: le, name: `${tag} trailing length`, kind: 'length' });
      if (type === 6 && len >= 32 && p + 28 <= b.length) {
        fields.push({ offset: p + 8, size: 4, littleEndian: le, name: `${tag} interface id`, kind: 'other' });
        fields.push({ offset: p + 12, size: 4, littleEndian: le, name: `${tag} timestamp high`, kind: 'time' });
        fields.push({ offset: p + 16, size: 4, littleEndian: le, name: `${tag} timestamp low`, kind: 'time' });
        fields.push({ offset: p + 20, size: 4, littleEndian: le, name: `${tag} caplen`, kind: 'length' });
        fields.push({ offset: p + 24, size: 4, littleEndian: le, name: `${tag} origlen`, kind: 'length' });
        const caplen = dv.getUint32(p + 20, le);
        optionFields(dv, p + 28 + Math.ceil(caplen / 4) * 4, p + len - 4, le, tag, fields);
      } else if (type === 1 && len >= 20) {
        fields.push({ offset: p + 8, size: 2, littleEndian: le, name: `${tag} link type`, kind: 'other' });
        fields.push({ offset: p + 12, size: 4, littleEndian: le, name: `${tag} snaplen`, kind: 'length' });
        optionFields(dv, p + 16, p + len - 4, le, tag, fields);
      } else if (type === 3 && len >= 16) {
        fields.push({ offset: p + 8, size: 4, littleEndian: le, name: `${tag} original length`, kind: 'length' });
      } else if (type === 0x0a0d0d0a && len >= 28) {
        fields.push({ offset: p + 12, size: 2, littleEndian: le, name: `${tag} major version`, kind: 'other' });
        optionFields(dv, p + 24, p + len - 4, le, tag, fields);
      }
      p += len;
      boundaries.push(p);
    }
  }
  return { kind: kind ?? 'pcap', boundaries, fields };
}

const BLOCK_NAMES: Readonly<Record<number, string>> = { 0x0a0d0d0a: 'SHB', 1: 'IDB', 2: 'PB', 3: 'SPB', 5: 'ISB', 6: 'EPB' };

function optionFields(dv: DataView, start: number, end: number, le: boolean, tag: string, out: HeaderField[]): void {
  let q = start;
  // A mutated block can claim options past the file's end: stop at whichever comes first.
  const stop = Math.min(end, dv.byteLength);
  while (q >= 0 && q + 4 <= stop) {
    const code = dv.getUint16(q, le);
    const len = dv.getUint16(q + 2, le);
    if (code === 0) break;
    out.push({ offset: q + 2, size: 2, littleEndian: le, name: `${tag} option ${code} length`, kind: 'length' });
    if (code === 9 && len >= 1 && q + 6 <= stop) out.push({ offset: q + 4, size: 2, littleEndian: le, name: `${tag} if_tsresol`, kind: 'time' });
    if (code === 14 && len >= 8 && q + 12 <= stop) out.push({ offset: q + 4 + (le ? 4 : 0), size: 4, littleEndian: le, name: `${tag} if_tsoffset high`, kind: 'time' });
    q += 4 + ((len + 3) & ~3);
  }
}

/** Lengths no reader may honour by allocating, and the boundaries around the readers' limits. */
export const ABSURD_LENGTHS: readonly number[] = [
  0, 1, 3, 11, 12, 13, 15, 16, 27, 28, 31, 0xfff0, 0xffff, 0x10000, 0x00fffffc, 0x00ffffff, 0x01000000, 0x01000004, 0x01010000, 0x01010004, 0x7ffffffc,
  0x7fffffff, 0x80000000, 0xfffffff0, 0xfffffffc, 0xffffffff,
];
/** Timestamps at the ends of the 32-bit fields. */
export const ABSURD_TIMES: readonly number[] = [0, 1, 999_999, 1_000_000, 999_999_999, 1_000_000_000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

export type CaptureMutation =
  | { readonly op: 'truncate'; readonly at: number }
  | { readonly op: 'flip'; readonly at: number; readonly mask: number }
  | { readonly op: 'field'; readonly field: HeaderField; readonly value: number }
  | { readonly op: 'insert'; readonly at: number; readonly garbage: Uint8Array }
  | { readonly op: 'duplicate'; readonly from: number; readonly to: number; readonly at: number };

export function describeMutation(m: CaptureMutation): string {
  switch (m.op) {
    case 'truncate':
      return `cut at ${m.at}`;
    case 'flip':
      return `byte ${m.at} ^= 0x${m.mask.toString(16)}`;
    case 'field':
      return `${m.field.name} (byte ${m.field.offset}) = 0x${m.value.toString(16)}`;
    case 'insert':
      return `${m.garbage.length} garbage bytes inserted at ${m.at}`;
    case 'duplicate':
      return `bytes ${m.from}-${m.to} repeated at ${m.at}`;
  }
}

export function applyMutation(src: Uint8Array, m: CaptureMutation): Uint8Array {
  switch (m.op) {
    case 'truncate':
      return src.slice(0, Math.min(m.at, src.length));
    case 'flip': {
      const b = src.slice();
      if (m.at < b.length) b[m.at] = b[m.at]! ^ m.mask;
      return b;
    }
    case 'field': {
      const b = src.slice();
      const f = m.field;
      if (f.offset + f.size > b.length) return b;
      const dv = new DataView(b.buffer);
      if (f.size === 4) dv.setUint32(f.offset, m.value >>> 0, f.littleEndian);
      else dv.setUint16(f.offset, m.value & 0xffff, f.littleEndian);
      return b;
    }
    case 'insert':
    case 'duplicate': {
      const piece = m.op === 'insert' ? m.garbage : src.slice(m.from, m.to);
      const at = Math.min(m.at, src.length);
      const b = new Uint8Array(src.length + piece.length);
      b.set(src.subarray(0, at), 0);
      b.set(piece, at);
      b.set(src.subarray(at), at + piece.length);
      return b;
    }
  }
}

/** One random mutation of b, aimed at its structure (header fields, record boundaries) most of the time. */
export function randomMutation(rng: Prng, b: Uint8Array): CaptureMutation {
  const layout = captureLayout(b);
  const near = (): number => {
    const base = rng.pick(layout.boundaries);
    return Math.max(0, Math.min(b.length, base + rng.int(33) - 8));
  };
  const anywhere = (): number => rng.int(b.length + 1);
  switch (rng.int(7)) {
    case 0:
      return { op: 'truncate', at: rng.int(2) === 0 ? near() : anywhere() };
    case 1:
      return { op: 'flip', at: rng.int(2) === 0 ? near() : anywhere(), mask: 1 + rng.int(255) };
    case 2:
    case 3: {
      const lengths = layout.fields.filter((f) => f.kind === 'length');
      if (lengths.length === 0) return { op: 'flip', at: anywhere(), mask: 0x80 };
      return { op: 'field', field: rng.pick(lengths), value: rng.pick(ABSURD_LENGTHS) };
    }
    case 4: {
      const times = layout.fields.filter((f) => f.kind === 'time' || f.kind === 'other');
      if (times.length === 0) return { op: 'flip', at: anywhere(), mask: 0xff };
      const field = rng.pick(times);
      return { op: 'field', field, value: field.kind === 'time' ? rng.pick(ABSURD_TIMES) : rng.pick([0, 1, 2, 3, 101, 113, 276, 0xffff, 0xffffffff]) };
    }
    case 5:
      return { op: 'insert', at: rng.int(2) === 0 ? near() : anywhere(), garbage: rng.bytes(1 + rng.int(64)) };
    default: {
      // A whole record or block repeated elsewhere: structurally valid, semantically odd.
      const i = rng.int(Math.max(1, layout.boundaries.length - 1));
      const from = layout.boundaries[i] ?? 0;
      const to = layout.boundaries[i + 1] ?? b.length;
      return { op: 'duplicate', from, to, at: near() };
    }
  }
}

export interface Mutant {
  /** File-name safe: source stem, index, seed. */
  readonly name: string;
  readonly source: string;
  readonly description: string;
  readonly bytes: Uint8Array;
  readonly gzipped: boolean;
}

/**
 * A deterministic corpus: `count` mutants of the given sources, each 1-3 mutations, some of them
 * gzipped (whole, or cut short inside the gzip stream).
 */
export function mutantCorpus(sources: ReadonlyArray<{ name: string; bytes: Uint8Array }>, count: number, seed: number): Mutant[] {
  const rng = new Prng(seed);
  const out: Mutant[] = [];
  for (let i = 0; i < count; i++) {
    const src = sources[i % sources.length]!;
    let b = src.bytes;
    const steps: string[] = [];
    const n = 1 + rng.int(3);
    for (let k = 0; k < n; k++) {
      const m = randomMutation(rng, b);
      steps.push(describeMutation(m));
      b = applyMutation(b, m);
    }
    let gzipped = false;
    const g = rng.int(10);
    if (g === 0) {
      b = gzipSync(b);
      gzipped = true;
      steps.push('gzipped');
    } else if (g === 1) {
      const z = gzipSync(b);
      const cut = 10 + rng.int(Math.max(1, z.length - 10));
      b = z.subarray(0, cut);
      gzipped = true;
      steps.push(`gzipped, gzip stream cut at ${cut} of ${z.length}`);
    }
    const stem = src.name.replace(/[^A-Za-z0-9_.-]+/g, '_');
    out.push({ name: `${String(i).padStart(4, '0')}-${stem}${gzipped ? '.gz' : ''}`, source: src.name, description: steps.join('; '), bytes: b, gzipped });
  }
  return out;
}
