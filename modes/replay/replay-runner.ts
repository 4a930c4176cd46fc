/**
 * Forensic replay: the live pipeline in one process, fed from capture files.
 *   files -> readers -> decode -> fingerprint -> flows + hop matching (agent/flow)
 *         -> cross-node stitching -> judging -> explaining (collector)
 * Inputs are read a chunk at a time from whichever lags behind in capture time, so several files of
 * one node (or of several nodes) interleave as the kernel saw them, and memory stays bounded by the
 * correlation window whatever the file sizes.
 */
import { judgeGroups, type JudgedVanished } from '../../agent/flow/judged-groups.js';
import { DEFAULT_PACKET_BYTES_CONFIG } from '../../agent/flow/packet-bytes-ring.js';
import { CaptureInputError } from '../../agent/capture/capture-input.js';
import { CaptureFormatError } from '../../agent/capture/capture-record.js';
import { addressKey, parseAddress } from '../../core/net/address.js';
import type { FlowRecord } from '../../core/findings/flow-record.js';
import { InterfaceRegistry } from '../../agent/flow/interface-registry.js';
import type { InterfaceRole } from '../../core/findings/interface-roles.js';
import { DEFAULT_HOP_MATCHER_CONFIG } from '../../agent/flow/node-hop-matcher.js';
import { SightingPipeline } from '../../agent/flow/sighting-pipeline.js';
import { CrossNodeStitcher } from '../../core/correlate/cross-node-stitcher.js';
import { findDrops, type DropFindingStats } from '../../core/correlate/find-drops.js';
import type { ExplainedDrop } from '../../core/explain/explain-vanished.js';
import { ReplayInput, type ReplayInputSpec } from './replay-input.js';

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
}

export interface ReplayNodeStats {
  readonly node: string;
  readonly coversAllInterfaces: boolean;
  readonly interfaces: { readonly name: string; readonly role: InterfaceRole }[];
  readonly packets: number;
  readonly sightings: number;
  readonly forwarded: number;
  readonly originated: number;
  readonly directionUnknown: number;
  readonly notUnicast: number;
  readonly truncatedUnjudged: number;
  readonly captureEndedUnjudged: number;
}

export interface ReplayStats extends DropFindingStats {
  readonly inputs: number;
  readonly records: number;
  readonly bytes: number;
  readonly ipPackets: number;
  readonly truncated: number;
  readonly malformed: number;
  readonly notIp: number;
  readonly flows: number;
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
  readonly stats: ReplayStats;
  /** The vanished groups the drops were explained from (what `--collector` sends). */
  readonly vanished: readonly JudgedVanished[];
}

/** An input could not be read: names the input, keeps the reader's one-line reason. */
export class ReplayInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplayInputError';
  }
}

/**
 * Flow records are emitted per this much capture time; knowledge is learned from them, and flows idle
 * for two intervals free their slots, which bounds memory by the traffic of the last few seconds.
 */
const FLOW_INTERVAL_MS = 2_000;

