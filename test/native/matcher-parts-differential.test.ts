/**
 * Stage 2's building blocks (issue 14): the native fingerprint hash index and packet bytes ring
 * (native/engine/hash_index.c, packet_bytes_ring.c) against agent/flow/hash-index.ts and
 * packet-bytes-ring.ts under the same random operations: every answer identical.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HashIndex } from '../../agent/flow/hash-index.js';
import { PacketBytesRing } from '../../agent/flow/packet-bytes-ring.js';
import { pipelineAddon } from './flow-table-support.js';

describe('native hash index == TypeScript HashIndex', () => {
  it('answers get/set/delete/size alike under random operations on 53-bit keys (with growth and clears)', () => {
    const key = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 0, max: 2000 }).map((k) => k * 4294967296 + 7));
    const op = fc.tuple(fc.constantFrom('set', 'set', 'delete', 'get', 'clear'), key, fc.integer({ min: 0, max: 2 ** 31 - 1 }));
    let compared = 0;
    fc.assert(
      fc.property(fc.array(op, { minLength: 20, maxLength: 800, size: 'max' }), fc.integer({ min: 1, max: 64 }), (ops, initial) => {
        const a = pipelineAddon();
        const ts = new HashIndex(initial);
        const native = a.createHashIndex(initial, 1 << 20);
        const keys = new Float64Array(1);
        for (const [kind, k, v] of ops) {
          keys[0] = k;
          if (kind === 'set') {
            ts.set(keys, 0, v);
            expect(a.hashIndexSet(native, k, v)).toBe(true);
          } else if (kind === 'delete') expect(a.hashIndexDelete(native, k)).toBe(ts.delete(keys, 0));
          else if (kind === 'clear') {
            ts.clear();
            a.hashIndexClear(native);
          } else expect(a.hashIndexGet(native, k)).toBe(ts.get(keys, 0));
          expect(a.hashIndexSize(native)).toBe(ts.size);
          compared++;
        }
      }),
      { numRuns: 400, seed: 14 },
    );
    console.log(`hash index: ${compared} operations compared`);
  });

  it('keeps 200,000 fingerprints through growth and deletes like TypeScript, and refuses new keys past its bound', () => {
    const a = pipelineAddon();
    const ts = new HashIndex(4);
    const native = a.createHashIndex(4, 1 << 19);
    const keys = new Float64Array(1);
    let x = 12345;
    const fps: number[] = [];
    for (let i = 0; i < 200_000; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      // Not x * 0x9e3779b1 for the low word: with the index's own multiplier it cancels the high word's
      // contribution in the low bits and every key lands in one probe run (quadratic on both sides).
      const fp = (x & 0x1fffff) * 4294967296 + (Math.imul(x ^ (x >>> 13), 0x85ebca77) >>> 0);
      fps.push(fp);
      keys[0] = fp;
      ts.set(keys, 0, i);
      a.hashIndexSet(native, fp, i);
      if (i % 3 === 0) {
        keys[0] = fps[i >> 1] as number;
        expect(a.hashIndexDelete(native, keys[0])).toBe(ts.delete(keys, 0));
      }
    }
    let differ = 0;
    for (const fp of fps) {
      keys[0] = fp;
      if (a.hashIndexGet(native, fp) !== ts.get(keys, 0)) differ++;
    }
    expect(differ).toBe(0);
    expect(a.hashIndexSize(native)).toBe(ts.size);
    const bounded = a.createHashIndex(4, 64);
    for (let k = 0; k < 32; k++) expect(a.hashIndexSet(bounded, k, k)).toBe(true);
    expect(a.hashIndexSet(bounded, 99, 1)).toBe(false);
    expect(a.hashIndexSet(bounded, 5, 50)).toBe(true);
    expect(a.hashIndexGet(bounded, 5)).toBe(50);
  });
});

describe('native packet bytes ring == TypeScript PacketBytesRing', () => {
  it('returns the same bytes, lengths, link types and losses under random puts and gets', () => {
    const put = fc.record({ kind: fc.constant('put' as const), bytes: fc.uint8Array({ maxLength: 300 }), cut: fc.nat(320), origLen: fc.nat(70000), linkType: fc.constantFrom(1, 101, 113, 276, 0, 65535) });
    const get = fc.record({ kind: fc.constant('get' as const), back: fc.integer({ min: -3, max: 40 }) });
    let compared = 0;
    fc.assert(
      fc.property(fc.array(fc.oneof(put, put, get), { minLength: 20, maxLength: 300, size: 'max' }), fc.integer({ min: 1, max: 33 }), fc.integer({ min: 0, max: 160 }), (ops, slots, slotBytes) => {
        const a = pipelineAddon();
        const ts = new PacketBytesRing({ slots, slotBytes });
        const native = a.createPacketBytesRing(slots, slotBytes);
        let last = -1;
        for (const op of ops) {
          if (op.kind === 'put') {
            const offset = Math.min(op.cut % 17, op.bytes.length);
            const caplen = Math.min(op.cut, op.bytes.length - offset);
            last = ts.put(op.bytes, offset, caplen, op.origLen, op.linkType);
            expect(a.packetBytesPut(native, op.bytes, offset, caplen, op.origLen, op.linkType)).toBe(last);
          } else {
            const seq = op.back < 0 ? op.back : last - op.back;
            const want = ts.get(seq);
            const got = a.packetBytesGet(native, seq);
            expect(got === undefined ? undefined : { bytes: Array.from(got.bytes), origLen: got.origLen, linkType: got.linkType }).toEqual(
              want === undefined ? undefined : { bytes: Array.from(want.bytes), origLen: want.origLen, linkType: want.linkType },
            );
            expect(a.packetBytesOverwritten(native)).toBe(ts.overwritten);
          }
          compared++;
        }
      }),
      { numRuns: 400, seed: 14 },
    );
    console.log(`packet bytes ring: ${compared} operations compared`);
  });
});
