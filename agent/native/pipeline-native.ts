/**
 * The native sighting pipeline's exports (native/addon/pipeline_napi.c and its stage files), as
 * TypeScript sees them. The stages are agent/flow's, ported function for function to C
 * (native/engine/flow_table.h, encap_chains.h, hash_index.h, packet_bytes_ring.h); test/native compares them with the TypeScript ones.
 */

/** A native flow table on its own (engine/flow_table.h). Opaque. */
export interface NativeFlowTable {
  readonly __nativeFlowTable: unique symbol;
}

/**
 * The words of a view that flowTableAdd reads, in this order (PACKED_* in flow_table_napi.c):
 * ipVersion, proto, sport, dport, src[4], dst[4], encapDepth, encapKind[4], encapOuterVersion[4],
 * encapVni[4] (as uint32), encapOuterSrc[16], encapOuterDst[16].
 */
export const PACKED_VIEW_WORDS = 57;

/**
 * Flushed flow records: RECORD_WORDS words each, in flush order (pipeline_parts.h): the slot's
 * words (pw_flow_slot's layout in native/engine/flow_table.h: iface, meta, src0, dst0, ports, -, -, vni; counters as Float64
 * words 8..15; src, dst, outer src, outer dst from word 16) except word 5, the slot, and word 6,
 * the resolved direction | outer IP version << 8 | chain id << 16.
 */
export const RECORD_WORDS = 32;

export interface NativeFlowTableStats {
  readonly flows: number;
  readonly records: number;
  readonly overflowPackets: number;
  /** Chains not interned because the chain table was full (EncapChains.overflow). */
  readonly chainOverflow: number;
}

/** A native fingerprint hash index (engine/hash_index.h). Opaque. */
export interface NativeHashIndex {
  readonly __nativeHashIndex: unique symbol;
}

/** A native ring of recent packets' first bytes (engine/packet_bytes_ring.h). Opaque. */
export interface NativePacketBytesRing {
  readonly __nativePacketBytesRing: unique symbol;
}

export interface NativePacketBytes {
  readonly bytes: Uint8Array;
  readonly origLen: number;
  readonly linkType: number;
}

/** A whole native sighting pipeline (engine/sighting_pipeline.h). Opaque. */
export interface NativeSightingPipeline {
  readonly __nativeSightingPipeline: unique symbol;
}

/** createSightingPipeline's config, in this order (CFG_* in sighting_pipeline_napi.c). */
export const PIPELINE_CONFIG_WORDS = 8;
/** Words of meta per record of a block (PW_REC_* in engine/sighting_pipeline.h): offset, caplen, origlen, link type, iface (0xffffffff: per packet), direction, binding. */
export const PIPELINE_RECORD_WORDS = 7;
/** Undecoded tunnel records listed per pipelineRun at most (UNDECODED_MAX). */
export const PIPELINE_UNDECODED_MAX = 4096;

/** Why pipelineWalk stopped (pw_walk_stop in engine/pcap_walk.h). */
export const enum WalkStop {
  /** No complete record left at out[WALK_OUT_POS]. */
  End = 0,
  /** The record at out[WALK_OUT_POS] needs its interface registered (out[WALK_OUT_IFINDEX], out[WALK_OUT_HATYPE]). */
  Ifindex = 1,
  /** The clock's watermark reached its next interval: flush flows and take findings, then walk on. */
  Interval = 2,
  /** The undecoded list is nearly full: read it, then walk on. */
  UndecodedFull = 3,
  /** The unit at out[WALK_OUT_POS] is the JS reader's to take (an absurd length, another pcapng block, a timestamp it must skip...). */
  Refused = 4,
}
/**
 * pipelineWalk's format (FMT_* in sighting_pipeline_napi.c): kind (0 pcap, 1 pcapng), little endian,
 * link type, interface id (0xffffffff: per packet), binding, the first record's interface
 * (0xffffffff: none), then pcap's nanoseconds and length order (0 standard, 1 swapped, 2 maybe), then
 * pcapng's interface, section base, units per second, nanoseconds per unit, offset in seconds.
 */
export const WALK_FORMAT_WORDS = 13;
/** pipelineWalk's clock: step (ms; 0: none), interval (ms), watermark, next interval. */
export const WALK_CLOCK_WORDS = 4;
export const WALK_OUT_POS = 0;
export const WALK_OUT_RECORDS = 1;
export const WALK_OUT_FIRST_TS = 2;
export const WALK_OUT_LAST_TS = 3;
export const WALK_OUT_IFINDEX = 4;
export const WALK_OUT_HATYPE = 5;
export const WALK_OUT_UNDECODED = 6;
export const WALK_OUT_HEAD = 7;
export const WALK_UNDECODED_WORDS = 5;
/** Undecoded records one walk lists at most (PW_WALK_UNDECODED_MAX). */
export const WALK_UNDECODED_MAX = 1024;

/** What pipelineTake hands over: numbers (see node-findings-native.ts) and the groups' sample bytes. */
export interface NativeTaken {
  readonly numbers: Float64Array;
  readonly bytes: Uint8Array;
}

/** pipelineKnowledge's answers: 5 per question (src location, dst location, exits back a and b, own MAC), and own addresses (version, 4 words each). */
export interface NativeKnowledgeAnswers {
  readonly answers: Float64Array;
  readonly own: Float64Array;
}

