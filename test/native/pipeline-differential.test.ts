/**
 * The native sighting pipeline (native/engine/sighting_pipeline.c: decode, fingerprint, flow table,
 * hop matcher, knowledge, in C over blocks of records) gives the answers of the TypeScript
 * SightingPipeline it replaced: replay's NodeFindings (candidates with their hops and sample bytes,
 * knowledge facts, counters, tunnel departures and arrivals, coverage), interval flow records in
 * their order, flows, statistics and drops, as one text per replay whose SHA-256 must be the one in
 * test/native/expected/pipeline-differential.json. On every fixture capture, every golden set
 * (several nodes, `any` captures whose interfaces appear by index), and synthetic three-node
 * captures (per-interface pcaps, multi-interface pcapngs written out of order), with several
 * correlation windows and with sample bytes kept; and each big pcap alone, walked in C.
 *
 * Those digests pin the TypeScript reference's answers as of commit 9d5b677, when every replay here
 * ran with both engines, gave identical texts, and the TypeScript text's digest was stored (by:
 * typescript). A behaviour change of the engine fails the replays it touches, by label, with the
 * counts that moved. To make one on purpose: PATHWATCH_UPDATE_EXPECTED=1 npx vitest run
 * test/native/pipeline-differential.test.ts (refused under CI=true; test/support/expected-answers.ts),
 * and review the rewritten cases.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { FlowRecord } from '../../core/findings/flow-record.js';
import { readGoldenManifest } from '../../modes/replay/golden-set.js';
import { parseReplayInputSpec, type ReplayInputSpec } from '../../modes/replay/replay-input.js';
import { runReplay, type ReplayOptions } from '../../modes/replay/replay-runner.js';
import { writeThreeNodeCaptures } from '../support/three-node-story.js';
import { forEachRecord, listCaptureFixtures } from './engine-test-support.js';
import { ExpectedAnswers, sha256 } from '../support/expected-answers.js';
import { InterfaceRegistry } from '../../agent/flow/interface-registry.js';
import { NativeSightingPipeline } from '../../agent/native/native-sighting-pipeline.js';
import type { CaptureBinding } from '../../agent/native/pipeline-config.js';

const here = new URL('.', import.meta.url).pathname;
const FIXTURES = join(here, '..', 'fixtures');
const GOLDEN = join(here, '..', 'golden');
const MIN_FIXTURE_FILES = 91;

const root = mkdtempSync(join(tmpdir(), 'pw-native-pipeline-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Tally {
  runs: number;
  candidates: number;
  flowRecords: number;
  departures: number;
  samples: number;
  differences: string[];
}

const tally: Tally = { runs: 0, candidates: 0, flowRecords: 0, departures: 0, samples: 0, differences: [] };
const expected = new ExpectedAnswers('pipeline-differential', 'replay with the sighting pipeline: sha256 of answer().text (findings, interval flow records, flows, stats, drops, vanished) per replay');

function bytesAsArrays(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? Array.from(value) : value;
}

/**
 * Warnings and errors name their input by path. The reference answers were frozen in a checkout at
 * /work/main, so the answer is compared with this checkout's root written as that one: the digests
 * then hold wherever the repository is cloned (CI's clone found two fixtures whose text named it).
 */
const FROZEN_ROOT = '/work/main/';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function asFrozen(text: string): string {
  return ROOT === FROZEN_ROOT ? text : text.split(ROOT).join(FROZEN_ROOT);
}

/** Everything replay answers, as text, with the interval flow records as they were emitted. */
async function answer(options: ReplayOptions): Promise<{ text: string; packets: number; candidates: number; records: number; departures: number; samples: number }> {
  const records: FlowRecord[] = [];
  try {
    const r = await runReplay({ ...options, onFlow: (f) => records.push(f) });
    const candidates = r.findings.reduce((n, f) => n + f.candidates.length, 0);
    const departures = r.findings.reduce((n, f) => n + f.departures.length + f.arrivals.length, 0);
    const samples = r.findings.reduce((n, f) => n + f.candidates.filter((c) => c.sample !== undefined).length, 0);
    const text = JSON.stringify({ findings: r.findings, records, flows: r.flows, stats: r.stats, drops: r.drops, vanished: r.vanished }, bytesAsArrays);
    return { text: asFrozen(text), packets: r.stats.records, candidates, records: records.length, departures, samples };
  } catch (e) {
    return { text: asFrozen(`error: ${(e as Error).message}`), packets: 0, candidates: 0, records: 0, departures: 0, samples: 0 };
  }
}

