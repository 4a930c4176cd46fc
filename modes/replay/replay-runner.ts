/**
 * Forensic replay: the live pipeline in one process, fed from capture files.
 *   files -> readers -> each input's RecordQueue -> merged in canonical order -> engine
 *         (decode, fingerprint, flows, hop matching: agent/flow) -> NodeFindings per node
 *         -> core: stitch across nodes, judge, explain, merge
 *
 * One answer for one set of packets (CONTRACT.md): records reach the engine in one canonical order
 * (time, node, interface, order on the interface) whatever the order of the inputs, how they were
 * chunked, compressed or split into files; and everything the engine does on a clock (evaluating
 * closed windows, emitting flows, handing out findings) runs on the capture time of that sequence.
 * Memory stays bounded by the correlation window and the reorder window (multi-interface pcapngs
 * only) whatever the file sizes.
 */
import { CaptureInputError } from '../../agent/capture/capture-input.js';
import { CaptureFormatError, CaptureRecord, recordTimeMs } from '../../agent/capture/capture-record.js';
import { InterfaceRegistry } from '../../agent/flow/interface-registry.js';
import { DEFAULT_HOP_MATCHER_CONFIG, DEFAULT_PACKET_BYTES_CONFIG } from '../../agent/native/pipeline-config.js';
import { findDrops, type DropFindingStats } from '../../core/correlate/find-drops.js';
import { DEFAULT_STITCHER_CONFIG, TunnelStitcher } from '../../core/correlate/tunnel-stitcher.js';
import type { ExplainedDrop } from '../../core/explain/explain-drop.js';
import type { FlowRecord } from '../../core/findings/flow-record.js';
import type { InterfaceRole } from '../../core/findings/interface-roles.js';
import type { NodeCounters, NodeFindings } from '../../core/findings/node-findings.js';
import type { JudgedCandidate } from '../../core/judge/judge-findings.js';
import { NativeSightingPipeline, WalkClock } from '../../agent/native/native-sighting-pipeline.js';
import { NodeFindingsAccumulator } from './node-findings-accumulator.js';
import { ReplayInput, type ReplayInputSpec } from './replay-input.js';
import { FlowCatalog, type EncapsulationSeen, type ReplayFlow } from './flow-catalog.js';

export interface ReplayOptions {
  readonly inputs: readonly ReplayInputSpec[];
  readonly windowMs?: number;
  /** Names for the interface indexes of Linux `any` (SLL2) captures. */
  readonly ifnames?: ReadonlyMap<number, string>;
  readonly roles?: ReadonlyMap<string, InterfaceRole>;
  /** Called after every chunk with the bytes read so far. */
  readonly onProgress?: (bytesRead: number) => void;
  /** Receives the interval flow records (for sending to a collector). */
  readonly onFlow?: (record: FlowRecord) => void;
  /** Keep each vanished group's first packet as captured (sending to a collector needs it). */
  readonly keepPacketBytes?: boolean;
  /** Keep every encapsulated departure and arrival in the findings (goldens; memory grows with them). */
  readonly keepTunnelHops?: boolean;
}

export interface ReplayNodeStats extends NodeCounters {
  readonly node: string;
  readonly coversAllInterfaces: boolean;
  /** Each interface with the capture records read on it (IP or not) and their bytes on the wire. */
  readonly interfaces: readonly { readonly name: string; readonly role: InterfaceRole; readonly packets: number; readonly bytes: number }[];
}

export interface ReplayStats extends DropFindingStats {
  readonly inputs: number;
  readonly records: number;
  readonly bytes: number;
  readonly ipPackets: number;
  readonly truncated: number;
  readonly malformed: number;
  readonly notIp: number;
  /** Tunnel packets whose payload was not decoded (listed in flows with `undecoded`), never judged. */
  readonly undecodedTunnel: number;
  /** Packets per encapsulation chain seen. */
  readonly encapsulations: readonly EncapsulationSeen[];
  /** Flow table entries created (a flow idle for two intervals that comes back counts again). */
  readonly flows: number;
  /** Flow records emitted: one per flow per 2 s interval it had packets in (what an agent sends). */
  readonly flowRecords: number;
  readonly windowMs: number;
  readonly firstPacket: string | null;
  readonly lastPacket: string | null;
  readonly nodes: ReplayNodeStats[];
  readonly decodeEvents: Record<string, number>;
  readonly crossNode: { departures: number; arrivals: number; matched: number };
  readonly warnings: string[];
}

