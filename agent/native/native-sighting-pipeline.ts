/**
 * The native sighting pipeline (native/engine/sighting_pipeline.h) behind SightingPipeline's surface
 * as replay uses it: records are copied into a block and run in C a block at a time (when the block
 * is full, and before anything that reads the engine's state: advancing, flushing, taking findings,
 * statistics), in the order they came. Per record JavaScript only copies bytes and a few words.
 *
 * The interface registry stays in JavaScript and is mirrored into the engine before any record that
 * could see a change (a new interface or node, a node's coverage) runs. A record of a Linux `any`
 * capture whose interface index the engine does not know yet stops its block: the interface is
 * registered here exactly as SightingPipeline.ifaceForIfindex does, and the block resumes from it.
 */
import type { CaptureRecord, PcapngRecordFormat, PcapRecordFormat } from '../capture/capture-record.js';
import { DECODE_EVENT_NAMES, DecodeEventCounters } from '../decode/decode-events.js';
import type { FlowRecord, EncapLayerRecord } from '../../core/findings/flow-record.js';
import type { NodeFindings, NodeKnowledgeFacts, VanishCandidate } from '../../core/findings/node-findings.js';
import type { InterfaceRegistry, NodeInfo } from '../flow/interface-registry.js';
import { DEFAULT_HOP_MATCHER_CONFIG, type CaptureBinding, type PipelineStats, type SightingPipelineConfig } from './pipeline-config.js';
import type { TunnelLayersView } from './engine-names.js';
import type { NativeDecoder, NativeEngineExports } from './engine-native.js';
import { chainLayers, forEachFlowRecord, recordChainId } from './flow-records-native.js';
import { nativeAddon } from './native-addon.js';
import { nativeKnowledgeFor, nativeNodeFindings, type KernelDropNaming } from './node-findings-native.js';
import {
  PIPELINE_CONFIG_WORDS,
  PIPELINE_RECORD_WORDS,
  PIPELINE_UNDECODED_MAX,
  RECORD_WORDS,
  WALK_CLOCK_WORDS,
  WALK_FORMAT_WORDS,
  WALK_OUT_FIRST_TS,
  WALK_OUT_HATYPE,
  WALK_OUT_HEAD,
  WALK_OUT_IFINDEX,
  WALK_OUT_LAST_TS,
  WALK_OUT_POS,
  WALK_OUT_RECORDS,
  WALK_OUT_UNDECODED,
  WALK_UNDECODED_MAX,
  WALK_UNDECODED_WORDS,
  WalkStop,
  type NativePipelineExports,
  type NativeSightingPipeline as Handle,
} from './pipeline-native.js';

/** Records per block, and the block's bytes at first (grown for a record larger than it). */
const BLOCK_RECORDS = 4096;
const BLOCK_BYTES = 4 << 20;
/** Open packets and sightings the engine keeps per node (powers of two; see README's native engine notes). */
export const NATIVE_OPEN_PACKETS = 1 << 20;
export const NATIVE_SIGHTINGS = 1 << 21;
const ARPHRD_LOOPBACK = 772;
/** A flushed record's slot word, and its first counter as a Float64 index within the record (flow-records-native.ts). */
const RECORD_SLOT_WORD = 5;
const RECORD_COUNTERS = 4;
/** Records up to this long are copied into the block byte by byte (no view object); longer ones with set(). */
const INLINE_COPY_BYTES = 1024;
const NO_IFACE = 0xffffffff;

const DECODE_INDEX = new Map<string, number>(DECODE_EVENT_NAMES.map((name, i) => [name, i]));
const ROLE_CODES: Readonly<Record<string, number>> = { pod: 1, tunnel: 2 };
/** The role byte's top bit: the interface is not analysed (acceptInterface said no). */
const NOT_ANALYSED = 0x80;

