/**
 * Hostile input: random bytes and mutated fixtures (truncated, bytes flipped, length fields set to
 * absurd values, garbage inserted) fed in random chunks. push() and end() may only ever throw
 * CaptureFormatError, must return (every parsed unit consumes at least 12 bytes, so the loops are
 * bounded by the input), and must never hand out a record pointing outside its buffer.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCaptureParser } from '../../../agent/capture/capture-format.js';
import { CaptureFormatError } from '../../../agent/capture/capture-record.js';
import { CountingSink, fixtureFormat, listFixtures, readFixture } from './capture-test-helpers.js';

const fixtures = listFixtures();
const fixtureBytes = new Map(fixtures.map((f) => [f, readFixture(f)]));

/** Runs a parser over the input; returns what was thrown (undefined if nothing). */
function run(format: 'pcap' | 'pcapng', input: Uint8Array, sizes: readonly number[]) {
  const sink = new CountingSink();
  const parser = createCaptureParser(format, sink);
  let thrown: unknown;
  try {
    let pos = 0;
    for (let i = 0; pos < input.length; i++) {
      const n = sizes[i % sizes.length]!;
      parser.push(input.subarray(pos, pos + n));
      pos += n;
    }
    parser.end();
  } catch (e) {
    thrown = e;
  }
  return { sink, thrown };
}

function checkOutcome(input: Uint8Array, outcome: ReturnType<typeof run>): void {
  const { sink, thrown } = outcome;
  if (thrown !== undefined) {
    expect(thrown).toBeInstanceOf(CaptureFormatError);
    const e = thrown as CaptureFormatError;
    expect(e.byteOffset).toBeGreaterThanOrEqual(0);
    expect(e.byteOffset).toBeLessThanOrEqual(input.length);
  }
  // The smallest packet unit is a 12-byte pcapng block or a 16-byte pcap record.
  expect(sink.packets).toBeLessThanOrEqual(Math.floor(input.length / 12));
}

const chunkSizes = fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 8 });

// Valid headers make random tails reach the record/block parsers instead of failing at the magic.
const PCAP_HEADERS = [
  [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0],
  [0xa1, 0xb2, 0x3c, 0x4d, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 1],
];
const PCAPNG_HEADERS = [
  [0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 28, 0, 0, 0],
  [0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 28, 0x1a, 0x2b, 0x3c, 0x4d, 0, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 28],
  // SHB + IDB, so that random EPB-like blocks find an interface
  [
    0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 28, 0, 0, 0,
    1, 0, 0, 0, 20, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0,
  ],
];

describe('random input', () => {
  it('pcap and pcapng parsers throw nothing but CaptureFormatError on random bytes', () => {
    const prefix = fc.constantFrom<number[]>([], ...PCAP_HEADERS, ...PCAPNG_HEADERS);
    fc.assert(
      fc.property(prefix, fc.uint8Array({ maxLength: 3000 }), chunkSizes, (head, tail, sizes) => {
        const input = new Uint8Array([...head, ...tail]);
        checkOutcome(input, run('pcap', input, sizes));
        checkOutcome(input, run('pcapng', input, sizes));
      }),
      { numRuns: 300 },
    );
  });

  it('random pcapng blocks with plausible framing (lengths multiple of 4, matching trailers)', () => {
    const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
    const block = fc
      .tuple(
        fc.constantFrom(1, 2, 3, 4, 5, 6, 0x0a0d0d0a, 0xbad, 0x40000bad, 0x12345678),
        fc.integer({ min: 0, max: 60 }).map((n) => n * 4),
        fc.uint8Array({ maxLength: 240 }),
      )
      .map(([type, bodyLen, seed]) => {
        const body = Array.from({ length: bodyLen }, (_, i) => seed[i % Math.max(1, seed.length)] ?? 0);
        const len = 12 + bodyLen;
        return [...le32(type), ...le32(len), ...body, ...le32(len)];
      });
    fc.assert(
      fc.property(fc.array(block, { maxLength: 12 }), chunkSizes, (blocks, sizes) => {
        const input = new Uint8Array([...PCAPNG_HEADERS[2]!, ...blocks.flat()]);
        checkOutcome(input, run('pcapng', input, sizes));
      }),
      { numRuns: 300 },
    );
  });
});

type Mutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; at: number; mask: number }
  | { kind: 'absurd'; at: number; value: number }
  | { kind: 'insert'; at: number; garbage: Uint8Array };

/**
 * Positions are taken modulo the current length so every mutation lands inside the file. (A
 * fraction from fc.double would be biased towards 0 and mostly hit the magic number.)
 */
const position = fc.integer({ min: 0, max: 0x7fffffff });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: position }),
  fc.record({ kind: fc.constant('flip' as const), at: position, mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({
    kind: fc.constant('absurd' as const),
    at: position,
    value: fc.constantFrom(0, 1, 3, 11, 13, 0xff, 0xfffc, 0x00ffffff, 0x01000000, 0x01010000, 0x7fffffff, 0x80000000, 0xfffffffc, 0xffffffff),
  }),
  fc.record({ kind: fc.constant('insert' as const), at: position, garbage: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
);

function mutate(src: Uint8Array, muts: readonly Mutation[]): Uint8Array {
  let b = src.slice();
  for (const m of muts) {
    const at = m.at % (b.length + 1);
    switch (m.kind) {
      case 'truncate':
        b = b.slice(0, at);
        break;
      case 'flip':
        if (at < b.length) b[at] = b[at]! ^ m.mask;
        break;
      case 'absurd': {
        // Written in both byte orders' worth of positions: the 4 bytes at `at`, little-endian.
        for (let i = 0; i < 4 && at + i < b.length; i++) b[at + i] = (m.value >>> (8 * i)) & 0xff;
        break;
      }
      case 'insert': {
        const n = new Uint8Array(b.length + m.garbage.length);
        n.set(b.subarray(0, at), 0);
        n.set(m.garbage, at);
        n.set(b.subarray(at), at + m.garbage.length);
        b = n;
        break;
      }
    }
  }
  return b;
}

describe('mutated fixtures', () => {
  it('truncated, flipped, absurd-length and garbage-inserted fixtures only ever raise CaptureFormatError', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...fixtures),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        chunkSizes,
        (rel, muts, sizes) => {
          const original = fixtureBytes.get(rel)!;
          const input = mutate(original, muts);
          // Use the parser the original's magic selects, even when the mutation broke the magic.
          checkOutcome(input, run(fixtureFormat(original), input, sizes));
        },
      ),
      { numRuns: 300 },
    );
  });

  it.each(fixtures)('%s: every truncation length is a warning or a format error, never a crash', (rel) => {
    const original = fixtureBytes.get(rel)!;
    const format = fixtureFormat(original);
    // Every cut for small files; for larger ones a spread of cuts including the first 64 bytes.
    const step = original.length <= 2048 ? 1 : Math.ceil(original.length / 512);
    for (let cut = 0; cut <= original.length; cut += cut < 64 ? 1 : step) {
      const input = original.subarray(0, cut);
      checkOutcome(input, run(format, input, [input.length || 1]));
    }
  });
});
