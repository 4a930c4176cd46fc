/**
 * Stage 1 of the native pipeline (issue 14): the native flow table (native/engine/flow_table.c,
 * encap_chains.c) gives the answers of the TypeScript FlowTable it replaced, on the same sightings:
 * the decoded records of every capture fixture, and synthetic ones with many flows, growth,
 * recycling, overflow of the table and of the chain table. Every add's slot and `created`, every
 * setDirection/markOriginated answer, every flush's records (fields, order, slots, chains) and the
 * stats after it are hashed per case (flow-table-support.ts) and compared with
 * test/native/expected/flow-table-differential.json.
 *
 * Those digests pin the TypeScript reference's answers as of commit 9d5b677, when both
 * implementations ran every case here and agreed (by: typescript). A change of the engine's
 * behaviour fails the case it touches, by label. To make a behaviour change on purpose:
 * PATHWATCH_UPDATE_EXPECTED=1 npx vitest run test/native/flow-table-differential.test.ts (refused
 * under CI=true; see test/support/expected-answers.ts), and review the rewritten cases.
 */
import { describe, expect, it } from 'vitest';
import { DecodeStatus } from '../support/engine-decoder.js';
import { engine, forEachRecord, listCaptureFixtures } from './engine-test-support.js';
import { FlowTableRun, registryWith, seeded, SyntheticView } from './flow-table-support.js';
import { ExpectedAnswers } from '../support/expected-answers.js';

const IFACES = 8;
/** The Linux packet type of a packet the host sent (linux/if_packet.h's PACKET_OUTGOING). */
const PACKET_OUTGOING = 4;

/** Feeds every decodable record of the fixtures to `run`, flushing every `flushEvery` sightings and after each file. */
async function feedFixtures(run: FlowTableRun, flushEvery: number): Promise<void> {
  const decoder = engine().createDecoder();
  let since = 0;
  for (const rel of listCaptureFixtures()) {
    await forEachRecord(rel, (r) => {
      const { status, view } = engine().decodeForTest(decoder, r.data, r.offset, r.caplen, r.linkType);
      if (status === DecodeStatus.NotIp || status === DecodeStatus.UndecodedTunnel || view.ipVersion === 0) return;
      let dir = r.direction as number;
      if (dir === 0 && view.linuxPacketType >= 0) dir = view.linuxPacketType === PACKET_OUTGOING ? 2 : 1;
      const iface = (view.linuxIfindex >= 0 ? view.linuxIfindex : r.interfaceId) % IFACES;
      const slot = run.add(view, iface, dir, r.origlen, r.tsSec * 1000 + r.tsNsec / 1e6);
      if (slot >= 0 && dir === 0 && run.adds % 3 === 0) run.setDirection(slot, 1 + (run.adds % 2));
      if (slot >= 0 && run.adds % 7 === 0) run.markOriginated(slot);
      if (++since === flushEvery) {
        run.flush();
        since = 0;
      }
    });
    run.flush();
  }
}

interface SyntheticOptions {
  readonly seed: number;
  readonly sightings: number;
  /** Distinct inner (src, dst, ports) tuples to draw from. */
  readonly tuples: number;
  /** Distinct encapsulation layers to draw chains from. */
  readonly layers: number;
  readonly encapShare: number;
  readonly flushEvery: number;
}

/** Random sightings over a bounded set of flows, with flushes, late directions and originated marks. */
function feedSynthetic(run: FlowTableRun, o: SyntheticOptions): void {
  const rnd = seeded(o.seed);
  const int = (n: number): number => Math.floor(rnd() * n);
  // One view for every sighting, as a decoder has: layers past the depth keep what was there.
  const v = new SyntheticView();
  const PROTOS = [6, 17, 1, 58, 47, -1];
  let ts = 1_700_000_000_000;
  const recent: number[] = [];
  for (let n = 1; n <= o.sightings; n++) {
    const t = int(o.tuples);
    const r2 = seeded(t + 1);
    const w = (): number => (r2() * 4294967296) >>> 0;
    v.ipVersion = t % 5 === 0 ? 6 : 4;
    v.proto = PROTOS[t % PROTOS.length] as number;
    for (let i = 0; i < 4; i++) {
      v.src[i] = v.ipVersion === 4 && i > 0 ? 0 : w();
      v.dst[i] = v.ipVersion === 4 && i > 0 ? 0 : w();
    }
    v.sport = w() & 0xffff;
    v.dport = t % 4 === 0 ? 0 : w() & 0xffff;
    v.encapDepth = rnd() < o.encapShare ? 1 + int(4) : 0;
    for (let l = 0; l < v.encapDepth; l++) {
      const layer = int(o.layers);
      const r3 = seeded(layer + 1_000_003);
      const w3 = (): number => (r3() * 4294967296) >>> 0;
      v.encapKind[l] = 1 + (layer % 5);
      v.encapOuterVersion[l] = layer % 7 === 0 ? 6 : 4;
      v.encapVni[l] = layer % 3 === 0 ? -1 : w3() & 0xffffff;
      for (let i = 0; i < 4; i++) {
        v.encapOuterSrc[l * 4 + i] = v.encapOuterVersion[l] === 4 && i > 0 ? 0 : w3();
        v.encapOuterDst[l * 4 + i] = v.encapOuterVersion[l] === 4 && i > 0 ? 0 : w3();
      }
    }
    const length = 40 + int(1500);
    // Mostly forward in time, sometimes a little back (first/last are a min and a max).
    ts += rnd() < 0.1 ? -rnd() * 5 : rnd() * 3;
    const slot = run.add(v, t % IFACES, t % 3, length, ts);
    if (slot >= 0) recent[n % 64] = slot;
    if (rnd() < 0.02 && recent.length > 0) run.setDirection(recent[int(recent.length)] ?? -1, int(3));
    if (rnd() < 0.01 && recent.length > 0) run.markOriginated(recent[int(recent.length)] ?? -1);
    if (n % o.flushEvery === 0) run.flush();
  }
  run.flush();
  run.flush();
  run.flush();
}