export interface ReplayResult {
  readonly drops: ExplainedDrop[];
  /** What was decoded: flows over the whole input (CONTRACT.md). */
  readonly flows: ReplayFlow[];
  /** The same flows a page at a time, never all as objects at once (what `--json` writes). */
  flowPages(pageSize: number): Iterable<ReplayFlow[]>;
  readonly stats: ReplayStats;
  /** What each node's packets taught (the seam's data), nodes by name. */
  readonly findings: readonly NodeFindings[];
  /** The candidates judged vanished (what `--collector` sends as drops). */
  readonly vanished: readonly JudgedCandidate[];
  /** The engine's own work: sightings correlated, and the wall time spent inside it. */
  readonly engine: { readonly sightings: number; readonly seconds: number };
}

/** An input could not be read: names the input, keeps the reader's one-line reason. */
export class ReplayInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplayInputError';
  }
}

/**
 * Capture time between flow intervals, and between findings taken from the engine: flows idle for
 * two intervals free their slots and departures wait in the stitcher only until their target has
 * passed them, which bounds memory by the traffic of the last few seconds.
 */
const INTERVAL_MS = 2_000;
/** Capture time between evaluations of closed correlation windows. */
const EXPIRE_STEP_MS = 1;

export async function runReplay(options: ReplayOptions): Promise<ReplayResult> {
  const windowMs = options.windowMs ?? DEFAULT_HOP_MATCHER_CONFIG.windowMs;
  const registry = new InterfaceRegistry(options.roles ?? new Map());
  const pipeline = new NativeSightingPipeline(
    registry,
    {
      matcher: { ...DEFAULT_HOP_MATCHER_CONFIG, windowMs },
      ...(options.keepPacketBytes ? { packetBytes: DEFAULT_PACKET_BYTES_CONFIG } : {}),
      // Called only while records are processed, after `catalog` exists.
      onUndecodedTunnel: (view, ifaceId, tsMs, length) => catalog.addUndecodedTunnel(view, ifaceId, tsMs, length),
    },
  );
  const catalog = new FlowCatalog(registry, pipeline.flows);
  const onFlow = (record: FlowRecord, slot: number): void => {
    catalog.addFlowRecord(slot, record);
    options.onFlow?.(record);
  };
  // Without a consumer of the records themselves (--collector), the catalog takes their counters only.
  const onFlowCounts = (slot: number, packets: number, bytes: number, first: number, last: number): void => catalog.addFlowCounts(slot, packets, bytes, first, last);
  const flushFlows = (): void => (options.onFlow ? pipeline.flushFlows(onFlow) : pipeline.flushFlowCounts(onFlowCounts));
  const ifnames = options.ifnames ?? new Map<number, string>();
  const inputs = options.inputs.map((spec) => new ReplayInput(spec, registry, ifnames));
  const stitcher = new TunnelStitcher(DEFAULT_STITCHER_CONFIG);
  const accumulated = new NodeFindingsAccumulator(stitcher, options.keepTunnelHops ?? false);
  /** Per node, the end of its captures read to their end so far (absent while all go on). */
  let ended: ReadonlyMap<string, number> = new Map();
  const endedAt = (node: string): number => ended.get(node) ?? Infinity;
  /** Capture time before which every packet of the node has been evaluated. */
  const coveredUntil = (node: string, now: number): number => Math.min(now, endedAt(node)) - windowMs;
  const takeFindings = (now: number, final: boolean): void => {
    const taken = pipeline.matchers.flatMap((m) => (m ? [m.takeFindings(final ? nodeEnd(inputs, m.node.name) : coveredUntil(m.node.name, now))] : []));
    accumulated.add(taken, now);
  };

  // The engine's clock: the watermark (capture time of the last evaluation) and the next interval.
  // The native engine's walk (one input of pcap records) runs the same clock in C on these words.
  const clock = new WalkClock(EXPIRE_STEP_MS, INTERVAL_MS);
  const onInterval = (): void => {
    flushFlows();
    takeFindings(clock.watermark, false);
    clock.nextInterval = intervalAfter(clock.watermark);
  };
  /** One record, in canonical order, into the engine; the engine's clock runs on its time. */
  const process = (record: CaptureRecord, input: ReplayInput): void => {
    pipeline.onRecord(record, input.binding);
    const ts = recordTimeMs(record);
    // Closed windows are evaluated at most once per millisecond of capture time (a call per record
    // would cost a boxed number each): still a function of the records alone.
    if (ts < clock.watermark + EXPIRE_STEP_MS) return;
    const watermark = (clock.watermark = ts);
    // A node whose captures ended is not judged past their end: its packets' exits may be after it.
    for (const m of pipeline.matchers) m?.expire(Math.min(watermark, endedAt(m.node.name)));
    if (clock.nextInterval === Infinity) clock.nextInterval = intervalAfter(watermark);
    else if (watermark >= clock.nextInterval) onInterval();
  };
  // One input has nothing to be merged with: its records (in its canonical order) go to the engine as
  // they are parsed, without waiting in its queue; the native engine walks a pcap's records itself
  // (no node's captures have ended while it reads, so no matcher's evaluation is capped).
  const only = inputs.length === 1 ? inputs[0] : undefined;
  if (only) {
    only.direct = (r) => process(r, only);
    only.directWalk = (chunk, pos, end, format) => pipeline.walkPcap(chunk, pos, end, format, only.binding, clock, onInterval);
  }

  const record = new CaptureRecord();
  let bytesRead = 0;
  try {
    for (;;) {
      // Every input that can still produce records must show its next one before any is released.
      for (const input of inputs) {
        while (!input.queue.ready && !input.stream.done) {
          const before = input.stream.bytesRead;
          await pumpInput(input);
          if (input.stream.done) ended = endedNodes(inputs);
          bytesRead += input.stream.bytesRead - before;
          options.onProgress?.(bytesRead);
        }
      }
      const next = earliest(inputs);
      if (!next) break;
      next.queue.pop(record);
      process(record, next);
    }
  } finally {
    for (const i of inputs) if (!i.stream.done) await i.stream.close();
  }
  for (const m of pipeline.matchers) m?.expireAll(nodeEnd(inputs, m.node.name));
  flushFlows();
  const watermark = clock.watermark;
  takeFindings(watermark, true);
  const findings = accumulated.finish(pipeline);
  const losses = stitcher.expire(Number.isFinite(watermark) ? watermark : 0, true);
  const result = findDrops(findings, losses);
  const stats = replayStats(inputs, pipeline, findings, result.stats, stitcher, windowMs, catalog);
  // Flows are made when first asked for: a capture can hold hundreds of thousands, and the human
  // report without --flows never needs them.
  let flows: ReplayFlow[] | undefined;
  return {
    drops: result.drops,
    get flows(): ReplayFlow[] {
      flows ??= catalog.flows();
      return flows;
    },
    flowPages: (pageSize: number) => (flows ? pagesOf(flows, pageSize) : catalog.flowPages(pageSize)),
    stats,
    findings,
    vanished: result.vanished,
    engine: {
      sightings: findings.reduce((n, f) => n + f.counters.sightings, 0),
      seconds: Number(pipeline.engineNanos) / 1e9,
    },
  };
}

