/**
 * The native decoder and fingerprint give the answers the TypeScript ones gave (frozen in
 * test/native/expected/decoder-answers.json) under mutation: for every link type, packets of every
 * kind the decoder walks (test/native/mutation-packets.ts) and every fixture record of that link
 * type, mutated as test/hardening/decoder-hardening.test.ts does (flips, absurd 16-bit values,
 * truncation, garbage inserted) and placed at a random offset inside a larger buffer of random bytes:
 * status, every view field, the events each decode added, fingerprint and weak flag, record by
 * record. Then fixture records read as other link types, arbitrary bytes on any link type, known or
 * not, other tunnel ports, and nesting far past every cap. fast-check draws the sets with fixed seeds
 * (test/support/decoder-answer-sets.ts), so every run checks the packets whose answers were frozen;
 * a changed generator shows as a changed input, not as a changed answer.
 *
 * A failure names the set and its first differing block of 25 records (single records for the built
 * and nested sets), with the block's first input and the engine's answer now. A behaviour change
 * that is meant: rewrite the expected answers from the engine, then review the diff set by set:
 *   PATHWATCH_UPDATE_EXPECTED=1 npx vitest run test/native/decoder-differential.test.ts test/native/decoder-mutation-differential.test.ts
 * (refused under CI=true).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  arbitraryBytesSet,
  builtPackets,
  builtPacketsSet,
  crossLinkTypeSet,
  linkTypeMutationSet,
  nestedPastCapsSet,
  otherTunnelPortsSet,
  RUNS_PER_LINK_TYPE,
} from '../support/decoder-answer-sets.js';
import { engineAnswers, ExpectedDecoderAnswers, type ComputedSet } from '../support/decoder-answers.js';
import { DecodeStatus, EngineDecoder } from '../support/engine-decoder.js';
import { allFixtureRecords, type RecordCopy } from './engine-test-support.js';
import { LINK_TYPES } from './mutation-packets.js';

const expected = new ExpectedDecoderAnswers();

let fixtures: RecordCopy[] = [];
beforeAll(async () => {
  fixtures = await allFixtureRecords();
});

/** The group's sets are the frozen ones; the message lists every set that differs. */
function expectFrozenAnswers(group: string, sets: readonly ComputedSet[]): void {
  const problems = expected.check(group, sets);
  expect(problems, problems.join('\n\n')).toEqual([]);
}

describe('the native decoder gives the frozen answers of the TypeScript decoder under mutation', () => {
  it('starts from valid packets: every built packet decodes (Ok, or a tunnel named undecoded on purpose) on every link type, as frozen', () => {
    expectFrozenAnswers('mutation/built', [builtPacketsSet(engineAnswers)]);
    const alone = new EngineDecoder();
    for (const b of builtPackets()) {
      const status = alone.decode(b.frame, 0, b.frame.length, b.linkType);
      expect([DecodeStatus.Ok, DecodeStatus.UndecodedTunnel], `link type ${b.linkType}: ${Buffer.from(b.ip).toString('hex')}`).toContain(status);
    }
  });

  for (const lt of LINK_TYPES) {
    it(`link type ${lt}: ${RUNS_PER_LINK_TYPE} mutated packets (built and from the fixtures) decode as frozen`, () => {
      const r = linkTypeMutationSet(engineAnswers, lt, fixtures);
      console.log(`link type ${lt}: ${r.set.records} mutated packets checked (${r.builtSeeds} built and ${r.fixtureSeeds} fixture seeds)`);
      expectFrozenAnswers(`mutation/link-type-${lt}`, [r.set]);
      expect(r.set.records).toBe(RUNS_PER_LINK_TYPE);
    });
  }

  it('fixture records of one link type read as every other link type, mutated', () => {
    expectFrozenAnswers('mutation/fixtures-as-other-link-types', [crossLinkTypeSet(engineAnswers, fixtures)]);
  });

  it('arbitrary bytes at any position of a larger buffer, on every link type and unknown ones', () => {
    expectFrozenAnswers('mutation/arbitrary-bytes', [arbitraryBytesSet(engineAnswers)]);
  });

  it('with other tunnel ports (VXLAN on 53 and 0, Geneve on 4789)', () => {
    expectFrozenAnswers('mutation/other-tunnel-ports', [otherTunnelPortsSet(engineAnswers)]);
  });

  it('tunnels, tags and extension headers nested past every cap (depth 4, 8 tags, 8 headers, 32 layers)', () => {
    const set = nestedPastCapsSet(engineAnswers);
    expectFrozenAnswers('mutation/nested-past-caps', [set]);
    expect(set.records).toBeGreaterThan(500);
  });
});