const expected = new ExpectedAnswers('flow-table-differential', 'sightings through a flow table: sha256 of every add\'s slot and created, setDirection/markOriginated answer, flush (records with slots and chains) and stats, in order, per case');

/** The case's answers are the frozen ones (the failure names the case and the counts that moved). */
function expectFrozen(run: FlowTableRun, group: string, label: string): void {
  expect(expected.check(group, label, run.answer())).toBeUndefined();
}

describe('the native flow table gives the TypeScript FlowTable\'s answers', () => {
  it('on every capture fixture, flushed after each file', async () => {
    const run = new FlowTableRun(registryWith(IFACES));
    await feedFixtures(run, Number.MAX_SAFE_INTEGER);
    expectFrozen(run, 'fixtures', 'fixtures, flushed after each file');
    expect(expected.endGroup('fixtures')).toEqual([]);
    expect(run.adds).toBeGreaterThan(500);
    console.log(`fixtures: ${run.adds} sightings, ${run.flushes} flushes, ${run.records} records compared`);
  });

  it('on every capture fixture through a tiny table (growth from 2, recycling, overflow at 8)', async () => {
    const run = new FlowTableRun(registryWith(IFACES), 2, 8);
    await feedFixtures(run, 150);
    expectFrozen(run, 'fixtures-tiny', 'fixtures, table of 2 to 8 slots, flushed every 150');
    expect(expected.endGroup('fixtures-tiny')).toEqual([]);
    expect(run.stats().overflowPackets).toBeGreaterThan(0);
    console.log(`fixtures, tiny table: ${run.adds} sightings, ${run.flushes} flushes, ${run.records} records, ${run.stats().overflowPackets} overflow packets`);
  });

  it('on 400,000 synthetic sightings of 60,000 flows (IPv4/IPv6, chains of up to 4 layers), default bounds', () => {
    const run = new FlowTableRun(registryWith(IFACES));
    feedSynthetic(run, { seed: 1, sightings: 400_000, tuples: 60_000, layers: 40, encapShare: 0.3, flushEvery: 25_000 });
    expectFrozen(run, 'synthetic', 'synthetic seed 1: 400,000 sightings of 60,000 flows');
    expect(expected.endGroup('synthetic')).toEqual([]);
    console.log(`synthetic: ${run.adds} sightings, ${run.flushes} flushes, ${run.records} records, ${run.stats().flows} flows`);
  });

  it('recycles and overflows like TypeScript when flows outnumber maxFlows', () => {
    for (const [seed, max, tuples, every] of [
      [2, 64, 100, 150],
      [3, 256, 1000, 700],
      [4, 1024, 900, 5000],
      [5, 8, 9, 30],
    ] as const) {
      const run = new FlowTableRun(registryWith(IFACES), 4, max);
      feedSynthetic(run, { seed, sightings: 60_000, tuples, layers: 12, encapShare: 0.5, flushEvery: every });
      expectFrozen(run, 'overflow', `synthetic seed ${seed}: maxFlows ${max}, ${tuples} flows, flushed every ${every}`);
      expect(run.stats().overflowPackets).toBeGreaterThan(0);
      console.log(`maxFlows ${max}: ${run.adds} sightings, ${run.flushes} flushes, ${run.records} records, ${run.stats().overflowPackets} overflow packets`);
    }
    expect(expected.endGroup('overflow')).toEqual([]);
  });

  it('interns chains like TypeScript up to the chain table bound and counts its overflow', () => {
    const run = new FlowTableRun(registryWith(IFACES));
    feedSynthetic(run, { seed: 6, sightings: 90_000, tuples: 50, layers: 1_000_000, encapShare: 1, flushEvery: 10_000 });
    expectFrozen(run, 'chains', 'synthetic seed 6: 90,000 sightings of 50 flows over a million layers');
    expect(expected.endGroup('chains')).toEqual([]);
    expect(run.stats().chainOverflow).toBeGreaterThan(0);
    console.log(`chains: ${run.adds} sightings, ${run.records} records, chain overflow ${run.stats().chainOverflow}`);
  });
});
