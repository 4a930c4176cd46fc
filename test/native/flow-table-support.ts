/**
 * The engine's flow table on its own (native/engine/flow_table.c, encap_chains.c, through the
 * addon's createFlowTable/flowTable* exports), driven as the TypeScript FlowTable it replaced was:
 * every add's slot and `created`, every setDirection/markOriginated answer, every flush's records
 * (with their slots and encapsulation chains) and the stats after it go, in order, into one running
 * SHA-256 of a canonical text. That text is the one the TypeScript reference's answers were frozen
 * in (test/native/expected/flow-table-differential.json, by: typescript), line for line:
 *   add <slot> <created 0|1>
 *   direction <slot> <direction> <answer>
 *   originated <slot> <answer>
 *   flush <JSON of [{ slot, record, chain }]>
 *   stats <flows> <records> <overflowPackets> <chainOverflow>
 */
import { createHash } from 'node:crypto';
import { InterfaceRegistry } from '../../agent/flow/interface-registry.js';
import type { FlowRecord, EncapLayerRecord } from '../../core/findings/flow-record.js';
import { chainLayers, forEachFlowRecord, recordChainId } from '../../agent/native/flow-records-native.js';
import { nativeAddon } from '../../agent/native/native-addon.js';
import { PACKED_VIEW_WORDS, RECORD_WORDS, type NativeFlowTable, type NativeFlowTableStats, type NativePipelineExports } from '../../agent/native/pipeline-native.js';
import type { CaseAnswer } from '../support/expected-answers.js';

export function pipelineAddon(): NativePipelineExports {
  return nativeAddon();
}

/** Encapsulation layers a view holds (pw_view.h's PW_MAX_ENCAP_DEPTH). */
const MAX_ENCAP_DEPTH = 4;

/** The fields of a packet's view that make its flow key: a decoded packet's (NativePacketView) or one a test makes up. */
export interface FlowKeyView {
  readonly ipVersion: number;
  readonly proto: number;
  readonly sport: number;
  readonly dport: number;
  readonly src: ArrayLike<number>;
  readonly dst: ArrayLike<number>;
  readonly encapDepth: number;
  readonly encapKind: ArrayLike<number>;
  readonly encapOuterVersion: ArrayLike<number>;
  readonly encapVni: ArrayLike<number>;
  readonly encapOuterSrc: ArrayLike<number>;
  readonly encapOuterDst: ArrayLike<number>;
}

/**
 * A view a test writes field by field, stored as the decoder's view stores them (a VNI of -1 stays
 * -1; layers past encapDepth keep what an earlier packet left, as they do after a decode).
 */
export class SyntheticView implements FlowKeyView {
  ipVersion = 0;
  /** -1 before any packet, as a fresh decoder view has it. */
  proto = -1;
  sport = 0;
  dport = 0;
  readonly src = new Uint32Array(4);
  readonly dst = new Uint32Array(4);
  encapDepth = 0;
  readonly encapKind = new Uint8Array(MAX_ENCAP_DEPTH);
  readonly encapOuterVersion = new Uint8Array(MAX_ENCAP_DEPTH);
  readonly encapVni = new Int32Array(MAX_ENCAP_DEPTH);
  readonly encapOuterSrc = new Uint32Array(MAX_ENCAP_DEPTH * 4);
  readonly encapOuterDst = new Uint32Array(MAX_ENCAP_DEPTH * 4);
}

/** The words of a view flowTableAdd reads (PACKED_* in native/addon/flow_table_napi.c). */
export function packView(v: FlowKeyView, out: Uint32Array): Uint32Array {
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

/** One native flow table fed a case's sightings; its answers hashed as they come. */
export class FlowTableRun {
  readonly table: NativeFlowTable;
  private readonly addon = pipelineAddon();
  private readonly packed = new Uint32Array(PACKED_VIEW_WORDS);
  private readonly answers = createHash('sha256');
  /** Sightings added, flushes and records handed out. */
  adds = 0;
  flushes = 0;
  records = 0;

  constructor(
    readonly registry: InterfaceRegistry,
    initialCapacity = 1 << 12,
    maxFlows = 1 << 18,
  ) {
    this.table = this.addon.createFlowTable(initialCapacity, maxFlows);
  }

  /** Counts one sighting; returns its flow's slot, or -1 when the table is full of active flows. */
  add(view: FlowKeyView, ifaceId: number, direction: number, length: number, tsMs: number): number {
    const slot = this.addon.flowTableAdd(this.table, packView(view, this.packed), ifaceId, direction, length, tsMs);
    this.adds++;
    this.answers.update(`add ${slot} ${this.addon.flowTableCreated(this.table) ? 1 : 0}\n`);
    return slot;
  }

  setDirection(slot: number, dir: number): boolean {
    const answer = this.addon.flowTableSetDirection(this.table, slot, dir);
    this.answers.update(`direction ${slot} ${dir} ${answer}\n`);
    return answer;
  }

  markOriginated(slot: number): boolean {
    const answer = this.addon.flowTableMarkOriginated(this.table, slot);
    this.answers.update(`originated ${slot} ${answer}\n`);
    return answer;
  }

  /** The interval's records, in flush order, with their slots and chains. */
  flush(): FlushedRecord[] {
    const words = this.addon.flowTableFlush(this.table);
    const out: FlushedRecord[] = [];
    forEachFlowRecord(words, this.registry, (record, slot) => {
      const id = recordChainId(words, out.length);
      out.push({ slot, record, chain: id !== 0 ? chainLayers(this.addon.flowTableChain(this.table, id)) : [] });
    });
    if (words.length !== out.length * RECORD_WORDS) throw new Error(`flush #${this.flushes + 1}: ${words.length} words for ${out.length} records`);
    this.flushes++;
    this.records += out.length;
    this.answers.update(`flush ${JSON.stringify(out)}\n`);
    const s = this.stats();
    this.answers.update(`stats ${s.flows} ${s.records} ${s.overflowPackets} ${s.chainOverflow}\n`);
    return out;
  }

  stats(): NativeFlowTableStats {
    return this.addon.flowTableStats(this.table);
  }

  /** The case's answer: the digest (taken once, when the case is done) and its counts. */
  answer(): CaseAnswer {
    const s = this.stats();
    return { sha256: this.answers.digest('hex'), counts: { sightings: this.adds, flushes: this.flushes, records: this.records, flows: s.flows, overflowPackets: s.overflowPackets, chainOverflow: s.chainOverflow } };
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