/**
 * Replay's clock for a walk (replay-runner.ts): closed windows are evaluated whenever capture time
 * moves `stepMs` past the watermark; the walk returns to JavaScript when the watermark reaches the
 * next interval. Shared with the record-at-a-time path, so both keep one clock.
 */
export class WalkClock {
  readonly words = new Float64Array(WALK_CLOCK_WORDS);
  constructor(stepMs: number, intervalMs: number) {
    this.words[0] = stepMs;
    this.words[1] = intervalMs;
    this.words[2] = -Infinity;
    this.words[3] = Infinity;
  }
  get watermark(): number {
    return this.words[2] as number;
  }
  set watermark(ms: number) {
    this.words[2] = ms;
  }
  get nextInterval(): number {
    return this.words[3] as number;
  }
  set nextInterval(ms: number) {
    this.words[3] = ms;
  }
}

/** What one walk over a chunk took: records, and the earliest and latest of their times. */
export interface WalkProgress {
  records: number;
  firstTs: number;
  lastTs: number;
}

/** A walk without a clock (live capture: the agent's timer evaluates windows). */
const NO_CLOCK = new WalkClock(0, 1);

/** What the engine lost to its bounds (never in NodeCounters). */
export interface NativeOverflow {
  readonly openPackets: number;
  readonly sightings: number;
  readonly hops: number;
  readonly knowledge: number;
}

/** One node's matcher, as replay drives NodeHopMatcher. */
export class NativeNodeMatcher {
  constructor(
    readonly node: NodeInfo,
    private readonly pipeline: NativeSightingPipeline,
  ) {}

  expire(watermark: number): void {
    this.pipeline.submit();
    const t = process.hrtime.bigint();
    this.pipeline.addon.pipelineExpire(this.pipeline.handle, this.node.index, watermark);
    this.pipeline.engineNanos += process.hrtime.bigint() - t;
  }

  expireAll(endTs: number): void {
    this.pipeline.submit();
    const t = process.hrtime.bigint();
    this.pipeline.addon.pipelineExpireAll(this.pipeline.handle, this.node.index, endTs);
    this.pipeline.engineNanos += process.hrtime.bigint() - t;
  }

  /**
   * The node's kernel drop events as the drop monitor read them (agent/kernel/drop-monitor.ts): its
   * vanish candidates evaluated from now on count those whose fingerprint is theirs. Returns how
   * many carried a packet with a fingerprint. Call it once with no events when the monitor starts:
   * the node's packets then keep their headers' fingerprint for drops seen without their payload.
   */
  addKernelDrops(events: Uint8Array, count: number, eventBytes: number, nowMs: number): number {
    const p = this.pipeline;
    return p.addon.pipelineKernelDrops(p.handle, this.node.index, events, count, eventBytes, nowMs);
  }

  /** `kernel` names the reasons of kernel drops matched to candidates (live agents; none in replay). */
  takeFindings(coveredUntil: number, kernel?: KernelDropNaming): NodeFindings {
    const p = this.pipeline;
    p.submit();
    const taken = p.addon.pipelineTake(p.handle, this.node.index);
    return nativeNodeFindings(taken, p.registry, this.node, coveredUntil, (q) => p.addon.pipelineKnowledge(p.handle, this.node.index, q), kernel);
  }

  knowledgeFor(candidates: readonly VanishCandidate[]): NodeKnowledgeFacts {
    const p = this.pipeline;
    p.submit();
    return nativeKnowledgeFor(candidates, p.registry, this.node, (q) => p.addon.pipelineKnowledge(p.handle, this.node.index, q));
  }
}

/**
 * The flow table as FlowCatalog reads it while a flush's records are handed out: each method answers
 * for the record being handed out (the slot argument names it), from the record's own words.
 */
export class NativeFlowView {
  keyWords: Uint32Array = new Uint32Array(0);
  /** Word offset of the record being handed out. */
  base = 0;
  readonly stats = { flows: 0, records: 0, overflowPackets: 0 };
  readonly chains: { layers(id: number): EncapLayerRecord[] };