/** One replay with the engine, checked against its frozen answer; a difference is listed by label. */
async function check(group: string, label: string, options: ReplayOptions): Promise<void> {
  const native = await answer(options);
  tally.runs++;
  tally.candidates += native.candidates;
  tally.flowRecords += native.records;
  tally.departures += native.departures;
  tally.samples += native.samples;
  const problem = expected.check(group, label, { sha256: sha256(native.text), counts: { packets: native.packets, candidates: native.candidates, flowRecords: native.records, departures: native.departures, samples: native.samples } });
  if (problem !== undefined && tally.differences.length < 10) tally.differences.push(native.text.startsWith('error: ') ? `${problem}; replay failed with ${native.text}` : problem);
}

function spec(path: string): ReplayInputSpec {
  return parseReplayInputSpec(path);
}

describe('the native sighting pipeline gives the TypeScript one\'s answers', () => {
  it('on every fixture capture alone, with windows of 250 ms and 5 ms, and sample bytes kept', async () => {
    const files = listCaptureFixtures();
    expect(files.length).toBeGreaterThanOrEqual(MIN_FIXTURE_FILES);
    const before = tally.runs;
    for (const rel of files) {
      const inputs = [spec(join(FIXTURES, rel))];
      await check('fixtures', rel, { inputs, keepTunnelHops: true });
      await check('fixtures', `${rel} (5 ms, bytes)`, { inputs, keepTunnelHops: true, windowMs: 5, keepPacketBytes: true });
    }
    expect(tally.differences).toEqual([]);
    expect(expected.endGroup('fixtures')).toEqual([]);
    expect(tally.runs - before).toBe(files.length * 2);
  }, 300_000);

  it('on every golden set (several nodes, any captures), with sample bytes kept too, without interface names, and its first input alone', async () => {
    for (const name of readdirSync(GOLDEN, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name)) {
      const dir = join(GOLDEN, name);
      const manifest = readGoldenManifest(dir);
      const inputs = manifest.inputs.map((text) => {
        const s = parseReplayInputSpec(text);
        return { ...s, path: isAbsolute(s.path) ? s.path : join(dir, s.path) };
      });
      const ifnames = new Map((manifest.ifnames ?? []).map((s) => [Number(s.slice(0, s.indexOf('='))), s.slice(s.indexOf('=') + 1)] as const));
      await check('goldens', name, { inputs, ifnames, keepTunnelHops: true });
      await check('goldens', `${name} (bytes)`, { inputs, ifnames, keepTunnelHops: true, keepPacketBytes: true });
      // Without the interface names: `any` captures' interfaces become if<index>.
      await check('goldens', `${name} (no ifnames)`, { inputs, keepTunnelHops: true });
      // Only the first input: an `any` capture alone, or one node of several.
      await check('goldens', `${name} (first input)`, { inputs: inputs.slice(0, 1), ifnames, keepTunnelHops: true });
    }
    expect(tally.differences).toEqual([]);
    expect(expected.endGroup('goldens')).toEqual([]);
  }, 300_000);

  it('on synthetic three-node captures: per-interface pcaps, pcapngs, each node alone, windows of 250, 20 and 1 ms', async () => {
    const big = writeThreeNodeCaptures(join(root, 'big'));
    const small = writeThreeNodeCaptures(join(root, 'small'), 0);
    const sets: [string, readonly string[]][] = [
      ['big pcaps', big.pcaps],
      ['big pcapngs', Object.values(big.pcapngs)],
      ['small pcaps', small.pcaps],
      ...(['n1', 'n2', 'n3'] as const).map((n): [string, readonly string[]] => [`big ${n}`, big.pcapsOf(n)]),
      ['n2+n3 reversed', [...big.pcapsOf('n3'), ...big.pcapsOf('n2')]],
    ];
    for (const [label, paths] of sets) {
      for (const windowMs of [250, 20, 1]) await check('three-node', `${label} ${windowMs} ms`, { inputs: paths.map(spec), keepTunnelHops: true, windowMs, keepPacketBytes: windowMs === 20 });
    }
    expect(tally.differences).toEqual([]);
    expect(expected.endGroup('three-node')).toEqual([]);
    expect(tally.samples).toBeGreaterThan(0);
    // What was compared, for the record.
    console.log(`native pipeline differential: ${tally.runs} replays, ${tally.candidates} vanish candidates (${tally.samples} with sample bytes), ${tally.departures} tunnel departures/arrivals, ${tally.flowRecords} interval flow records`);
  }, 300_000);

  it('on each big pcap alone, plain and gzipped: records walked in C across chunk boundaries as read one by one', async () => {
    const big = writeThreeNodeCaptures(join(root, 'walk'));
    let walked = 0;
    const original = NativeSightingPipeline.prototype.walkPcap;
    const walk = vi.spyOn(NativeSightingPipeline.prototype, 'walkPcap').mockImplementation(function (this: NativeSightingPipeline, ...args: Parameters<NativeSightingPipeline['walkPcap']>) {
      const r = original.apply(this, args);
      walked += r.progress.records;
      return r;
    });
    let records = 0;
    let counted = 0;
    try {
      for (const input of big.pcaps) {
        for (const path of [input, big.gzipped(input)]) {
          // Labelled without the temporary directory, which changes from run to run.
          await check('walk', `${path.split(root).join('<tmp>')} alone`, { inputs: [spec(path)], keepTunnelHops: true, windowMs: 20 });
          // Counted over one more native replay of the input alone.
          const before = walked;
          const result = await runReplay({ inputs: [spec(path)], windowMs: 20 });
          counted += walked - before;
          records += result.stats.records;
        }
      }
    } finally {
      walk.mockRestore();
    }
    expect(tally.differences).toEqual([]);
    expect(expected.endGroup('walk')).toEqual([]);
    // The walk took nearly every record; a gzip stream's chunks (16 KiB) cut records, which came one by one.
    expect(records).toBeGreaterThan(10_000);
    expect(counted).toBeGreaterThan(records * 0.9);
    expect(counted).toBeLessThan(records);
  }, 300_000);

  it('counts what does not fit its bounds apart from the findings, and takes everything when it fits', async () => {
    const run = async (openPackets: number, sightings: number): Promise<{ overflow: number; packets: number; sightings: number }> => {
      const registry = new InterfaceRegistry();
      const binding: CaptureBinding = { node: 'n', ifaceByCaptureInterface: [registry.interface('n', 'eth0').id], ifnameByIndex: new Map(), ifaceByIfindex: new Int32Array(0) };
      const p = new NativeSightingPipeline(registry, {}, { openPackets, sightings });
      let last = 0;
      for (const rel of listCaptureFixtures().filter((f) => f.startsWith('pcap/'))) {
        await forEachRecord(rel, (r) => {
          // One moment for every packet: all of them are open at once.
          r.tsSec = 1_700_000_000;
          r.tsNsec = 0;
          p.onRecord(r, binding);
          last++;
        });
      }
      const m = p.matchers[0];
      m?.expireAll(1_700_000_000_000 + 1000);
      const f = m?.takeFindings(0);
      const o = p.overflow;
      return { overflow: o.openPackets + o.sightings, packets: f?.counters.packets ?? 0, sightings: f?.counters.sightings ?? last };
    };
    const tight = await run(16, 16);
    const ample = await run(1 << 12, 1 << 12);
    expect(ample.overflow).toBe(0);
    expect(tight.overflow).toBeGreaterThan(0);
    // Every sighting is counted as such; a packet that found no room is in the overflow, not in packets.
    expect(tight.sightings).toBe(ample.sightings);
    expect(tight.packets + tight.overflow).toBeGreaterThanOrEqual(ample.packets);
    expect(tight.packets).toBeLessThanOrEqual(16);
  });
});
