/**
 * The native pipeline as the live agent drives it (agent/live/live-node.ts) is the TypeScript one:
 * a Linux `any` capture's blocks walked in C (onPcapRecords -> walkPcap), with the agent's --iface
 * patterns (acceptInterface), the node's own addresses told before any packet, interface names
 * looked up afresh mid-capture (a new ifindex cache; once, a veth renamed under its index), evaluation on a timer's watermark rather than
 * per record, and packet bytes kept. The TypeScript pipeline takes the same records one by one.
 * Chunks are cut at odd sizes, so records straddle them (those come through onRecord).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCaptureParser } from '../../agent/capture/capture-format.js';
import { recordTimeMs, type CaptureInterface, type CaptureRecord, type CaptureSink, type PcapRecordFormat } from '../../agent/capture/capture-record.js';
import { LINKTYPE_LINUX_SLL2 } from '../../agent/decode/link-types.js';
import { InterfaceRegistry } from '../../agent/flow/interface-registry.js';
import { DEFAULT_HOP_MATCHER_CONFIG } from '../../agent/flow/node-hop-matcher.js';
import { DEFAULT_PACKET_BYTES_CONFIG } from '../../agent/flow/packet-bytes-ring.js';
import { SightingPipeline, type CaptureBinding, type SightingPipelineConfig } from '../../agent/flow/sighting-pipeline.js';
import { NativeSightingPipeline } from '../../agent/native/native-sighting-pipeline.js';
import type { FlowRecord } from '../../core/findings/flow-record.js';
import type { NodeFindings } from '../../core/findings/node-findings.js';
import { addressKey, parseAddress } from '../../core/net/address.js';
import { ExpectedAnswers, sha256, type CaseCounts } from '../support/expected-answers.js';

const GOLDEN = new URL('../golden/', import.meta.url).pathname;
const CAPTURE = join(GOLDEN, 'lab-3node-ipip', 'n2-any.pcap');
const IFNAMES = new Map([
  [1, 'lo'],
  [2, 'eth0'],
  [3, 'cali04ed4c05385'],
  [4, 'tunl0'],
]);
const RENAMED = new Map([...IFNAMES, [3, 'cali7f0c2a11b9e']]);
const OWN = ['192.168.77.12', '10.91.2.1', 'fd00::12'];
const NODE = 'n2';

interface Answer {
  readonly findings: NodeFindings[];
  readonly flows: FlowRecord[];
  readonly stats: unknown;
  readonly interfaces: number[];
  readonly walked: number;
  /** Records read before each tick. */
  readonly ticks: number[];
}

function bytesAsArrays(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? Array.from(value) : value;
}

/**
 * Runs the capture through one engine as LiveNode does: chunks of `chunk` bytes; the native engine
 * ticks between chunks once `tickRecords` more records were read, TypeScript after the records
 * counted in `tickAt` (where the native run ticked).
 */
