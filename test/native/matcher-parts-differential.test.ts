/**
 * Stage 2's building blocks (issue 14): the native fingerprint hash index and packet bytes ring
 * (native/engine/hash_index.c, packet_bytes_ring.c) give the answers of the TypeScript HashIndex and
 * PacketBytesRing they replaced, under the same seeded random operations (fast-check, seed 14): every
 * answer of a run (and the size or the losses after it) goes into the run's SHA-256, compared with
 * test/native/expected/matcher-parts-differential.json. Both are also held to a model as they go
 * (the hash index to a Map, the ring to the list of what was put), operation by operation.
 *
 * Those digests pin the TypeScript reference's answers as of commit 9d5b677, when both
 * implementations ran every operation here and agreed (by: typescript); each run's operations are
 * pinned by their own digest too, so a fast-check that generates differently from the seed is told
 * apart from an engine that answers differently. The properties never fail inside fast-check (a
 * failure would shrink, and the shrunk runs have no expected answers): differences are collected
 * and listed by run. To make a behaviour change on purpose: PATHWATCH_UPDATE_EXPECTED=1 npx vitest
 * run test/native/matcher-parts-differential.test.ts (refused under CI=true), and review the cases.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pipelineAddon } from './flow-table-support.js';
import { ExpectedAnswers, sha256 } from '../support/expected-answers.js';

const expected = new ExpectedAnswers('matcher-parts-differential', 'hash index and packet bytes ring under seeded operations: sha256 of every answer (and size or losses after it), in order, per fast-check run; inputSha256 of the run\'s operations');

function bytesAsArrays(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? Array.from(value) : value;
}

describe('the native hash index gives the TypeScript HashIndex\'s answers', () => {
  it('answers get/set/delete/size alike under random operations on 53-bit keys (with growth and clears)', () => {
    const key = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 0, max: 2000 }).map((k) => k * 4294967296 + 7));
    const op = fc.tuple(fc.constantFrom('set', 'set', 'delete', 'get', 'clear'), key, fc.integer({ min: 0, max: 2 ** 31 - 1 }));
    let compared = 0;
    let run = 0;
    const problems: string[] = [];
    fc.assert(
      fc.property(fc.array(op, { minLength: 20, maxLength: 800, size: 'max' }), fc.integer({ min: 1, max: 64 }), (ops, initial) => {
        const label = `random operations #${++run}`;
        const lines: string[] = [];
        const a = pipelineAddon();
        const native = a.createHashIndex(initial, 1 << 20);
        const model = new Map<number, number>();
        for (const [kind, k, v] of ops) {
          let answer: string;
          let modelAnswer: string;
          if (kind === 'set') {
            answer = a.hashIndexSet(native, k, v) ? 'ok' : 'refused';
            model.set(k, v);
            modelAnswer = 'ok';
          } else if (kind === 'delete') {
            answer = String(a.hashIndexDelete(native, k));
            modelAnswer = String(model.delete(k));
          } else if (kind === 'clear') {
            a.hashIndexClear(native);
            model.clear();
            answer = modelAnswer = '-';
          } else {
            answer = String(a.hashIndexGet(native, k));
            modelAnswer = String(model.get(k) ?? -1);
          }
          const size = a.hashIndexSize(native);
          if ((answer !== modelAnswer || size !== model.size) && problems.length < 20) problems.push(`${label}: ${kind} ${k} ${v} answered ${answer} (size ${size}), a Map ${modelAnswer} (size ${model.size})`);
          lines.push(`${kind} ${k} ${v} -> ${answer} (${size})`);
          compared++;
        }
        const problem = expected.check('hash-index-random', label, { sha256: sha256(lines.join('\n')), inputSha256: sha256(JSON.stringify({ ops, initial })), counts: { operations: ops.length, size: a.hashIndexSize(native) } });
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
    const native = a.createHashIndex(4, 1 << 19);
    const model = new Map<number, number>();
    let x = 12345;
    const fps: number[] = [];
    const answers = createHash('sha256');
    for (let i = 0; i < 200_000; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      // Not x * 0x9e3779b1 for the low word: with the index's own multiplier it cancels the high word's
      // contribution in the low bits and every key lands in one probe run (quadratic on both sides).
      const fp = (x & 0x1fffff) * 4294967296 + (Math.imul(x ^ (x >>> 13), 0x85ebca77) >>> 0);
      fps.push(fp);
      a.hashIndexSet(native, fp, i);
      model.set(fp, i);
      if (i % 3 === 0) {
        const old = fps[i >> 1] as number;
        const deleted = a.hashIndexDelete(native, old);
        expect(deleted).toBe(model.delete(old));
        answers.update(`delete ${old} ${deleted}\n`);
      }
    }
    let differ = 0;
    for (const fp of fps) {
      const value = a.hashIndexGet(native, fp);
      if (value !== (model.get(fp) ?? -1)) differ++;
      answers.update(`get ${fp} ${value}\n`);
    }
    expect(differ).toBe(0);
    const size = a.hashIndexSize(native);
    expect(size).toBe(model.size);
    answers.update(`size ${size}\n`);
    expect(expected.check('hash-index-200k', '200,000 fingerprints, every third deleting an earlier one', { sha256: answers.digest('hex'), counts: { keys: fps.length, size } })).toBeUndefined();
    expect(expected.endGroup('hash-index-200k')).toEqual([]);
    const bounded = a.createHashIndex(4, 64);
    for (let k = 0; k < 32; k++) expect(a.hashIndexSet(bounded, k, k)).toBe(true);
    expect(a.hashIndexSet(bounded, 99, 1)).toBe(false);
    expect(a.hashIndexSet(bounded, 5, 50)).toBe(true);
    expect(a.hashIndexGet(bounded, 5)).toBe(50);
  });
});

describe('the native packet bytes ring gives the TypeScript PacketBytesRing\'s answers', () => {
  it('returns the same bytes, lengths, link types and losses under random puts and gets', () => {
    const put = fc.record({ kind: fc.constant('put' as const), bytes: fc.uint8Array({ maxLength: 300 }), cut: fc.nat(320), origLen: fc.nat(70000), linkType: fc.constantFrom(1, 101, 113, 276, 0, 65535) });
    const get = fc.record({ kind: fc.constant('get' as const), back: fc.integer({ min: -3, max: 40 }) });
    let compared = 0;
    let run = 0;
    const problems: string[] = [];
    fc.assert(
      fc.property(fc.array(fc.oneof(put, put, get), { minLength: 20, maxLength: 300, size: 'max' }), fc.integer({ min: 1, max: 33 }), fc.integer({ min: 0, max: 160 }), (ops, slots, slotBytes) => {
        const label = `random puts and gets #${++run}`;
        const lines: string[] = [];
        const a = pipelineAddon();
        const native = a.createPacketBytesRing(slots, slotBytes);
        // The model: every packet put, as the ring should give it back; the ring holds the last
        // `slots` rounded up to a power of two, and counts each lookup of an older (or future) one.
        const model: { bytes: number[]; origLen: number; linkType: number }[] = [];
        let held = 1;
        while (held < slots) held *= 2;
        let lost = 0;
        let last = -1;
        for (const op of ops) {
          let answer: string;
          let modelAnswer: string;
          if (op.kind === 'put') {
            const offset = Math.min(op.cut % 17, op.bytes.length);
            const caplen = Math.min(op.cut, op.bytes.length - offset);
            last = a.packetBytesPut(native, op.bytes, offset, caplen, op.origLen, op.linkType);
            model.push({ bytes: Array.from(op.bytes.subarray(offset, offset + Math.min(caplen, slotBytes))), origLen: op.origLen, linkType: op.linkType });
            answer = `put ${last}`;
            modelAnswer = `put ${model.length - 1}`;
          } else {
            const seq = op.back < 0 ? op.back : last - op.back;
            const got = a.packetBytesGet(native, seq);
            const kept = seq >= 0 && seq < model.length && model.length - seq <= held ? model[seq] : undefined;
            if (seq >= 0 && kept === undefined) lost++;
            answer = `get ${seq} ${got === undefined ? 'gone' : JSON.stringify({ bytes: Array.from(got.bytes), origLen: got.origLen, linkType: got.linkType })} overwritten ${a.packetBytesOverwritten(native)}`;
            modelAnswer = `get ${seq} ${kept === undefined ? 'gone' : JSON.stringify(kept)} overwritten ${lost}`;
          }
          if (answer !== modelAnswer && problems.length < 20) problems.push(`${label} (ring of ${slots} x ${slotBytes} bytes): answered ${answer}, the model ${modelAnswer}`);
          lines.push(answer);
          compared++;
        }
        const problem = expected.check('packet-bytes-random', label, { sha256: sha256(lines.join('\n')), inputSha256: sha256(JSON.stringify({ ops, slots, slotBytes }, bytesAsArrays)), counts: { operations: ops.length, overwritten: a.packetBytesOverwritten(native) } });
        if (problem !== undefined) problems.push(problem);
      }),
      { numRuns: 400, seed: 14 },
    );
    expect(problems.slice(0, 8)).toEqual([]);
    expect(expected.endGroup('packet-bytes-random')).toEqual([]);
    console.log(`packet bytes ring: ${compared} operations compared`);
  });
});
