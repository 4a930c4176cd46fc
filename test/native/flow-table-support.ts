/**
 * A TypeScript FlowTable and a native one (engine/flow_table.h) fed the same sightings: every
 * add's slot and `created`, every setDirection/markOriginated answer, and every flush's records
 * (with their slots and encapsulation chains) must be identical.
 */
import { createHash } from 'node:crypto';
import { FlowTable } from '../../agent/flow/flow-table.js';
import { InterfaceRegistry } from '../../agent/flow/interface-registry.js';
import { SIGHTING_TS, type Sighting } from '../../agent/flow/sighting.js';
import type { PacketView } from '../../agent/decode/packet-view.js';
import type { FlowRecord, EncapLayerRecord } from '../../core/findings/flow-record.js';
import { chainLayers, forEachFlowRecord, recordChainId } from '../../agent/native/flow-records-native.js';
import { nativeAddon } from '../../agent/native/native-addon.js';
import { PACKED_VIEW_WORDS, RECORD_WORDS, type NativeFlowTable, type NativePipelineExports } from '../../agent/native/pipeline-native.js';

export function pipelineAddon(): NativePipelineExports {
  return nativeAddon();
}

/** The words of a view flowTableAdd reads (PACKED_* in native/addon/flow_table_napi.c). */
export function packView(v: PacketView, out: Uint32Array): Uint32Array {
  out[0] = v.ipVersion;
  out[1] = v.proto >>> 0;
  out[2] = v.sport;
  out[3] = v.dport;
  for (let i = 0; i < 4; i++) {
    out[4 + i] = v.src[i] as number;
    out[8 + i] = v.dst[i] as number;
  }
  out[12] = v.encapDepth;
  for (let l = 0; l < 4; l++) {
    out[13 + l] = v.encapKind[l] as number;
    out[17 + l] = v.encapOuterVersion[l] as number;
    out[21 + l] = (v.encapVni[l] as number) >>> 0;
  }
  for (let i = 0; i < 16; i++) {
    out[25 + i] = v.encapOuterSrc[i] as number;
    out[41 + i] = v.encapOuterDst[i] as number;
  }
  return out;
}

export interface FlushedRecord {
  readonly slot: number;
  readonly record: FlowRecord;
  /** The flow's whole chain when it has two layers or more, else []. */
  readonly chain: readonly EncapLayerRecord[];
}

export class FlowTablePair {
  readonly ts: FlowTable;
  readonly native: NativeFlowTable;
  private readonly packed = new Uint32Array(PACKED_VIEW_WORDS);
  /** Sightings added, flushes and records compared; the first differences found. */
  adds = 0;
  flushes = 0;
  records = 0;
  readonly diffs: string[] = [];
  /** SHA-256 of the canonical text of every answer (the TypeScript table's), in order. */
  private readonly answers = createHash('sha256');

  constructor(
    readonly registry: InterfaceRegistry,
    initialCapacity = 1 << 12,
    maxFlows = 1 << 18,
  ) {
    this.ts = new FlowTable(registry, initialCapacity, maxFlows);
    this.native = pipelineAddon().createFlowTable(initialCapacity, maxFlows);
  }

  private diff(what: string): void {
    if (this.diffs.length < 20) this.diffs.push(what);
  }

  /** Adds to both; returns the (common) slot. */
  add(s: Sighting): number {
    const a = this.ts.add(s);
    const b = pipelineAddon().flowTableAdd(this.native, packView(s.view, this.packed), s.ifaceId, s.direction, s.length, s.numbers[SIGHTING_TS] as number);
    const created = pipelineAddon().flowTableCreated(this.native);
    this.adds++;
    if (a !== b || created !== this.ts.created) this.diff(`add #${this.adds}: ts slot ${a} created ${this.ts.created}, native slot ${b} created ${created}`);
    this.answers.update(`add ${a} ${this.ts.created ? 1 : 0}\n`);
    return a;
  }

  setDirection(slot: number, dir: number): void {
    const a = this.ts.setDirection(slot, dir);
    const b = pipelineAddon().flowTableSetDirection(this.native, slot, dir);
    if (a !== b) this.diff(`setDirection(${slot}, ${dir}) after add #${this.adds}: ts ${a}, native ${b}`);
    this.answers.update(`direction ${slot} ${dir} ${a}\n`);
  }

  markOriginated(slot: number): void {
    const a = this.ts.markOriginated(slot);
    const b = pipelineAddon().flowTableMarkOriginated(this.native, slot);
    if (a !== b) this.diff(`markOriginated(${slot}) after add #${this.adds}: ts ${a}, native ${b}`);
    this.answers.update(`originated ${slot} ${a}\n`);
  }

  answer(): { sha256: string; counts: Record<string, number> } {
    const t = this.ts.stats;
    return { sha256: this.answers.digest('hex'), counts: { sightings: this.adds, flushes: this.flushes, records: this.records, flows: t.flows, overflowPackets: t.overflowPackets, chainOverflow: this.ts.chains.overflow } };
  }

  /** Flushes both and compares the records, their slots and chains, in order. */
  flush(): FlushedRecord[] {
    const tsOut: FlushedRecord[] = [];
    this.ts.flush((record, slot) => tsOut.push({ slot, record, chain: this.ts.chains.layers(this.ts.chainId(slot)) }));
    const words = pipelineAddon().flowTableFlush(this.native);
    const nativeOut: FlushedRecord[] = [];
    forEachFlowRecord(words, this.registry, (record, slot) => {
      const id = recordChainId(words, nativeOut.length);
      nativeOut.push({ slot, record, chain: id !== 0 ? chainLayers(pipelineAddon().flowTableChain(this.native, id)) : [] });
    });
    this.flushes++;
    this.records += tsOut.length;
    if (words.length !== nativeOut.length * RECORD_WORDS) this.diff(`flush #${this.flushes}: ${words.length} words`);
    const a = JSON.stringify(tsOut);
    const b = JSON.stringify(nativeOut);
    this.answers.update(`flush ${a}\n`);
    if (a !== b) {
      const i = tsOut.findIndex((r, k) => JSON.stringify(r) !== JSON.stringify(nativeOut[k]));
      this.diff(`flush #${this.flushes}: ts ${tsOut.length} records, native ${nativeOut.length}; first difference at ${i}: ts ${JSON.stringify(tsOut[i])} native ${JSON.stringify(nativeOut[i])}`);
    }
    const s = pipelineAddon().flowTableStats(this.native);
    const t = this.ts.stats;
    if (s.flows !== t.flows || s.records !== t.records || s.overflowPackets !== t.overflowPackets || s.chainOverflow !== this.ts.chains.overflow)
      this.diff(`stats after flush #${this.flushes}: ts ${JSON.stringify({ ...t, chainOverflow: this.ts.chains.overflow })} native ${JSON.stringify(s)}`);
    this.answers.update(`stats ${t.flows} ${t.records} ${t.overflowPackets} ${this.ts.chains.overflow}\n`);
    return tsOut;
  }
}

/** A registry with `count` interfaces over two nodes (ids 0..count-1). */
export function registryWith(count: number): InterfaceRegistry {
  const registry = new InterfaceRegistry();
  for (let i = 0; i < count; i++) registry.interface(i % 2 === 0 ? 'node-a' : 'node-b', i % 3 === 0 ? `eth${i}` : i % 3 === 1 ? `cali${i}` : `tunl${i}`);
  return registry;
}

/** A small seeded generator (mulberry32): the same sequence on every run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