export async function runReplay(options: ReplayOptions): Promise<ReplayResult> {
  const windowMs = options.windowMs ?? DEFAULT_HOP_MATCHER_CONFIG.windowMs;
  const registry = new InterfaceRegistry(options.roles ?? new Map());
  const scratch = new Uint32Array(4);
  // Clocks of different nodes disagree by milliseconds: stitching across them waits longer.
  const stitcher: CrossNodeStitcher = new CrossNodeStitcher(Math.max(windowMs, 1000), (address: string): number => {
    const v = parseAddress(address, scratch);
    if (v === 0) return -1;
    const key = addressKey(v, scratch);
    return pipeline.matchers.findIndex((m) => m?.knowledge.isLocal(key) === true);
  });
  const pipeline: SightingPipeline = new SightingPipeline(registry, {
    matcher: { ...DEFAULT_HOP_MATCHER_CONFIG, windowMs },
    crossNode: stitcher,
    ...(options.keepPacketBytes ? { packetBytes: DEFAULT_PACKET_BYTES_CONFIG } : {}),
  });
  const ifnames = options.ifnames ?? new Map<number, string>();
  const inputs = options.inputs.map((spec) => new ReplayInput(spec, pipeline, ifnames));
  let firstTs = Infinity;
  let lastFlush = -Infinity;
  let bytesRead = 0;
  const active = [...inputs];
  try {
    while (active.length > 0) {
      let next = active[0] as ReplayInput;
      for (const i of active) if (i.lastTs < next.lastTs) next = i;
      const before = next.stream.bytesRead;
      let more: boolean;
      try {
        more = await next.stream.pump();
      } catch (e) {
        if (e instanceof CaptureInputError) throw new ReplayInputError(e.message);
        if (e instanceof CaptureFormatError) throw new ReplayInputError(`${next.label}: ${e.message}`);
        throw e;
      }
      bytesRead += next.stream.bytesRead - before;
      if (!more) active.splice(active.indexOf(next), 1);
      let watermark = Infinity;
      for (const i of active) if (i.lastTs < watermark) watermark = i.lastTs;
      if (watermark !== Infinity && watermark !== -Infinity) {
        pipeline.advance(watermark);
        stitcher.expire(watermark);
        if (lastFlush === -Infinity) lastFlush = watermark;
        else if (watermark - lastFlush >= FLOW_INTERVAL_MS) {
          pipeline.flushFlows(options.onFlow);
          lastFlush = watermark;
        }
      }
      options.onProgress?.(bytesRead);
    }
  } finally {
    for (const i of active) await i.stream.close();
  }
  let endTs = Infinity;
  for (const i of inputs) if (i.lastTs > -Infinity && i.lastTs < endTs) endTs = i.lastTs;
  pipeline.finish(endTs, options.onFlow);
  stitcher.expire(Infinity, true);
  const judged = judgeGroups(pipeline);
  const findings = findDrops(pipeline, stitcher, undefined, judged.vanished);
  let lastTs = -Infinity;
  for (const i of inputs) {
    if (i.lastTs > lastTs) lastTs = i.lastTs;
    if (i.firstTs < firstTs) firstTs = i.firstTs;
  }
  const ps = pipeline.stats;
  const stats: ReplayStats = {
    inputs: inputs.length,
    records: ps.records,
    bytes: ps.bytes,
    ipPackets: ps.decoded + ps.truncated + ps.malformed,
    truncated: ps.truncated,
    malformed: ps.malformed,
    notIp: ps.notIp,
    flows: pipeline.flows.stats.flows,
    windowMs,
    firstPacket: Number.isFinite(firstTs) ? new Date(firstTs).toISOString() : null,
    lastPacket: Number.isFinite(lastTs) ? new Date(lastTs).toISOString() : null,
    nodes: registry.nodes.map((n) => {
      const m = pipeline.matchers[n.index];
      return {
        node: n.name,
        coversAllInterfaces: n.coversAllInterfaces,
        interfaces: registry.interfacesOf(n).map((i) => ({ name: i.name, role: i.role })),
        packets: m?.stats.packets ?? 0,
        sightings: m?.stats.sightings ?? 0,
        forwarded: m?.stats.forwarded ?? 0,
        originated: m?.stats.originated ?? 0,
        directionUnknown: m?.stats.directionUnknown ?? 0,
        notUnicast: m?.stats.notUnicast ?? 0,
        truncatedUnjudged: m?.stats.truncatedUnjudged ?? 0,
        captureEndedUnjudged: m?.stats.captureEndedUnjudged ?? 0,
      };
    }),
    decodeEvents: pipeline.decoder.events.toRecord(),
    crossNode: { departures: stitcher.stats.departures, arrivals: stitcher.stats.arrivals, matched: stitcher.stats.matched },
    warnings: inputs.flatMap((i) => [
      ...i.warnings,
      ...(i.skippedOutOfRange > 0 ? [`${i.label}: ${i.skippedOutOfRange} packet(s) skipped: timestamp before 1970 or past year 9999`] : []),
    ]),
    ...findings.stats,
  };
  return { drops: findings.drops, stats, vanished: judged.vanished };
}
