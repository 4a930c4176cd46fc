import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HashIndex } from '../../../agent/flow/hash-index.js';

describe('HashIndex', () => {
  it('behaves like a Map under random set/delete/get of 53-bit keys', () => {
    const key = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
    const op = fc.tuple(fc.constantFrom('set', 'delete', 'get'), key, fc.integer({ min: 0, max: 1e6 }));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 600 }), (ops) => {
        const index = new HashIndex(4);
        const model = new Map<number, number>();
        for (const [kind, k, v] of ops) {
          if (kind === 'set') {
            index.set(k, v);
            model.set(k, v);
          } else if (kind === 'delete') {
            expect(index.delete(k)).toBe(model.delete(k));
          } else {
            expect(index.get(k)).toBe(model.get(k) ?? -1);
          }
          expect(index.size).toBe(model.size);
        }
        for (const [k, v] of model) expect(index.get(k)).toBe(v);
      }),
      { numRuns: 300 },
    );
  });
});
