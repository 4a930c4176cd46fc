/**
 * One-off: freezes the TypeScript decoder's answers (agent/decode, agent/flow/fingerprint.ts) into
 * test/native/expected/decoder-answers.json, before those modules are deleted. Every set of
 * test/support/decoder-answer-sets.ts is decoded by the TypeScript decoder and by the native engine;
 * a set is written only when both give the same answers record for record (same digests), with
 * `by: "typescript"`. Runs only with PATHWATCH_FREEZE_TS_ANSWERS=1; deleted in the commit after the
 * one that adds it (it imports the TypeScript decoder), so it stays in the history as the answers'
 * provenance: check out that commit and run it to make them again.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { PacketDecoder } from '../../agent/decode/packet-decoder.js';
import { PacketView } from '../../agent/decode/packet-view.js';
import { fingerprintIsWeak, packetFingerprint } from '../../agent/flow/fingerprint.js';
import type { NativePacketView } from '../../agent/native/engine-native.js';
import { allFixtureRecords, type RecordCopy } from '../native/engine-test-support.js';
import { LINK_TYPES } from '../native/mutation-packets.js';
import {
  arbitraryBytesSet,
  builtPacketsSet,
  crossLinkTypeSet,
  fixtureSets,
  generatedCaptureSet,
  linkTypeMutationSet,
  nestedPastCapsSet,
  numberEdgeSet,
  OTHER_TUNNEL_PORTS,
  otherTunnelPortsSet,
} from './decoder-answer-sets.js';
import { engineAnswers, ExpectedDecoderAnswers, type AnsweringDecoderFactory, type ComputedSet } from './decoder-answers.js';
import { DEFAULT_TUNNEL_PORTS, VIEW_FIELD_NAMES } from './engine-decoder.js';

const FREEZING = process.env.PATHWATCH_FREEZE_TS_ANSWERS === '1';

/** The TypeScript decoder and fingerprint as an answering decoder. */
const typescriptAnswers: AnsweringDecoderFactory = (tunnelPorts) => {
  const dec = tunnelPorts === undefined ? new PacketDecoder() : new PacketDecoder({ tunnelPorts: { vxlanPorts: [...tunnelPorts.vxlanPorts], genevePorts: [...tunnelPorts.genevePorts] } });
  return {
    answer(data, offset, length, linkType) {
      const status = dec.decode(data, offset, length, linkType);
      const view = dec.view as unknown as Record<keyof NativePacketView, number | ArrayLike<number>>;
      return { status, view, events: dec.events.counts, fingerprint: packetFingerprint(dec.view, data), weak: fingerprintIsWeak(dec.view) };
    },
  };
};

/** Sets in the same order with the same answers and inputs, or the first that differs. */
function sameAnswers(ts: readonly ComputedSet[], native: readonly ComputedSet[]): string[] {
  const out: string[] = [];
  if (ts.length !== native.length) out.push(`${ts.length} TypeScript sets, ${native.length} native`);
  ts.forEach((t, i) => {
    const n = native[i];
    if (n === undefined || n.name !== t.name || n.sha256 !== t.sha256 || n.inputSha256 !== t.inputSha256 || n.blocks !== t.blocks) out.push(`${t.name}: TypeScript and native differ`);
  });
  return out;
}

describe.runIf(FREEZING)('freeze the TypeScript decoder answers', () => {
  const expected = new ExpectedDecoderAnswers('typescript', undefined, true);
  let fixtures: RecordCopy[] = [];
  let total = 0;
  beforeAll(async () => {
    fixtures = await allFixtureRecords();
  });

  /** Computes a group both ways; writes the TypeScript answers when they agree. */
  async function freeze(group: string, make: (factory: AnsweringDecoderFactory) => ComputedSet[] | Promise<ComputedSet[]>): Promise<void> {
    const ts = await make(typescriptAnswers);
    const native = await make(engineAnswers);
    expect(sameAnswers(ts, native)).toEqual([]);
    expect(expected.check(group, ts)).toEqual([]);
    const records = ts.reduce((n, s) => n + s.records, 0);
    total += records;
    console.log(`${group}: ${ts.length} sets, ${records} records, TypeScript = native, frozen (${total} records so far)`);
  }

  it("the view's field order is PacketView's", () => {
    expect(Object.keys(new PacketView())).toEqual(VIEW_FIELD_NAMES);
  });

  it('fixtures', async () => {
    await freeze('fixtures/default-ports', async (f) => (await fixtureSets(f, DEFAULT_TUNNEL_PORTS, 'default-ports')).sets);
    await freeze('fixtures/other-ports', async (f) => (await fixtureSets(f, OTHER_TUNNEL_PORTS, 'other-ports')).sets);
  });

  it('generated capture and number edges', async () => {
    await freeze('generated', (f) => [generatedCaptureSet(f)]);
    await freeze('edges', (f) => [numberEdgeSet(f)]);
  });

  it('mutation sets', async () => {
    await freeze('mutation/built', (f) => [builtPacketsSet(f)]);
    for (const lt of LINK_TYPES) await freeze(`mutation/link-type-${lt}`, (f) => [linkTypeMutationSet(f, lt, fixtures).set]);
    await freeze('mutation/fixtures-as-other-link-types', (f) => [crossLinkTypeSet(f, fixtures)]);
    await freeze('mutation/arbitrary-bytes', (f) => [arbitraryBytesSet(f)]);
    await freeze('mutation/other-tunnel-ports', (f) => [otherTunnelPortsSet(f)]);
    await freeze('mutation/nested-past-caps', (f) => [nestedPastCapsSet(f)]);
  });
});