async function pumpInput(input: ReplayInput): Promise<void> {
  try {
    await input.pump();
  } catch (e) {
    if (e instanceof CaptureInputError) throw new ReplayInputError(e.message);
    if (e instanceof CaptureFormatError) throw new ReplayInputError(`${input.label}: ${e.message}`);
    throw e;
  }
}

/** The input whose next record comes first: by time, then node and interface, then input and order. */
function earliest(inputs: readonly ReplayInput[]): ReplayInput | undefined {
  let best: ReplayInput | undefined;
  for (const i of inputs) {
    if (!i.queue.ready) continue;
    if (!best || before(i, best)) best = i;
  }
  return best;
}

function before(a: ReplayInput, b: ReplayInput): boolean {
  const qa = a.queue;
  const qb = b.queue;
  if (qa.headSec() !== qb.headSec()) return qa.headSec() < qb.headSec();
  if (qa.headNsec() !== qb.headNsec()) return qa.headNsec() < qb.headNsec();
  const ka = a.tieKey(qa.headInterface());
  const kb = b.tieKey(qb.headInterface());
  if (ka !== kb) return ka < kb;
  // One interface split across files: by file, then by order in it.
  if (a.spec.path !== b.spec.path) return a.spec.path < b.spec.path;
  return qa.headSeq() < qb.headSeq();
}