  constructor(addon: NativePipelineExports, handle: Handle) {
    this.chains = { layers: (id: number) => (id === 0 ? [] : chainLayers(addon.pipelineChain(handle, id))) };
  }

  iface(_slot: number): number {
    return this.keyWords[this.base] as number;
  }
  ipVersion(_slot: number): number {
    return ((this.keyWords[this.base + 1] as number) >>> 16) & 0xff;
  }
  encapKind(_slot: number): number {
    return (this.keyWords[this.base + 1] as number) >>> 24;
  }
  proto(_slot: number): number {
    return ((this.keyWords[this.base + 1] as number) >>> 8) & 0xff;
  }
  outerVersion(_slot: number): number {
    return ((this.keyWords[this.base + 6] as number) >>> 8) & 0xff;
  }
  portsWord(_slot: number): number {
    return this.keyWords[this.base + 4] as number;
  }
  vniWord(_slot: number): number {
    return this.keyWords[this.base + 7] as number;
  }
  chainId(_slot: number): number {
    return recordChainId(this.keyWords, this.base / RECORD_WORDS);
  }
  srcOffset(_slot: number): number {
    return this.base + 16;
  }
  dstOffset(_slot: number): number {
    return this.base + 20;
  }
  outerSrcOffset(_slot: number): number {
    return this.base + 24;
  }
  outerDstOffset(_slot: number): number {
    return this.base + 28;
  }
}

export class NativeSightingPipeline {
  readonly addon: NativePipelineExports & NativeEngineExports = nativeAddon();
  readonly handle: Handle;
  readonly flows: NativeFlowView;
  private readonly nodeMatchers: NativeNodeMatcher[] = [];
  private matcherList: (NativeNodeMatcher | undefined)[] = [];
  private matchersStale = true;
  /**
   * Wall time spent inside the engine running records (walks, blocks) and evaluating windows, for
   * the engine's own rate (`npm run bench`): a clock read per call, never per packet.
   */
  engineNanos = 0n;
  /** Undecoded tunnel packets are decoded again here, for the observer (rare): a decoder of its own, whose event counts nobody reads. */
  private layersDecoder: NativeDecoder | undefined;
  private readonly eventNames: readonly string[];

  private data = new Uint8Array(BLOCK_BYTES);
  private readonly meta = new Uint32Array(BLOCK_RECORDS * PIPELINE_RECORD_WORDS);
  private readonly ts = new Float64Array(BLOCK_RECORDS);
  private records = 0;
  private bytes = 0;
  private readonly out = new Float64Array(4);
  private readonly undecoded = new Uint32Array(2 * PIPELINE_UNDECODED_MAX);
  private readonly bindings = new Map<CaptureBinding, number>();
  private readonly bindingList: CaptureBinding[] = [];
  /** Per binding index, its ifindex cache as the engine mirrors it: a new cache (names looked up afresh) clears the engine's. */
  private readonly ifindexCaches: Int32Array[] = [];
  /** The registry as last told to the engine. */
  private syncedIfaces = -1;
  private syncedNodes = -1;
  /** Per node index, its coverage as last told (compared per record without allocating). */
  private syncedCovers = new Uint8Array(0);

  private readonly walkFormat = new Float64Array(WALK_FORMAT_WORDS);
  private readonly walkOut = new Float64Array(WALK_OUT_HEAD + WALK_UNDECODED_WORDS * WALK_UNDECODED_MAX);
  private readonly progress: WalkProgress = { records: 0, firstTs: Infinity, lastTs: -Infinity };
  /** Per interface id: 0 not decided yet, 1 analysed, 2 not (config.acceptInterface). */
  private acceptance = new Uint8Array(64);

