/**
 * Chunk-boundary invariance: however the stream is cut, the parsers deliver exactly the same
 * interfaces, packets (id, timestamp, lengths, payload hash, direction, offset), warnings and errors
 * as when the whole file arrives in one chunk.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CollectingSink,
  fixtureFormat,
  listFixtures,
  parseBytes,
  readFixture,
} from './capture-test-helpers.js';

const fixtures = listFixtures();

interface Observed {
  interfaces: CollectingSink['interfaces'];
  packets: CollectingSink['packets'];
  warnings: string[];
  error: string | undefined;
}

function observe(bytes: Uint8Array, chunkSizes?: readonly number[]): Observed {
  const r = parseBytes(fixtureFormat(bytes), bytes, new CollectingSink(), chunkSizes);
  return { interfaces: r.sink.interfaces, packets: r.sink.packets, warnings: r.sink.warnings, error: r.error?.message };
}

const cache = new Map<string, { bytes: Uint8Array; whole: Observed }>();
function baseline(rel: string) {
  let c = cache.get(rel);
  if (c === undefined) {
    const bytes = readFixture(rel);
    c = { bytes, whole: observe(bytes) };
    cache.set(rel, c);
  }
  return c;
}

describe('chunking invariance', () => {
  it.each(fixtures)('%s: 1-byte chunks read the same as one chunk', (rel) => {
    const { bytes, whole } = baseline(rel);
    expect(observe(bytes, [1])).toEqual(whole);
  });

  it('random chunk sizes read the same as one chunk (all fixtures)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...fixtures),
        // Sizes cycle; the mix of tiny and large sizes puts boundaries inside headers, inside
        // data and exactly on record edges.
        fc.array(fc.oneof(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 5000 })), {
          minLength: 1,
          maxLength: 16,
        }),
        (rel, sizes) => {
          const { bytes, whole } = baseline(rel);
          expect(observe(bytes, sizes)).toEqual(whole);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('every two-chunk split of the multi-section pcapng fixture reads the same', () => {
    const { bytes, whole } = baseline('gopacket/le-test202.pcapng');
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(observe(bytes, [cut, bytes.length])).toEqual(whole);
    }
  });
});
