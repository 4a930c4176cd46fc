/**
 * Shared by the native engine's tests: the TypeScript decoder and fingerprint against the native ones
 * on the same bytes, and the capture fixtures' records.
 */
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCaptureFile } from '../../agent/capture/capture-input.js';
import type { CaptureRecord } from '../../agent/capture/capture-record.js';
import { PacketDecoder } from '../../agent/decode/packet-decoder.js';
import { PacketView } from '../../agent/decode/packet-view.js';
import { fingerprintIsWeak, packetFingerprint } from '../../agent/flow/fingerprint.js';
import type { NativeDecoder, NativeDecodeResult, NativeEngineExports, NativePacketView } from '../../agent/native/engine-native.js';
import { nativeAddon } from '../../agent/native/native-addon.js';

export const FIXTURES_ROOT = fileURLToPath(new URL('../fixtures/', import.meta.url));

export function engine(): NativeEngineExports {
  return nativeAddon();
}

/** PacketView's data fields, by name, in declaration order: what the native view must mirror. */
export const VIEW_FIELDS: readonly string[] = Object.keys(new PacketView());

type ViewValue = number | ArrayLike<number>;

function field(view: PacketView | NativePacketView, name: string): ViewValue {
  return (view as unknown as Record<string, ViewValue>)[name] as ViewValue;
}

function same(a: ViewValue, b: ViewValue): boolean {
  if (typeof a === 'number' || typeof b === 'number') return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function show(v: ViewValue): string {
  return typeof v === 'number' ? String(v) : `[${Array.from(v).join(',')}]`;
}

/** A TypeScript and a native decoder fed the same packets in the same order (state carries over). */
export class DecoderPair {
  readonly ts: PacketDecoder;
  readonly native: NativeDecoder;
  compared = 0;

  constructor(tunnelPorts?: { vxlanPorts: number[]; genevePorts: number[] }) {
    this.ts = tunnelPorts === undefined ? new PacketDecoder() : new PacketDecoder({ tunnelPorts });
    this.native = engine().createDecoder(tunnelPorts);
  }

  /**
   * Decodes with both and returns every difference (status, each view field, each event counter,
   * fingerprint, weak flag) as text, or undefined when they are identical.
   */
  compare(data: Uint8Array, offset: number, length: number, linkType: number): string | undefined {
    const status = this.ts.decode(data, offset, length, linkType);
    const n: NativeDecodeResult = engine().decodeForTest(this.native, data, offset, length, linkType);
    this.compared++;
    const view = this.ts.view;
    const diffs: string[] = [];
    if (n.status !== status) diffs.push(`status ts=${status} native=${n.status}`);
    for (const name of VIEW_FIELDS) {
      const a = field(view, name);
      const b = field(n.view, name);
      if (b === undefined || !same(a, b)) diffs.push(`view.${name} ts=${show(a)} native=${b === undefined ? 'missing' : show(b)}`);
    }
    const counts = this.ts.events.counts;
    if (!same(counts, n.events)) diffs.push(`events ts=${show(counts)} native=${show(n.events)}`);
    const fp = packetFingerprint(view, data);
    if (fp !== n.fingerprint) diffs.push(`fingerprint ts=${fp} native=${n.fingerprint}`);
    const weak = fingerprintIsWeak(view);
    if (weak !== n.weak) diffs.push(`weak ts=${weak} native=${n.weak}`);
    if (diffs.length === 0) return undefined;
    const hex = Buffer.from(data.subarray(offset, offset + length)).toString('hex');
    return `link type ${linkType}, ${length} bytes at ${offset}: ${hex}\n  ${diffs.join('\n  ')}`;
  }
}

/** Relative paths (to test/fixtures) of every pcap and pcapng there, sorted. */
export function listCaptureFixtures(dir = FIXTURES_ROOT): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listCaptureFixtures(p));
    else if (/\.pcap(ng)?$/.test(e.name)) out.push(relative(FIXTURES_ROOT, p));
  }
  return out.sort();
}

/**
 * Reads a fixture with the TypeScript readers, calling onRecord for every record while its bytes
 * are valid. A file the readers refuse part-way still gives the records before that point; the
 * error comes back as text.
 */
export async function forEachRecord(rel: string, onRecord: (r: CaptureRecord) => void): Promise<string | undefined> {
  try {
    await readCaptureFile(join(FIXTURES_ROOT, rel), { onInterface() {}, onWarning() {}, onPacket: onRecord });
    return undefined;
  } catch (e) {
    return String(e);
  }
}

export interface RecordCopy {
  readonly linkType: number;
  readonly bytes: Uint8Array;
}

/** Copies of every record of every fixture (the seeds of mutation and fuzzing). */
export async function allFixtureRecords(): Promise<RecordCopy[]> {
  const out: RecordCopy[] = [];
  for (const rel of listCaptureFixtures()) {
    await forEachRecord(rel, (r) => out.push({ linkType: r.linkType, bytes: r.data.slice(r.offset, r.offset + r.caplen) }));
  }
  return out;
}