  constructor(
    readonly registry: InterfaceRegistry,
    private readonly config: SightingPipelineConfig = {},
    /** Open packets (a power of two) and sightings each node's matcher keeps at most. */
    capacity: { readonly openPackets: number; readonly sightings: number } = { openPackets: NATIVE_OPEN_PACKETS, sightings: NATIVE_SIGHTINGS },
  ) {
    const c = new Float64Array(PIPELINE_CONFIG_WORDS);
    const m = config.matcher ?? DEFAULT_HOP_MATCHER_CONFIG;
    c[0] = m.windowMs;
    c[1] = m.maxVanishedGroups;
    c[2] = m.tunnelHopSampleOneIn ?? -1;
    c[3] = capacity.openPackets;
    c[4] = capacity.sightings;
    c[5] = config.sampleOneIn ?? 0;
    c[6] = config.packetBytes?.slots ?? 0;
    c[7] = config.packetBytes?.slotBytes ?? 0;
    this.handle = this.addon.createSightingPipeline(c);
    this.flows = new NativeFlowView(this.addon, this.handle);
    this.eventNames = nativeAddon().decodeEventNames();
  }

  /** Matchers by node index, as SightingPipeline.matchers (created when the engine first saw the node). */
  get matchers(): (NativeNodeMatcher | undefined)[] {
    this.submit();
    // The list changes only when records ran (a node's first packet creates its matcher in C).
    if (!this.matchersStale) return this.matcherList;
    this.matchersStale = false;
    const out: (NativeNodeMatcher | undefined)[] = [];
    for (const index of this.addon.pipelineMatchers(this.handle)) {
      const node = this.registry.nodes[index];
      if (!node) continue;
      this.nodeMatchers[index] ??= new NativeNodeMatcher(node, this);
      out[index] = this.nodeMatchers[index];
    }
    this.matcherList = out;
    return out;
  }

  /** One captured packet: copied into the block (its bytes are only valid during this call). */
  onRecord(record: CaptureRecord, binding: CaptureBinding): void {
    // First: it may run the block (a binding whose ifindex cache was replaced).
    const bindingIndex = this.bindingIndex(binding);
    if (this.registryChanged()) {
      this.submit();
      this.syncRegistry();
    }
    if (this.records === BLOCK_RECORDS || this.bytes + record.caplen > this.data.length) this.submit();
    if (record.caplen > this.data.length) this.data = new Uint8Array(Math.max(record.caplen, this.data.length * 2));
    const r = this.records++;
    // A snap length's worth of bytes is copied by hand: subarray() would make an object per record.
    const src = record.data;
    const data = this.data;
    if (record.caplen <= INLINE_COPY_BYTES) for (let i = 0, from = record.offset, to = this.bytes; i < record.caplen; i++) data[to + i] = src[from + i] as number;
    else data.set(src.subarray(record.offset, record.offset + record.caplen), this.bytes);
    const m = r * PIPELINE_RECORD_WORDS;
    const meta = this.meta;
    meta[m] = this.bytes;
    meta[m + 1] = record.caplen;
    meta[m + 2] = record.origlen;
    meta[m + 3] = record.linkType;
    const iface = binding.ifaceByCaptureInterface[record.interfaceId] ?? -1;
    meta[m + 4] = iface >= 0 ? iface : NO_IFACE;
    meta[m + 5] = record.direction;
    meta[m + 6] = bindingIndex;
    this.ts[r] = record.tsSec * 1000 + record.tsNsec / 1e6;
    this.bytes += record.caplen;
  }

  /** A node's matcher, created in the engine if it was not yet (SightingPipeline.matcher). */
  matcher(nodeIndex: number): NativeNodeMatcher {
    const node = this.registry.nodes[nodeIndex];
    if (!node) throw new Error(`unknown node index ${nodeIndex}`);
    this.submit();
    if (this.registryChanged()) this.syncRegistry();
    this.matchersStale = true;
    return (this.nodeMatchers[nodeIndex] ??= new NativeNodeMatcher(node, this));
  }

  /** One of the node's own addresses (NodeKnowledge.addLocal): version 4 or 6, words as parseAddress wrote them. */
  addLocalAddress(nodeIndex: number, version: number, words: Uint32Array): void {
    this.matcher(nodeIndex);
    this.addon.pipelineAddLocal(this.handle, nodeIndex, version, words);
  }

