/**
 * Mutations of a packet for property tests of the decoders (TypeScript and native): bit flips,
 * absurd 16-bit values at any position, truncation and inserted garbage.
 */
import fc from 'fast-check';
import { concat } from './packet-builder.js';

export type Mutation =
  | { op: 'flip'; at: number; mask: number }
  | { op: 'set16'; at: number; value: number }
  | { op: 'truncate'; at: number }
  | { op: 'insert'; at: number; garbage: Uint8Array };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
  // Length, header-length, offset and next-header fields are 4, 8 or 16 bits: absurd 16-bit values
  // at any position hit all of them.
  fc.record({ op: fc.constant('set16' as const), at: fc.nat(), value: fc.constantFrom(0, 1, 4, 5, 8, 20, 0x0f, 0xf0, 0xff, 0x4f00, 0x6fff, 0x7fff, 0x8000, 0xfffe, 0xffff) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), garbage: fc.uint8Array({ minLength: 1, maxLength: 24 }) }),
);

export function mutate(src: Uint8Array, muts: readonly Mutation[]): Uint8Array {
  let b = src;
  for (const m of muts) {
    const at = b.length === 0 ? 0 : m.at % b.length;
    if (m.op === 'flip') {
      b = b.slice();
      if (b.length > 0) b[at] = (b[at] ?? 0) ^ m.mask;
    } else if (m.op === 'set16') {
      b = b.slice();
      if (at + 1 < b.length) {
        b[at] = m.value >> 8;
        b[at + 1] = m.value & 255;
      }
    } else if (m.op === 'truncate') {
      b = b.slice(0, at);
    } else {
      b = concat(b.subarray(0, at), m.garbage, b.subarray(at));
    }
  }
  return b;
}