function live(engine: 'typescript' | 'native', accept: ((name: string) => boolean) | undefined, chunk: number, tickRecords: number, tickAt: readonly number[] = []): Answer {
  const registry = new InterfaceRegistry();
  const config: SightingPipelineConfig = {
    matcher: { ...DEFAULT_HOP_MATCHER_CONFIG, tunnelHopSampleOneIn: 0 },
    ...(accept ? { acceptInterface: accept } : {}),
    packetBytes: DEFAULT_PACKET_BYTES_CONFIG,
  };
  const node = registry.node(NODE);
  const binding: CaptureBinding = { node: NODE, ifaceByCaptureInterface: [], ifnameByIndex: IFNAMES, ifaceByIfindex: new Int32Array(0) };
  const words = new Uint32Array(4);
  const ts = engine === 'typescript' ? new SightingPipeline(registry, config) : undefined;
  const nat = engine === 'native' ? new NativeSightingPipeline(registry, config) : undefined;
  for (const a of OWN) {
    const v = parseAddress(a, words);
    if (ts) ts.matcher(node.index).knowledge.addLocal(addressKey(v, words), a);
    else nat?.addLocalAddress(node.index, v, words);
  }
  const findings: NodeFindings[] = [];
  const flows: FlowRecord[] = [];
  let lastTs = -Infinity;
  let records = 0;
  let nextTick = tickRecords;
  let walked = 0;
  const ticks: number[] = [];
  const tsTicks = new Set(tickAt);
  const tick = (): void => {
    ticks.push(records);
    // The agent's tick: evaluate what is a second older than the latest packet, take, flush, and look names up afresh.
    const watermark = lastTs - 1000;
    (ts ?? nat)?.advance(watermark);
    findings.push(ts ? ts.matcher(node.index).takeFindings(watermark - 250) : (nat?.matcher(node.index).takeFindings(watermark - 250) as NodeFindings));
    (ts ?? nat)?.flushFlows((r) => flows.push(r));
    binding.ifaceByIfindex = new Int32Array(0);
    // At the second tick the pod's veth is replaced under the same index (a pod restarted).
    if (ticks.length === 2) binding.ifnameByIndex = RENAMED;
  };
  const sink: CaptureSink = {
    onInterface(ci: CaptureInterface) {
      expect(ci.linkType).toBe(LINKTYPE_LINUX_SLL2);
      node.coversAllInterfaces = accept === undefined;
      binding.ifaceByCaptureInterface[ci.id] = -1;
    },
    onPacket(r: CaptureRecord) {
      (ts ?? nat)?.onRecord(r, binding);
      lastTs = Math.max(lastTs, recordTimeMs(r));
      records++;
      if (ts && tsTicks.has(records)) tick();
    },
    onWarning() {},
  };
  if (nat) {
    // As LiveNode's sink: whole blocks walked in C; ticks fall between chunks.
    sink.onPcapRecords = (data: Uint8Array, pos: number, end: number, format: PcapRecordFormat, w: { records: number }) => {
      const r = nat.walkPcap(data, pos, end, format, binding, undefined, () => {});
      w.records += r.progress.records;
      walked += r.progress.records;
      records += r.progress.records;
      if (r.progress.records > 0) lastTs = Math.max(lastTs, r.progress.lastTs);
      return r.pos;
    };
  }
  const parser = createCaptureParser('pcap', sink);
  const bytes = readFileSync(CAPTURE);
  for (let at = 0; at < bytes.length; at += chunk) {
    parser.push(bytes.subarray(at, Math.min(bytes.length, at + chunk)));
    // Native ticks come between chunks (as the agent's timer between blocks); TypeScript ticks within.
    if (nat && records >= nextTick) {
      tick();
      nextTick = records + tickRecords;
    }
  }
  parser.end();
  const p = ts ?? (nat as NativeSightingPipeline);
  for (const m of p.matchers) m?.expireAll(lastTs);
  p.flushFlows((r) => flows.push(r));
  findings.push(ts ? ts.matcher(node.index).takeFindings(lastTs) : (nat?.matcher(node.index).takeFindings(lastTs) as NodeFindings));
  const n = registry.interfaces.length;
  return { findings, flows, stats: p.stats, interfaces: [...p.interfacePackets.slice(0, n), ...p.interfaceBytes.slice(0, n)], walked, ticks };
}

function text(a: Answer): string {
  return JSON.stringify({ findings: a.findings, flows: a.flows, stats: a.stats, interfaces: a.interfaces }, bytesAsArrays);
}

const expected = new ExpectedAnswers('live-pipeline-differential', 'an any capture as the live agent drives the pipeline: sha256 of text() (findings of every tick, flows, stats, per-interface counts) per case', 'typescript');

function counts(a: Answer): CaseCounts {
  return { takes: a.findings.length, candidates: a.findings.reduce((n, f) => n + f.candidates.length, 0), flows: a.flows.length, walked: a.walked, ticks: a.ticks.length };
}

describe('the native pipeline as the live agent drives it', () => {
  it('an any capture walked in C in blocks, with --iface patterns, own addresses and names looked up afresh: the TypeScript answer', () => {
    const cases: [string, ((name: string) => boolean) | undefined][] = [
      ['every interface', undefined],
      ['--iface without eth0', (name) => name !== 'eth0'],
      ['--iface cali* only', (name) => name.startsWith('cali')],
    ];
    for (const [label, accept] of cases) {
      // The whole capture as one block (ticks then fall after it), and blocks of 300 bytes (records straddle them).
      for (const chunk of [1 << 24, 300]) {
        const tsAnswer = live('typescript', accept, 1 << 24, Infinity);
        const native = live('native', accept, chunk, Infinity);
        expect(text(native), `${label}, chunks of ${chunk}`).toBe(text(tsAnswer));
        // The reference's answer, with the native run's walk counts (the TypeScript run walks nothing).
        expect(expected.check('live', `${label}, chunks of ${chunk}`, { sha256: sha256(text(tsAnswer)), counts: { ...counts(tsAnswer), walked: native.walked, ticks: native.ticks.length } })).toBeUndefined();
        expect(native.walked, label).toBeGreaterThan(0);
      }
      // Ticking every 5 records or so (between blocks), TypeScript ticking after the same records.
      const ticked = live('native', accept, 300, 5);
      expect(ticked.ticks.length, label).toBeGreaterThan(2);
      const tsTicked = live('typescript', accept, 1 << 24, Infinity, ticked.ticks);
      expect(text(ticked), `${label}, ticking`).toBe(text(tsTicked));
      expect(expected.check('live', `${label}, ticking every 5 records`, { sha256: sha256(text(tsTicked)), counts: { ...counts(tsTicked), walked: ticked.walked, ticks: ticked.ticks.length } })).toBeUndefined();
      expect(text(ticked)).toContain('cali7f0c2a11b9e');
    }
    const notAnalysed = (live('native', (name) => name.startsWith('cali'), 300, Infinity).stats as { notAnalysed: number }).notAnalysed;
    expect(notAnalysed).toBeGreaterThan(0);
    expect(expected.endGroup('live')).toEqual([]);
  });
});