  /**
   * Walks the complete pcap records (or a pcapng section's plain packet blocks of its one interface)
   * of chunk[pos, end) through the engine in C (no JavaScript per record); returns where it stopped:
   * at `end`, or at a record cut by it, or at a unit the JavaScript reader must take (an absurd
   * length, another block, a timestamp it skips). `clock` runs replay's clock in C; `onInterval` is
   * called whenever its watermark reaches the next interval. The progress object is reused by the
   * next call.
   */
  walkPcap(chunk: Uint8Array, pos: number, end: number, format: PcapRecordFormat | PcapngRecordFormat, binding: CaptureBinding, clock: WalkClock | undefined, onInterval: () => void): { readonly pos: number; readonly progress: WalkProgress } {
    this.submit();
    if (this.registryChanged()) this.syncRegistry();
    const data = end === chunk.length ? chunk : chunk.subarray(0, end);
    const f = this.walkFormat;
    f.fill(0);
    const iface = binding.ifaceByCaptureInterface[format.interfaceId] ?? -1;
    f[0] = format.kind === 'pcapng' ? 1 : 0;
    f[1] = format.littleEndian ? 1 : 0;
    f[2] = format.linkType;
    f[3] = iface >= 0 ? iface : NO_IFACE;
    f[4] = this.bindingIndex(binding);
    f[5] = NO_IFACE;
    if (format.kind === 'pcapng') {
      f[8] = format.interfaceId;
      f[9] = format.sectionBase;
      f[10] = format.unitsPerSec;
      f[11] = format.nsPerUnit;
      f[12] = format.tsOffset;
    } else {
      f[6] = format.nano ? 1 : 0;
      f[7] = format.lengthOrder;
      f[10] = 1;
    }
    const progress = this.progress;
    progress.records = 0;
    progress.firstTs = Infinity;
    progress.lastTs = -Infinity;
    const out = this.walkOut;
    const listUndecoded = this.config.onUndecodedTunnel !== undefined;
    for (;;) {
      const t = process.hrtime.bigint();
      const stop = this.addon.pipelineWalk(this.handle, data, pos, f, (clock ?? NO_CLOCK).words, listUndecoded, out) as WalkStop;
      this.engineNanos += process.hrtime.bigint() - t;
      // A record registered after the last stop has been run with the interface found for it.
      f[5] = NO_IFACE;
      // Records ran: a node's first packet creates its matcher in C.
      this.matchersStale = true;
      pos = out[WALK_OUT_POS] as number;
      progress.records += out[WALK_OUT_RECORDS] as number;
      if ((out[WALK_OUT_FIRST_TS] as number) < progress.firstTs) progress.firstTs = out[WALK_OUT_FIRST_TS] as number;
      if ((out[WALK_OUT_LAST_TS] as number) > progress.lastTs) progress.lastTs = out[WALK_OUT_LAST_TS] as number;
      if (listUndecoded) this.observeWalkUndecoded(data, format.linkType);
      if (stop === WalkStop.Ifindex) {
        // Told to the record itself: an index the engine cannot map (a header cut short, 65536 or more) must not stop it again.
        f[5] = this.registerIfindexFor(binding, out[WALK_OUT_IFINDEX] as number, out[WALK_OUT_HATYPE] as number);
        if (this.registryChanged()) this.syncRegistry();
      } else if (stop === WalkStop.Interval) onInterval();
      else if (stop !== WalkStop.UndecodedFull) return { pos, progress };
    }
  }

