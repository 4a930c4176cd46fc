/**
 * Stage 1 of the native pipeline (issue 14): the native flow table (native/engine/flow_table.c,
 * encap_chains.c) against agent/flow/flow-table.ts on the same sightings: the decoded records of
 * every capture fixture, and synthetic ones with many flows, growth, recycling, overflow of the
 * table and of the chain table. Every add's slot and `created`, every setDirection/markOriginated
 * answer, every flush's records (fields, order, slots, chains) and the stats must be identical.
 */
import { describe, expect, it } from 'vitest';
import { DecodeStatus, PacketDecoder } from '../../agent/decode/packet-decoder.js';
import { PACKET_OUTGOING } from '../../agent/decode/linux-sll.js';
import { Sighting, SIGHTING_TS } from '../../agent/flow/sighting.js';
import { forEachRecord, listCaptureFixtures } from './engine-test-support.js';
import { FlowTablePair, registryWith, seeded } from './flow-table-support.js';
import { ExpectedAnswers } from '../support/expected-answers.js';

const IFACES = 8;

/** Feeds every decodable record of the fixtures to `pair`, flushing every `flushEvery` sightings and after each file. */
async function feedFixtures(pair: FlowTablePair, flushEvery: number): Promise<void> {
  const decoder = new PacketDecoder();
  const s = new Sighting();
  s.view = decoder.view;
  let since = 0;
  for (const rel of listCaptureFixtures()) {
    await forEachRecord(rel, (r) => {
      const status = decoder.decode(r.data, r.offset, r.caplen, r.linkType);
      const view = decoder.view;
      if (status === DecodeStatus.NotIp || status === DecodeStatus.UndecodedTunnel || view.ipVersion === 0) return;
      let dir = r.direction as number;
      if (dir === 0 && view.linuxPacketType >= 0) dir = view.linuxPacketType === PACKET_OUTGOING ? 2 : 1;
      s.ifaceId = (view.linuxIfindex >= 0 ? view.linuxIfindex : r.interfaceId) % IFACES;
      s.direction = dir;
      s.length = r.origlen;
      s.numbers[SIGHTING_TS] = r.tsSec * 1000 + r.tsNsec / 1e6;
      const slot = pair.add(s);
      if (slot >= 0 && dir === 0 && pair.adds % 3 === 0) pair.setDirection(slot, 1 + (pair.adds % 2));
      if (slot >= 0 && pair.adds % 7 === 0) pair.markOriginated(slot);
      if (++since === flushEvery) {
        pair.flush();
        since = 0;
      }
    });
    pair.flush();
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
function feedSynthetic(pair: FlowTablePair, o: SyntheticOptions): void {
  const rnd = seeded(o.seed);
  const int = (n: number): number => Math.floor(rnd() * n);
  const word = (): number => (rnd() * 4294967296) >>> 0;
  const s = new Sighting();
  const v = s.view;
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
    s.ifaceId = t % IFACES;
    s.direction = t % 3;
    s.length = 40 + int(1500);
    // Mostly forward in time, sometimes a little back (first/last are a min and a max).
    ts += rnd() < 0.1 ? -rnd() * 5 : rnd() * 3;
    s.numbers[SIGHTING_TS] = ts;
    const slot = pair.add(s);
    if (slot >= 0) recent[n % 64] = slot;
    if (rnd() < 0.02 && recent.length > 0) pair.setDirection(recent[int(recent.length)] ?? -1, int(3));
    if (rnd() < 0.01 && recent.length > 0) pair.markOriginated(recent[int(recent.length)] ?? -1);
    if (n % o.flushEvery === 0) pair.flush();
    void word;
  }
  pair.flush();
  pair.flush();
  pair.flush();
}

const expected = new ExpectedAnswers('flow-table-differential', 'sightings through a flow table: sha256 of every add\'s slot and created, setDirection/markOriginated answer, flush (records with slots and chains) and stats, in order, per case', 'typescript');

function expectSame(pair: FlowTablePair, group: string, label: string): void {
  expect(pair.diffs).toEqual([]);
  expect(expected.check(group, label, pair.answer())).toBeUndefined();
}

describe('native flow table == TypeScript FlowTable', () => {
  it('on every capture fixture, flushed after each file', async () => {
    const pair = new FlowTablePair(registryWith(IFACES));
    await feedFixtures(pair, Number.MAX_SAFE_INTEGER);
    expectSame(pair, 'fixtures', 'fixtures, flushed after each file');
    expect(expected.endGroup('fixtures')).toEqual([]);
    expect(pair.adds).toBeGreaterThan(500);
    console.log(`fixtures: ${pair.adds} sightings, ${pair.flushes} flushes, ${pair.records} records compared`);
  });

  it('on every capture fixture through a tiny table (growth from 2, recycling, overflow at 8)', async () => {
    const pair = new FlowTablePair(registryWith(IFACES), 2, 8);
    await feedFixtures(pair, 150);
    expectSame(pair, 'fixtures-tiny', 'fixtures, table of 2 to 8 slots, flushed every 150');
    expect(expected.endGroup('fixtures-tiny')).toEqual([]);
    expect(pair.ts.stats.overflowPackets).toBeGreaterThan(0);
    console.log(`fixtures, tiny table: ${pair.adds} sightings, ${pair.flushes} flushes, ${pair.records} records, ${pair.ts.stats.overflowPackets} overflow packets`);
  });

  it('on 400,000 synthetic sightings of 60,000 flows (IPv4/IPv6, chains of up to 4 layers), default bounds', () => {
    const pair = new FlowTablePair(registryWith(IFACES));
    feedSynthetic(pair, { seed: 1, sightings: 400_000, tuples: 60_000, layers: 40, encapShare: 0.3, flushEvery: 25_000 });
    expectSame(pair, 'synthetic', 'synthetic seed 1: 400,000 sightings of 60,000 flows');
    expect(expected.endGroup('synthetic')).toEqual([]);
    console.log(`synthetic: ${pair.adds} sightings, ${pair.flushes} flushes, ${pair.records} records, ${pair.ts.stats.flows} flows`);
  });

  it('recycles and overflows like TypeScript when flows outnumber maxFlows', () => {
    for (const [seed, max, tuples, every] of [
      [2, 64, 100, 150],
      [3, 256, 1000, 700],
      [4, 1024, 900, 5000],
      [5, 8, 9, 30],
    ] as const) {
      const pair = new FlowTablePair(registryWith(IFACES), 4, max);
      feedSynthetic(pair, { seed, sightings: 60_000, tuples, layers: 12, encapShare: 0.5, flushEvery: every });
      expectSame(pair, 'overflow', `synthetic seed ${seed}: maxFlows ${max}, ${tuples} flows, flushed every ${every}`);
      expect(pair.ts.stats.overflowPackets).toBeGreaterThan(0);
      console.log(`maxFlows ${max}: ${pair.adds} sightings, ${pair.flushes} flushes, ${pair.records} records, ${pair.ts.stats.overflowPackets} overflow packets`);
    }
    expect(expected.endGroup('overflow')).toEqual([]);
  });

  it('interns chains like TypeScript up to the chain table bound and counts its overflow', () => {
    const pair = new FlowTablePair(registryWith(IFACES));
    feedSynthetic(pair, { seed: 6, sightings: 90_000, tuples: 50, layers: 1_000_000, encapShare: 1, flushEvery: 10_000 });
    expectSame(pair, 'chains', 'synthetic seed 6: 90,000 sightings of 50 flows over a million layers');
    expect(expected.endGroup('chains')).toEqual([]);
    expect(pair.ts.chains.overflow).toBeGreaterThan(0);
    console.log(`chains: ${pair.adds} sightings, ${pair.records} records, chain overflow ${pair.ts.chains.overflow}`);
  });
});
