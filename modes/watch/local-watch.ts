/**
 * Watching this host live, in one process: the agent's live node (capture, engine, kernel
 * evidence) hands its findings every tick to the core, which judges, explains and merges them into
 * drop events exactly as the collector does with an agent's batches; each event is reported when it
 * appears and when it grows.
 */
import type { LiveCaptureOptions } from '../../agent/capture/live-capture.js';
import { LiveNode } from '../../agent/live/live-node.js';
import { findDrops, type DropFindingStats } from '../../core/correlate/find-drops.js';
import type { ExplainedDrop } from '../../core/explain/explain-drop.js';
import { emptyJudgingStats } from '../../core/judge/judge-findings.js';
import { mergeDrops, newestFirst } from '../../core/merge/merge-drop.js';

export interface LocalWatchOptions {
  readonly node: string;
  readonly windowMs?: number;
  readonly capture?: LiveCaptureOptions;
  /** A drop event that is new, or has more packets than when last reported. */
  readonly onDrop: (drop: ExplainedDrop, isNew: boolean) => void;
  /** Called once the capture is running. */
  readonly onReady?: () => void;
  /** Ask the kernel (eBPF drop reasons, rp_filter, counters, routes); default true. */
  readonly kernelEvidence?: boolean;
  /** Something the user should know once (the eBPF monitor could not start, and why). */
  readonly onNotice?: (message: string) => void;
}

export interface LocalWatchResult {
  readonly drops: ExplainedDrop[];
  readonly stats: DropFindingStats & { packets: number; kernelDropped: number | undefined };
}

export async function runLocalWatch(options: LocalWatchOptions, signal: AbortSignal): Promise<LocalWatchResult> {
  const drops = new Map<string, ExplainedDrop>();
  const stats: DropFindingStats = { ...emptyJudgingStats(), transitLostPackets: 0 };
  const live: LiveNode = new LiveNode({
    node: options.node,
    ...(options.windowMs !== undefined ? { windowMs: options.windowMs } : {}),
    ...(options.capture ? { capture: options.capture } : {}),
    kernelEvidence: options.kernelEvidence !== false,
    flowIntervalMs: 2000,
    ...(options.onReady ? { onReady: options.onReady } : {}),
    ...(options.onNotice ? { onNotice: options.onNotice } : {}),
    onTick: async (node) => {
      const found = findDrops([await node.takeFindings()]);
      stats.vanishedPackets += found.stats.vanishedPackets;
      stats.unobservedPackets += found.stats.unobservedPackets;
      stats.localPackets += found.stats.localPackets;
      stats.leftPackets += found.stats.leftPackets;
      for (const [reason, n] of Object.entries(found.stats.unobservedReasons)) stats.unobservedReasons[reason] = (stats.unobservedReasons[reason] ?? 0) + n;
      for (const d of found.drops) {
        const prev = drops.get(d.event.id);
        const merged = prev ? mergeDrops(prev, d) : d;
        drops.set(d.event.id, merged);
        options.onDrop(merged, prev === undefined);
      }
    },
  });
  const counters = await live.run(signal);
  return { drops: [...drops.values()].sort(newestFirst), stats: { ...stats, packets: live.pipeline.stats.records, kernelDropped: counters.droppedByKernel } };
}