  /** Runs the pending block in the engine. */
  submit(): void {
    if (this.records === 0) return;
    const count = this.records;
    this.records = 0;
    this.bytes = 0;
    this.matchersStale = true;
    for (let start = 0; start < count; ) {
      const t = process.hrtime.bigint();
      const next = this.addon.pipelineRun(this.handle, this.data, this.meta, this.ts, start, count, this.out, this.undecoded);
      this.engineNanos += process.hrtime.bigint() - t;
      this.observeUndecoded(this.out[2] as number);
      if (next >= count) break;
      if (this.out[2] !== PIPELINE_UNDECODED_MAX) this.registerIfindex(next);
      start = next;
    }
  }

  /** Judges every packet whose window closed before `watermark` (ms). */
  advance(watermark: number): void {
    for (const m of this.matchers) m?.expire(watermark);
  }

  flushFlows(onRecord?: (record: FlowRecord, slot: number) => void): void {
    this.submit();
    const words = this.addon.pipelineFlush(this.handle);
    const view = this.flows;
    view.keyWords = words;
    forEachFlowRecord(words, this.registry, (record, slot) => {
      onRecord?.(record, slot);
      view.base += RECORD_WORDS;
    });
    view.base = 0;
    this.refreshFlowStats();
  }

  /**
   * The interval's flow records as counters only, for a consumer that keeps its own keys (replay's
   * flow catalog reads them through `flows` while each is handed out): no FlowRecord object, no
   * address text, per record.
   */
  flushFlowCounts(onCounts: (slot: number, packets: number, bytes: number, first: number, last: number) => void): void {
    this.submit();
    const words = this.addon.pipelineFlush(this.handle);
    const f64 = new Float64Array(words.buffer, words.byteOffset, words.length / 2);
    const view = this.flows;
    view.keyWords = words;
    for (let base = 0; base < words.length; base += RECORD_WORDS) {
      view.base = base;
      const c = base / 2;
      onCounts(words[base + RECORD_SLOT_WORD] as number, f64[c + RECORD_COUNTERS] as number, f64[c + RECORD_COUNTERS + 1] as number, f64[c + RECORD_COUNTERS + 2] as number, f64[c + RECORD_COUNTERS + 3] as number);
    }
    view.base = 0;
    this.refreshFlowStats();
  }

  finish(endTs: number, onRecord?: (record: FlowRecord, slot: number) => void): void {
    for (const m of this.matchers) m?.expireAll(endTs);
    this.flushFlows(onRecord);
  }

  get stats(): PipelineStats {
    this.submit();
    const s = this.addon.pipelineStats(this.handle);
    return { records: s[0] as number, bytes: s[1] as number, decoded: s[2] as number, truncated: s[3] as number, notIp: s[4] as number, malformed: s[5] as number, sampledOut: s[6] as number, notAnalysed: s[7] as number, undecodedTunnel: s[8] as number };
  }

  /** What the engine's bounds refused (see NativeOverflow). */
  get overflow(): NativeOverflow {
    this.submit();
    const s = this.addon.pipelineStats(this.handle);
    return { openPackets: s[12] as number, sightings: s[13] as number, hops: s[14] as number, knowledge: s[15] as number };
  }

  get interfacePackets(): Float64Array {
    this.submit();
    const n = this.registry.interfaces.length;
    return this.addon.pipelineInterfaceCounts(this.handle, n).slice(0, n);
  }

  get interfaceBytes(): Float64Array {
    this.submit();
    const n = this.registry.interfaces.length;
    return this.addon.pipelineInterfaceCounts(this.handle, n).slice(n);
  }

  countsByRole(): Map<string, { packets: number; bytes: number }> {
    const packets = this.interfacePackets;
    const bytes = this.interfaceBytes;
    const byRole = new Map<string, { packets: number; bytes: number }>();
    for (const iface of this.registry.interfaces) {
      const p = packets[iface.id] ?? 0;
      if (p === 0) continue;
      const sum = byRole.get(iface.role) ?? { packets: 0, bytes: 0 };
      sum.packets += p;
      sum.bytes += bytes[iface.id] ?? 0;
      byRole.set(iface.role, sum);
    }
    return byRole;
  }

