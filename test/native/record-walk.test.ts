/**
 * The engine's walk over capture records (native/engine/pcap_walk.c) takes exactly the records the
 * JavaScript readers would hand over one by one: replay answers the same whether a chunk's records
 * are walked in C or come through onRecord one at a time (the walk declined), for pcap and pcapng
 * streams in every layout their writers use: either byte order, microsecond and nanosecond pcaps,
 * format 2.3 with swapped lengths, pcapng timestamps in micro, nano and binary units with an offset,
 * direction flags, extra options and blocks between packets, a second section, hostile lengths,
 * timestamps past year 9999, gzip. The walk must have taken most records (else it proves nothing),
 * and leaves to the reader what it must refuse.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { readCaptureFile } from '../../agent/capture/capture-input.js';
import type { CaptureRecord } from '../../agent/capture/capture-record.js';
import { NativeSightingPipeline } from '../../agent/native/native-sighting-pipeline.js';
import { parseReplayInputSpec } from '../../modes/replay/replay-input.js';
import { runReplay } from '../../modes/replay/replay-runner.js';
import { writeThreeNodeCaptures } from '../support/three-node-story.js';

const root = mkdtempSync(join(tmpdir(), 'pw-record-walk-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Frame {
  readonly sec: number;
  readonly nsec: number;
  readonly caplen: number;
  readonly origlen: number;
  readonly bytes: Uint8Array;
}

async function framesOf(path: string): Promise<{ linkType: number; frames: Frame[] }> {
  const frames: Frame[] = [];
  let linkType = 1;
  await readCaptureFile(path, {
    onInterface: (ci) => void (linkType = ci.linkType),
    onWarning() {},
    onPacket: (r: CaptureRecord) => void frames.push({ sec: r.tsSec, nsec: r.tsNsec, caplen: r.caplen, origlen: r.origlen, bytes: r.data.slice(r.offset, r.offset + r.caplen) }),
  });
  return { linkType, frames };
}

/** Appends 32-bit and 16-bit words in a chosen byte order. */
class Writer {
  private readonly parts: number[] = [];
  constructor(private readonly le: boolean) {}
  u32(v: number): this {
    const b = [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
    this.parts.push(...(this.le ? b.reverse() : b));
    return this;
  }
  u16(v: number): this {
    const b = [(v >>> 8) & 0xff, v & 0xff];
    this.parts.push(...(this.le ? b.reverse() : b));
    return this;
  }
  bytes(b: ArrayLike<number>, pad = false): this {
    for (let i = 0; i < b.length; i++) this.parts.push(b[i] as number);
    if (pad) while (this.parts.length % 4 !== 0) this.parts.push(0);
    return this;
  }
  get length(): number {
    return this.parts.length;
  }
  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

interface PcapLayout {
  readonly le: boolean;
  readonly nano: boolean;
  /** Format 2.3, lengths written wire-first (libpcap swaps them back when captured > wire). */
  readonly swapped?: boolean;
}

function pcap(linkType: number, frames: readonly Frame[], o: PcapLayout): Uint8Array {
  const w = new Writer(o.le);
  w.u32(o.nano ? 0xa1b23c4d : 0xa1b2c3d4).u16(2).u16(o.swapped ? 3 : 4).u32(0).u32(0).u32(262144).u32(linkType);
  for (const f of frames) {
    w.u32(f.sec).u32(o.nano ? f.nsec : Math.floor(f.nsec / 1000));
    // Swapped 2.3 files: the wire length first, which is larger whenever the snap length cut the packet.
    if (o.swapped && f.origlen > f.caplen) w.u32(f.origlen).u32(f.caplen);
    else w.u32(f.caplen).u32(f.origlen);
    w.bytes(f.bytes);
  }
  return w.done();
}

interface PcapngLayout {
  readonly le: boolean;
  /** if_tsresol: 0 (seconds), 6 (micro), 9 (nano), or 0x94 (2^-20 s). */
  readonly tsresol: number;
  readonly tsoffset?: number;
  /** Direction flags on every other packet, an option before the end marker on every third. */
  readonly options?: boolean;
  /** A Name Resolution and an Interface Statistics Block every 500 packets. */
  readonly extraBlocks?: boolean;
  /** A second section (header and interface) halfway. */
  readonly secondSection?: boolean;
}

function block(le: boolean, type: number, body: (w: Writer) => void): Uint8Array {
  const inner = new Writer(le);
  body(inner);
  const bodyBytes = inner.done();
  const len = 12 + bodyBytes.length;
  return new Writer(le).u32(type).u32(len).bytes(bodyBytes).u32(len).done();
}

function pcapng(linkType: number, frames: readonly Frame[], o: PcapngLayout): Uint8Array {
  const le = o.le;
  const units = o.tsresol === 0 ? 1 : o.tsresol === 6 ? 1e6 : o.tsresol === 9 ? 1e9 : 2 ** 20;
  const shb = (): Uint8Array => block(le, 0x0a0d0d0a, (w) => w.u32(0x1a2b3c4d).u16(1).u16(0).u32(0xffffffff).u32(0xffffffff).u16(0).u16(0));
  const idb = (): Uint8Array =>
    block(le, 1, (w) => {
      w.u16(linkType).u16(0).u32(0);
      w.u16(9).u16(1).bytes([o.tsresol], true);
      if (o.tsoffset !== undefined) w.u16(14).u16(8).u32(0).u32(o.tsoffset);
      w.u16(0).u16(0);
    });
  const parts: Uint8Array[] = [shb(), idb()];
  frames.forEach((f, i) => {
    if (o.secondSection && i === Math.floor(frames.length / 2)) parts.push(shb(), idb());
    if (o.extraBlocks && i > 0 && i % 500 === 0) {
      parts.push(block(le, 4, (w) => w.u16(1).u16(8).bytes([10, 0, 0, 1, 0x61, 0x62, 0x63, 0]).u16(0).u16(0)));
      parts.push(block(le, 5, (w) => w.u32(0).u32(0).u32(0).u16(0).u16(0)));
    }
    const sec = f.sec - (o.tsoffset ?? 0);
    // Whole units of the interface's resolution, as a writer with that clock would store them.
    const t = BigInt(sec) * BigInt(units) + BigInt(Math.floor((f.nsec * units) / 1e9));
    parts.push(
      block(le, 6, (w) => {
        w.u32(0).u32(Number(t >> 32n)).u32(Number(t & 0xffffffffn)).u32(f.caplen).u32(f.origlen).bytes(f.bytes, true);
        if (o.options && i % 3 === 0) w.u16(1).u16(5).bytes([0x68, 0x65, 0x6c, 0x6c, 0x6f], true);
        if (o.options && i % 2 === 0) w.u16(2).u16(4).u32(i % 4 === 0 ? 1 : 2);
        if (o.options) w.u16(0).u16(0);
      }),
    );
  });
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Replay's whole answer for one input, as text; and how many records the walk took. */
async function answer(path: string, walk: boolean): Promise<{ text: string; walked: number; records: number }> {
  let walked = 0;
  const original = NativeSightingPipeline.prototype.walkPcap;
  const spy = vi.spyOn(NativeSightingPipeline.prototype, 'walkPcap').mockImplementation(function (this: NativeSightingPipeline, ...args: Parameters<NativeSightingPipeline['walkPcap']>) {
    // Declined: the reader hands every record over one by one, as before the walk existed.
    if (!walk) return { pos: args[1], progress: { records: 0, firstTs: Infinity, lastTs: -Infinity } };
    const r = original.apply(this, args);
    walked += r.progress.records;
    return r;
  });
  try {
    const r = await runReplay({ inputs: [parseReplayInputSpec(`n1:${path}`)], windowMs: 20, keepTunnelHops: true });
    return { text: JSON.stringify({ findings: r.findings, flows: r.flows, stats: r.stats, drops: r.drops }), walked, records: r.stats.records };
  } catch (e) {
    return { text: `error: ${(e as Error).message}`, walked, records: 0 };
  } finally {
    spy.mockRestore();
  }
}

async function expectSameAnswer(label: string, bytes: Uint8Array, minWalked: number): Promise<void> {
  const path = join(root, `${label.replace(/[^a-z0-9]+/gi, '-')}`);
  writeFileSync(path, bytes);
  const oneByOne = await answer(path, false);
  const walked = await answer(path, true);
  expect(walked.text, label).toBe(oneByOne.text);
  expect(walked.walked, `${label}: records walked of ${walked.records}`).toBeGreaterThanOrEqual(Math.floor(walked.records * minWalked));
}

describe('the walk over capture records in C', () => {
  it('takes the same records as the readers, from pcaps and pcapngs of every layout, plain and gzipped', async () => {
    const big = writeThreeNodeCaptures(join(root, 'three-node'));
    // The two largest captures (several thousand packets each).
    const inputs = big.pcaps
      .map((s) => parseReplayInputSpec(s).path)
      .sort((a, b) => statSync(b).size - statSync(a).size)
      .slice(0, 2);
    for (const input of inputs) {
      const { linkType, frames } = await framesOf(input);
      expect(frames.length).toBeGreaterThan(1000);
      const pcaps: [string, PcapLayout][] = [
        ['pcap le micro', { le: true, nano: false }],
        ['pcap be nano', { le: false, nano: true }],
        ['pcap 2.3 swapped', { le: true, nano: true, swapped: true }],
      ];
      for (const [label, layout] of pcaps) {
        const bytes = pcap(linkType, frames, layout);
        await expectSameAnswer(`${label} ${input}`, bytes, 0.95);
        await expectSameAnswer(`${label} gzip ${input}`, gzipSync(bytes), 0.9);
      }
      const pcapngs: [string, PcapngLayout][] = [
        ['pcapng le micro', { le: true, tsresol: 6 }],
        ['pcapng be nano offset', { le: false, tsresol: 9, tsoffset: 1_000_000 }],
        ['pcapng binary options blocks', { le: true, tsresol: 0x94, options: true, extraBlocks: true }],
        ['pcapng two sections', { le: true, tsresol: 9, options: true, secondSection: true }],
      ];
      for (const [label, layout] of pcapngs) {
        const bytes = pcapng(linkType, frames, layout);
        // The second section's interface is the input's second: its records wait in the reorder queue, not walked.
        await expectSameAnswer(`${label} ${input}`, bytes, layout.secondSection ? 0.45 : 0.95);
        await expectSameAnswer(`${label} gzip ${input}`, gzipSync(bytes), layout.secondSection ? 0.4 : 0.9);
      }
    }
  }, 300_000);

  it('leaves hostile records to the reader: an absurd length, a block cut short, a timestamp past year 9999, a packet of an unknown interface', async () => {
    const big = writeThreeNodeCaptures(join(root, 'hostile'), 200);
    const { linkType, frames } = await framesOf(parseReplayInputSpec(big.pcaps[0] as string).path);
    const few = frames.slice(0, 300);
    const good = pcap(linkType, few, { le: true, nano: false });
    // An absurd captured length in the 101st record: the reader's error, whichever path meets it.
    const absurd = good.slice();
    let at = 24;
    for (let i = 0; i < 100; i++) at += 16 + (new DataView(absurd.buffer).getUint32(at + 8, true));
    new DataView(absurd.buffer).setUint32(at + 8, 0x7fffffff, true);
    await expectSameAnswer('pcap absurd length', absurd, 0);
    expect((await answer(join(root, 'pcap-absurd-length'), true)).text).toMatch(/^error: .*absurd captured length/);
    // Cut in the middle of a record: a warning, the records before it analysed.
    await expectSameAnswer('pcap cut short', good.subarray(0, good.length - 7), 0.9);
    // A pcapng packet past year 9999 (skipped and counted by replay): in whole seconds, the walk computes it and leaves it.
    const later = frames.slice(0, 300).map((f, i) => (i === 50 ? { ...f, sec: 300_000_000_000 } : f));
    await expectSameAnswer('pcapng past 9999', pcapng(linkType, later, { le: true, tsresol: 0 }), 0.9);
    expect((await answer(join(root, 'pcapng-past-9999'), true)).text).toContain('timestamp before 1970 or past year 9999');
    // One of an interface the section does not have: the reader's error.
    const unknown = pcapng(linkType, few, { le: true, tsresol: 6 });
    // The 10th packet block claims interface 7.
    let p = 0;
    for (let i = 0, seen = 0; i < unknown.length; ) {
      const len = new DataView(unknown.buffer).getUint32(i + 4, true);
      if (new DataView(unknown.buffer).getUint32(i, true) === 6 && ++seen === 10) {
        p = i;
        break;
      }
      i += len;
    }
    new DataView(unknown.buffer).setUint32(p + 8, 7, true);
    await expectSameAnswer('pcapng unknown interface', unknown, 0);
    expect((await answer(join(root, 'pcapng-unknown-interface'), true)).text).toMatch(/^error: .*unknown interface 7/);
  }, 120_000);
});
