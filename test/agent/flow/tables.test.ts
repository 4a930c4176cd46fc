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
        // Keys travel in a Float64Array slot (never as a number argument: see hash-index.ts).
        const keys = new Float64Array(1);
        const at = (k: number): Float64Array => ((keys[0] = k), keys);
        for (const [kind, k, v] of ops) {
          if (kind === 'set') {
            index.set(at(k), 0, v);
            model.set(k, v);
          } else if (kind === 'delete') {
            expect(index.delete(at(k), 0)).toBe(model.delete(k));
          } else {
            expect(index.get(at(k), 0)).toBe(model.get(k) ?? -1);
          }
          expect(index.size).toBe(model.size);
        }
        for (const [k, v] of model) expect(index.get(at(k), 0)).toBe(v);
      }),
      { numRuns: 300 },
    );
  });
});

import { FlowTable } from '../../../agent/flow/flow-table.js';
import { InterfaceRegistry } from '../../../agent/flow/interface-registry.js';
import { Sighting, SIGHTING_TS } from '../../../agent/flow/sighting.js';

describe('FlowTable', () => {
  /** A sighting of a TCP packet on interface 0, arriving, at time `ts`. */
  function view(src: number, sport: number, ts = 0, length = 1): Sighting {
    const s = new Sighting();
    const v = s.view;
    v.ipVersion = 4;
    v.proto = 6;
    v.src[0] = src;
    v.dst[0] = 0x0a000001;
    v.sport = sport;
    v.dport = 80;
    s.ifaceId = 0;
    s.direction = 1;
    s.length = length;
    s.numbers[SIGHTING_TS] = ts;
    return s;
  }

  it('counts packets per flow and reports them once per interval', () => {
    const registry = new InterfaceRegistry();
    registry.interface('n', 'eth0');
    const table = new FlowTable(registry, 4);
    for (let i = 0; i < 1000; i++) table.add(view(0x0a000002 + (i % 10), 1000, i, 100));
    const records: { packets: number; src: string }[] = [];
    table.flush((r) => records.push(r));
    expect(records).toHaveLength(10);
    expect(records.every((r) => r.packets === 100)).toBe(true);
    expect(new Set(records.map((r) => r.src))).toEqual(new Set(Array.from({ length: 10 }, (_, i) => `10.0.0.${2 + i}`)));
  });

  it('stays within maxFlows: idle slots are reused, active overflow is counted, never grown past the bound', () => {
    const registry = new InterfaceRegistry();
    registry.interface('n', 'eth0');
    const table = new FlowTable(registry, 4, 64);
    for (let i = 0; i < 64; i++) expect(table.add(view(1, i))).toBeGreaterThanOrEqual(0);
    expect(table.add(view(1, 999))).toBe(-1);
    expect(table.stats.overflowPackets).toBe(1);
    table.flush(() => {});
    // After the flush every slot is idle (reported), so new flows reuse them.
    for (let i = 100; i < 164; i++) expect(table.add(view(2, i))).toBeGreaterThanOrEqual(0);
    expect(table.stats.overflowPackets).toBe(1);
  });
});