  /** The decoder's event counters, as SightingPipeline.decoder.events. */
  get decoder(): { readonly events: DecodeEventCounters } {
    this.submit();
    const counts = this.addon.pipelineDecodeEvents(this.handle);
    const events = new DecodeEventCounters();
    const names = this.eventNames;
    for (let i = 0; i < names.length; i++) {
      const at = DECODE_INDEX.get(names[i] as string);
      if (at !== undefined) events.counts[at] = counts[i] as number;
    }
    return { events };
  }

  private refreshFlowStats(): void {
    const s = this.addon.pipelineStats(this.handle);
    this.flows.stats.flows = s[9] as number;
    this.flows.stats.records = s[10] as number;
    this.flows.stats.overflowPackets = s[11] as number;
  }

  /**
   * The binding's index in the engine. A binding whose ifindex cache was replaced since (the live
   * agent looks interface names up afresh every few seconds) has the engine's copy cleared first,
   * after the records handed over before it ran.
   */
  private bindingIndex(binding: CaptureBinding): number {
    let i = this.bindings.get(binding);
    if (i === undefined) {
      i = this.bindingList.length;
      this.bindings.set(binding, i);
      this.bindingList.push(binding);
      this.ifindexCaches[i] = binding.ifaceByIfindex;
    } else if (this.ifindexCaches[i] !== binding.ifaceByIfindex) {
      this.submit();
      this.addon.pipelineClearIfindexes(this.handle, i);
      this.ifindexCaches[i] = binding.ifaceByIfindex;
    }
    return i;
  }

  /** config.acceptInterface, asked once per interface (SightingPipeline.accepts). */
  private accepts(ifaceId: number, name: string): boolean {
    const accept = this.config.acceptInterface;
    if (!accept) return true;
    if (ifaceId >= this.acceptance.length) {
      const grown = new Uint8Array(Math.max(ifaceId + 1, this.acceptance.length * 2));
      grown.set(this.acceptance);
      this.acceptance = grown;
    }
    let a = this.acceptance[ifaceId] as number;
    if (a === 0) {
      a = accept(name) === false ? 2 : 1;
      this.acceptance[ifaceId] = a;
    }
    return a === 1;
  }

  private registryChanged(): boolean {
    const r = this.registry;
    if (r.interfaces.length !== this.syncedIfaces || r.nodes.length !== this.syncedNodes) return true;
    const covers = this.syncedCovers;
    for (let i = 0; i < r.nodes.length; i++) if ((r.nodes[i]?.coversAllInterfaces ? 1 : 0) !== covers[i]) return true;
    return false;
  }

  /**
   * Tells the engine the registry as it stands, or (mid-block, `nodesUpTo`) only its first nodes:
   * the block's records were handed over before any node registered since, and must be matched
   * without it (SightingPipeline counts nodes per record). Interfaces of such newer nodes are told
   * as placeholders no record of the block can name; the next record resyncs everything.
   */
  private syncRegistry(nodesUpTo = Infinity): void {
    const r = this.registry;
    const nodes = Math.min(r.nodes.length, nodesUpTo);
    const ifaceNode = new Uint32Array(r.interfaces.length);
    const ifaceRole = new Uint8Array(r.interfaces.length);
    const nodeCovers = new Uint8Array(nodes);
    const nodeIfaces = new Uint32Array(nodes);
    for (const i of r.interfaces) {
      if (i.node.index >= nodes) continue;
      ifaceNode[i.id] = i.node.index;
      ifaceRole[i.id] = (ROLE_CODES[i.role] ?? 0) | (this.accepts(i.id, i.name) ? 0 : NOT_ANALYSED);
      nodeIfaces[i.node.index] = (nodeIfaces[i.node.index] as number) + 1;
    }
    for (const n of r.nodes) if (n.index < nodes) nodeCovers[n.index] = n.coversAllInterfaces ? 1 : 0;
    this.addon.pipelineSyncRegistry(this.handle, ifaceNode, ifaceRole, nodeCovers, nodeIfaces);
    this.syncedIfaces = r.interfaces.length;
    this.syncedNodes = nodes;
    this.syncedCovers = nodeCovers;
  }

