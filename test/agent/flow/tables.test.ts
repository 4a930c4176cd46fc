/**
 * The engine's tables on their own, through the addon's raw exports (agent/native/pipeline-native.ts):
 * the fingerprint hash index (native/engine/hash_index.c) behaves like a Map, and the flow table
 * (flow_table.c) counts packets per flow, reports them once per interval and stays within its bound.
 * These were the TypeScript HashIndex's and FlowTable's tests; the engine replaced both.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InterfaceRegistry } from '../../../agent/flow/interface-registry.js';
import { forEachFlowRecord } from '../../../agent/native/flow-records-native.js';
import { nativeAddon } from '../../../agent/native/native-addon.js';
import { PACKED_VIEW_WORDS, type NativeFlowTable, type NativePipelineExports } from '../../../agent/native/pipeline-native.js';
import type { FlowRecord } from '../../../core/findings/flow-record.js';
import { packView, SyntheticView } from '../../native/flow-table-support.js';

const addon = (): NativePipelineExports => nativeAddon();

describe('hash index', () => {
  it('behaves like a Map under random set/delete/get of 53-bit keys', () => {
    const key = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
    const op = fc.tuple(fc.constantFrom('set', 'delete', 'get'), key, fc.integer({ min: 0, max: 1e6 }));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 600 }), (ops) => {
        const a = addon();
        // Room for every key a run can set (600), so no set is refused: the bound is tested in matcher-parts.
        const index = a.createHashIndex(4, 1 << 12);
        const model = new Map<number, number>();
        for (const [kind, k, v] of ops) {
          if (kind === 'set') {
            expect(a.hashIndexSet(index, k, v)).toBe(true);
            model.set(k, v);
          } else if (kind === 'delete') {
            expect(a.hashIndexDelete(index, k)).toBe(model.delete(k));
          } else {
            expect(a.hashIndexGet(index, k)).toBe(model.get(k) ?? -1);
          }
          expect(a.hashIndexSize(index)).toBe(model.size);
        }
        for (const [k, v] of model) expect(a.hashIndexGet(index, k)).toBe(v);
      }),
      { numRuns: 300 },
    );
  });
});

describe('flow table', () => {
  const view = new SyntheticView();
  const packed = new Uint32Array(PACKED_VIEW_WORDS);

  /** Adds a TCP packet from `src`:`sport` to 10.0.0.1:80 on interface 0, arriving, at time `ts`. */
  function add(table: NativeFlowTable, src: number, sport: number, ts = 0, length = 1): number {
    view.ipVersion = 4;
    view.proto = 6;
    view.src[0] = src;
    view.dst[0] = 0x0a000001;
    view.sport = sport;
    view.dport = 80;
    return addon().flowTableAdd(table, packView(view, packed), 0, 1, length, ts);
  }

  function flush(table: NativeFlowTable, registry: InterfaceRegistry): FlowRecord[] {
    const records: FlowRecord[] = [];
    forEachFlowRecord(addon().flowTableFlush(table), registry, (r) => records.push(r));
    return records;
  }

  it('counts packets per flow and reports them once per interval', () => {
    const registry = new InterfaceRegistry();
    registry.interface('n', 'eth0');
    const table = addon().createFlowTable(4, 1 << 18);
    for (let i = 0; i < 1000; i++) add(table, 0x0a000002 + (i % 10), 1000, i, 100);
    const records = flush(table, registry);
    expect(records).toHaveLength(10);
    expect(records.every((r) => r.packets === 100)).toBe(true);
    expect(new Set(records.map((r) => r.src))).toEqual(new Set(Array.from({ length: 10 }, (_, i) => `10.0.0.${2 + i}`)));
  });

  it('stays within maxFlows: idle slots are reused, active overflow is counted, never grown past the bound', () => {
    const registry = new InterfaceRegistry();
    registry.interface('n', 'eth0');
    const table = addon().createFlowTable(4, 64);
    for (let i = 0; i < 64; i++) expect(add(table, 1, i)).toBeGreaterThanOrEqual(0);
    expect(add(table, 1, 999)).toBe(-1);
    expect(addon().flowTableStats(table).overflowPackets).toBe(1);
    flush(table, registry);
    // After the flush every slot is idle (reported), so new flows reuse them.
    for (let i = 100; i < 164; i++) expect(add(table, 2, i)).toBeGreaterThanOrEqual(0);
    expect(addon().flowTableStats(table).overflowPackets).toBe(1);
  });
});
