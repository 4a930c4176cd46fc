/**
 * Stage 2's building blocks (issue 14): the native fingerprint hash index and packet bytes ring
 * (native/engine/hash_index.c, packet_bytes_ring.c) against agent/flow/hash-index.ts and
 * packet-bytes-ring.ts under the same random operations: every answer identical.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HashIndex } from '../../agent/flow/hash-index.js';
import { PacketBytesRing } from '../../agent/flow/packet-bytes-ring.js';
import { pipelineAddon } from './flow-table-support.js';
import { ExpectedAnswers, sha256 } from '../support/expected-answers.js';

const expected = new ExpectedAnswers('matcher-parts-differential', 'hash index and packet bytes ring under seeded operations: sha256 of every answer (and size or losses after it), in order, per fast-check run; inputSha256 of the run\'s operations', 'typescript');

function bytesAsArrays(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? Array.from(value) : value;
}

describe('native hash index == TypeScript HashIndex', () => {
  it('answers get/set/delete/size alike under random operations on 53-bit keys (with growth and clears)', () => {
    const key = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 0, max: 2000 }).map((k) => k * 4294967296 + 7));
    const op = fc.tuple(fc.constantFrom('set', 'set', 'delete', 'get', 'clear'), key, fc.integer({ min: 0, max: 2 ** 31 - 1 }));
    let compared = 0;
    let run = 0;
    const problems: string[] = [];
    fc.assert(
      fc.property(fc.array(op, { minLength: 20, maxLength: 800, size: 'max' }), fc.integer({ min: 1, max: 64 }), (ops, initial) => {
        const lines: string[] = [];
        const a = pipelineAddon();
        const ts = new HashIndex(initial);
        const native = a.createHashIndex(initial, 1 << 20);
        const keys = new Float64Array(1);
        for (const [kind, k, v] of ops) {
          keys[0] = k;
          let answer: string;
          if (kind === 'set') {
            ts.set(keys, 0, v);
            expect(a.hashIndexSet(native, k, v)).toBe(true);
            answer = 'ok';
          } else if (kind === 'delete') {
            const deleted = ts.delete(keys, 0);
            expect(a.hashIndexDelete(native, k)).toBe(deleted);
            answer = String(deleted);
          } else if (kind === 'clear') {
            ts.clear();
            a.hashIndexClear(native);
            answer = '-';
          } else {
            const value = ts.get(keys, 0);
            expect(a.hashIndexGet(native, k)).toBe(value);
            answer = String(value);
          }
          expect(a.hashIndexSize(native)).toBe(ts.size);
          lines.push(`${kind} ${k} ${v} -> ${answer} (${ts.size})`);
          compared++;
        }
        const problem = expected.check('hash-index-random', `random operations #${++run}`, { sha256: sha256(lines.join('\n')), inputSha256: sha256(JSON.stringify({ ops, initial })), counts: { operations: ops.length, size: ts.size } });
        if (problem !== undefined) problems.push(problem);
      }),
      { numRuns: 400, seed: 14 },
    );
    expect(problems.slice(0, 8)).toEqual([]);
    expect(expected.endGroup('hash-index-random')).toEqual([]);
    console.log(`hash index: ${compared} operations compared`);
  });

  it('keeps 200,000 fingerprints through growth and deletes like TypeScript, and refuses new keys past its bound', () => {
    const a = pipelineAddon();
    const ts = new HashIndex(4);
    const native = a.createHashIndex(4, 1 << 19);
    const keys = new Float64Array(1);
    let x = 12345;
    const fps: number[] = [];
    const answers = createHash('sha256');
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
        const deleted = ts.delete(keys, 0);
        expect(a.hashIndexDelete(native, keys[0])).toBe(deleted);
        answers.update(`delete ${keys[0]} ${deleted}\n`);
      }
    }
    let differ = 0;
    for (const fp of fps) {
      keys[0] = fp;
      const value = ts.get(keys, 0);
      if (a.hashIndexGet(native, fp) !== value) differ++;
      answers.update(`get ${fp} ${value}\n`);
    }
    expect(differ).toBe(0);
    expect(a.hashIndexSize(native)).toBe(ts.size);
    answers.update(`size ${ts.size}\n`);
    expect(expected.check('hash-index-200k', '200,000 fingerprints, every third deleting an earlier one', { sha256: answers.digest('hex'), counts: { keys: fps.length, size: ts.size } })).toBeUndefined();
    expect(expected.endGroup('hash-index-200k')).toEqual([]);
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
    let run = 0;
    const problems: string[] = [];
    fc.assert(
      fc.property(fc.array(fc.oneof(put, put, get), { minLength: 20, maxLength: 300, size: 'max' }), fc.integer({ min: 1, max: 33 }), fc.integer({ min: 0, max: 160 }), (ops, slots, slotBytes) => {
        const lines: string[] = [];
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
            lines.push(`put ${last}`);
          } else {
            const seq = op.back < 0 ? op.back : last - op.back;
            const want = ts.get(seq);
            const got = a.packetBytesGet(native, seq);
            expect(got === undefined ? undefined : { bytes: Array.from(got.bytes), origLen: got.origLen, linkType: got.linkType }).toEqual(
              want === undefined ? undefined : { bytes: Array.from(want.bytes), origLen: want.origLen, linkType: want.linkType },
            );
            expect(a.packetBytesOverwritten(native)).toBe(ts.overwritten);
            lines.push(`get ${seq} ${want === undefined ? 'gone' : JSON.stringify({ bytes: Array.from(want.bytes), origLen: want.origLen, linkType: want.linkType })} overwritten ${ts.overwritten}`);
          }
          compared++;
        }
        const problem = expected.check('packet-bytes-random', `random puts and gets #${++run}`, { sha256: sha256(lines.join('\n')), inputSha256: sha256(JSON.stringify({ ops, slots, slotBytes }, bytesAsArrays)), counts: { operations: ops.length, overwritten: ts.overwritten } });
        if (problem !== undefined) problems.push(problem);
      }),
      { numRuns: 400, seed: 14 },
    );
    expect(problems.slice(0, 8)).toEqual([]);
    expect(expected.endGroup('packet-bytes-random')).toEqual([]);
    console.log(`packet bytes ring: ${compared} operations compared`);
  });
});