export interface NativePipelineExports {
  createSightingPipeline(config: Float64Array): NativeSightingPipeline;
  /** Mirrors the interface registry: per interface its node and role (0 other, 1 pod, 2 tunnel); per node coverage and interface count. */
  pipelineSyncRegistry(p: NativeSightingPipeline, ifaceNode: Uint32Array, ifaceRole: Uint8Array, nodeCovers: Uint8Array, nodeIfaces: Uint32Array): void;
  pipelineSetIfindex(p: NativeSightingPipeline, binding: number, ifindex: number, iface: number): void;
  /** Forgets every interface index of the binding (their names are looked up afresh). */
  pipelineClearIfindexes(p: NativeSightingPipeline, binding: number): void;
  /**
   * Runs records [start, count) of a block; returns the next record to run. When it is below count
   * and not because the undecoded list filled, out[0], out[1] are the Linux ifindex and hardware type of
   * the record whose interface JavaScript must register. out[2]: undecoded tunnel records listed in
   * `undecoded` (pairs record, interface id).
   */
  pipelineRun(p: NativeSightingPipeline, data: Uint8Array, meta: Uint32Array, tsMs: Float64Array, start: number, count: number, out: Float64Array, undecoded: Uint32Array): number;
  /**
   * Walks the pcap or pcapng records of `data` from byte `pos` into the pipeline (engine/pcap_walk.h);
   * returns a WalkStop. format: WALK_FORMAT_WORDS; clock: WALK_CLOCK_WORDS, updated; out: WALK_OUT_* head,
   * then WALK_UNDECODED_WORDS per undecoded tunnel record (offset, caplen, origlen, iface, ts).
   */
  pipelineWalk(p: NativeSightingPipeline, data: Uint8Array, pos: number, format: Float64Array, clock: Float64Array, listUndecoded: boolean, out: Float64Array): number;
  /** One of the node's own addresses (version 4 or 6, four words as parseAddress writes them). */
  pipelineAddLocal(p: NativeSightingPipeline, node: number, version: number, words: Uint32Array): void;
  pipelineExpire(p: NativeSightingPipeline, node: number, watermark: number): void;
  pipelineExpireAll(p: NativeSightingPipeline, node: number, endTs: number): void;
  /**
   * The node's kernel drop events (`count` of `eventBytes` each, struct pw_drop_event, as
   * NativeDropMonitor read them at nowMs), kept by the dropped packet's fingerprint for its vanish
   * candidates to match (engine/kernel_drops.h); returns how many had a fingerprint.
   */
  pipelineKernelDrops(p: NativeSightingPipeline, node: number, events: Uint8Array, count: number, eventBytes: number, nowMs: number): number;
  pipelineMatchers(p: NativeSightingPipeline): Uint32Array;
  pipelineFlush(p: NativeSightingPipeline): Uint32Array;
  pipelineChain(p: NativeSightingPipeline, id: number): Uint32Array;
  pipelineTake(p: NativeSightingPipeline, node: number): NativeTaken;
  /** questions: src key, dst key, interface id per question. */
  pipelineKnowledge(p: NativeSightingPipeline, node: number, questions: Float64Array): NativeKnowledgeAnswers;
  /** PipelineStats (9), flows, records, overflow packets, then the engine's bounds: open packets, sightings, hops, knowledge refused; open packets now; sample bytes overwritten. */
  pipelineStats(p: NativeSightingPipeline): Float64Array;
  /** Packets per interface id [0, count), then bytes. */
  pipelineInterfaceCounts(p: NativeSightingPipeline, count: number): Float64Array;
  pipelineDecodeEvents(p: NativeSightingPipeline): Float64Array;

  /** HashIndex(initialCapacity), growing up to maxBuckets buckets (maxBuckets / 2 keys). */
  createHashIndex(initialCapacity: number, maxBuckets: number): NativeHashIndex;
  /** HashIndex.get: the value for a 53-bit key, or -1. */
  hashIndexGet(index: NativeHashIndex, key: number): number;
  /** HashIndex.set; false when a new key does not fit under maxBuckets. */
  hashIndexSet(index: NativeHashIndex, key: number, value: number): boolean;
  hashIndexDelete(index: NativeHashIndex, key: number): boolean;
  hashIndexClear(index: NativeHashIndex): void;
  hashIndexSize(index: NativeHashIndex): number;
  /** PacketBytesRing({ slots, slotBytes }); slots up to 2^22, slotBytes up to 65535. */
  createPacketBytesRing(slots: number, slotBytes: number): NativePacketBytesRing;
  /** PacketBytesRing.put: the packet's sequence number. */
  packetBytesPut(ring: NativePacketBytesRing, data: Uint8Array, offset: number, caplen: number, origLen: number, linkType: number): number;
  /** PacketBytesRing.get. */
  packetBytesGet(ring: NativePacketBytesRing, seq: number): NativePacketBytes | undefined;
  /** PacketBytesRing.overwritten. */
  packetBytesOverwritten(ring: NativePacketBytesRing): number;

  /** A flow table growing from initialCapacity to maxFlows slots (powers of two, at most 2^18). */
  createFlowTable(initialCapacity: number, maxFlows: number): NativeFlowTable;
  /** FlowTable.add with a packed view (PACKED_VIEW_WORDS); returns the slot or -1. */
  flowTableAdd(table: NativeFlowTable, view: Uint32Array, ifaceId: number, direction: number, length: number, tsMs: number): number;
  /** FlowTable.created after the last add. */
  flowTableCreated(table: NativeFlowTable): boolean;
  flowTableSetDirection(table: NativeFlowTable, slot: number, direction: number): boolean;
  flowTableMarkOriginated(table: NativeFlowTable, slot: number): boolean;
  /** FlowTable.flush: the interval's records (RECORD_WORDS each). */
  flowTableFlush(table: NativeFlowTable): Uint32Array;
  flowTableStats(table: NativeFlowTable): NativeFlowTableStats;
  /** A chain's stored row (depth, then 11 words per layer: kind, outer version, VNI, source, destination); empty for an unknown id. */
  flowTableChain(table: NativeFlowTable, id: number): Uint32Array;
}