  /** SightingPipeline.ifaceForIfindex for record r of the block, then tells the engine. */
  private registerIfindex(r: number): void {
    const binding = this.bindingList[this.meta[r * PIPELINE_RECORD_WORDS + 6] as number] as CaptureBinding;
    const id = this.registerIfindexFor(binding, this.out[0] as number, this.out[1] as number);
    this.meta[r * PIPELINE_RECORD_WORDS + 4] = id;
    // The record's own node is told whatever happens (its records are about to run).
    if (this.registryChanged()) this.syncRegistry(Math.max(this.syncedNodes, (this.registry.interfaces[id]?.node.index ?? 0) + 1));
  }

  /** The interface id of a Linux ifindex of `binding` (registered as SightingPipeline.ifaceForIfindex does), told to the engine. */
  private registerIfindexFor(binding: CaptureBinding, ifindex: number, hatype: number): number {
    const cache = binding.ifaceByIfindex;
    let id = ifindex >= 0 && ifindex < cache.length ? (cache[ifindex] as number) : -1;
    if (id < 0) {
      // An unnamed loopback is still recognisable by its hardware type (ARPHRD_LOOPBACK).
      const name = binding.ifnameByIndex.get(ifindex) ?? (hatype === ARPHRD_LOOPBACK ? 'lo' : `if${ifindex}`);
      id = this.registry.interface(binding.node, name).id;
      if (ifindex >= 0 && ifindex < 65536) {
        if (ifindex >= binding.ifaceByIfindex.length) {
          const grown = new Int32Array(Math.max(ifindex + 1, binding.ifaceByIfindex.length * 2)).fill(-1);
          grown.set(binding.ifaceByIfindex);
          binding.ifaceByIfindex = grown;
          // Grown, not replaced: the engine's copy stays.
          this.ifindexCaches[this.bindings.get(binding) as number] = grown;
        }
        binding.ifaceByIfindex[ifindex] = id;
      }
    }
    if (ifindex >= 0 && ifindex < 65536) this.addon.pipelineSetIfindex(this.handle, this.bindings.get(binding) as number, ifindex, id);
    return id;
  }

  private observeWalkUndecoded(data: Uint8Array, linkType: number): void {
    const observer = this.config.onUndecodedTunnel;
    const out = this.walkOut;
    const count = out[WALK_OUT_UNDECODED] as number;
    for (let i = 0; i < count; i++) {
      const u = WALK_OUT_HEAD + i * WALK_UNDECODED_WORDS;
      observer?.(this.tunnelLayers(data, out[u] as number, out[u + 1] as number, linkType), out[u + 3] as number, out[u + 4] as number, out[u + 2] as number);
    }
  }

  /** The outer layers of an undecoded tunnel packet, decoded again by the engine's decoder. */
  private tunnelLayers(data: Uint8Array, offset: number, length: number, linkType: number): TunnelLayersView {
    this.layersDecoder ??= this.addon.createDecoder();
    const v = this.addon.decodeForTest(this.layersDecoder, data, offset, length, linkType).view;
    return { ...v, encapOuterSrc: Uint32Array.from(v.encapOuterSrc), encapOuterDst: Uint32Array.from(v.encapOuterDst) };
  }

  private observeUndecoded(count: number): void {
    const observer = this.config.onUndecodedTunnel;
    if (!observer) return;
    for (let i = 0; i < count; i++) {
      const r = this.undecoded[2 * i] as number;
      const m = r * PIPELINE_RECORD_WORDS;
      observer(this.tunnelLayers(this.data, this.meta[m] as number, this.meta[m + 1] as number, this.meta[m + 3] as number), this.undecoded[2 * i + 1] as number, this.ts[r] as number, this.meta[m + 2] as number);
    }
  }
}