function* pagesOf<T>(items: readonly T[], pageSize: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += pageSize) yield items.slice(i, i + pageSize);
}

function intervalAfter(ts: number): number {
  return (Math.floor(ts / INTERVAL_MS) + 1) * INTERVAL_MS;
}

/**
 * When the captures of a node ended: the last packet among all its inputs. A pcap does not record
 * when its capture stopped; a node's captures start and stop together in practice, and an interface
 * that went quiet early (a pod's veth) was still being captured, so its last packet is no end.
 */
function nodeEnd(inputs: readonly ReplayInput[], node: string): number {
  let end = -Infinity;
  for (const i of inputs) if (i.nodes.has(node)) end = Math.max(end, i.lastTs);
  return end === -Infinity ? Infinity : end;
}

/** The end of every node all of whose inputs have been read to their end (the others go on). */
function endedNodes(inputs: readonly ReplayInput[]): Map<string, number> {
  const ended = new Map<string, number>();
  const going = new Set<string>();
  for (const i of inputs) for (const node of i.nodes) if (!i.stream.done) going.add(node);
  for (const i of inputs) {
    for (const node of i.nodes) if (!going.has(node)) ended.set(node, Math.max(ended.get(node) ?? -Infinity, i.lastTs));
  }
  return ended;
}

/** Capture records read on one interface of a node, and their bytes on the wire. */
function interfaceCounts(pipeline: NativeSightingPipeline, node: string, name: string): { packets: number; bytes: number } {
  const iface = pipeline.registry.interfaces.find((i) => i.node.name === node && i.name === name);
  if (!iface) return { packets: 0, bytes: 0 };
  return { packets: pipeline.interfacePackets[iface.id] ?? 0, bytes: pipeline.interfaceBytes[iface.id] ?? 0 };
}

function replayStats(inputs: readonly ReplayInput[], pipeline: NativeSightingPipeline, findings: readonly NodeFindings[], judged: DropFindingStats, stitcher: TunnelStitcher, windowMs: number, catalog: FlowCatalog): ReplayStats {
  let firstTs = Infinity;
  let lastTs = -Infinity;
  for (const i of inputs) {
    if (i.lastTs > lastTs) lastTs = i.lastTs;
    if (i.firstTs < firstTs) firstTs = i.firstTs;
  }
  const ps = pipeline.stats;
  return {
    inputs: inputs.length,
    records: ps.records,
    bytes: ps.bytes,
    ipPackets: ps.decoded + ps.truncated + ps.malformed,
    truncated: ps.truncated,
    malformed: ps.malformed,
    notIp: ps.notIp,
    undecodedTunnel: ps.undecodedTunnel,
    encapsulations: catalog.encapsulations(),
    flows: pipeline.flows.stats.flows,
    flowRecords: pipeline.flows.stats.records,
    windowMs,
    firstPacket: Number.isFinite(firstTs) ? new Date(firstTs).toISOString() : null,
    lastPacket: Number.isFinite(lastTs) ? new Date(lastTs).toISOString() : null,
    nodes: findings.map((f) => ({ node: f.node, coversAllInterfaces: f.coversAllInterfaces, interfaces: f.interfaces.map((i) => ({ ...i, ...interfaceCounts(pipeline, f.node, i.name) })), ...f.counters })),
    decodeEvents: pipeline.decoder.events.toRecord(),
    crossNode: { departures: stitcher.stats.departures, arrivals: stitcher.stats.arrivals, matched: stitcher.stats.matched },
    warnings: inputs.flatMap((i) => i.allWarnings()).sort(),
    ...judged,
  };
}
