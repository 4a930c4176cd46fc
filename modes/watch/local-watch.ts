/**
 * Watching this host live, in one process: the agent's live node (capture, pipeline, kernel
 * evidence) with the collector's judging and explaining, reporting drop events as they appear and
 * as they grow.
 */
import type { LiveCaptureOptions } from '../../agent/capture/live-capture.js';
import type { VanishedGroup } from '../../core/findings/hop.js';
import { LiveNode } from '../../agent/live/live-node.js';
import { findDrops, type DropFindingStats } from '../../core/correlate/find-drops.js';
import type { ExplainedDrop } from '../../core/explain/explain-vanished.js';

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
  const reported = new Map<string, number>();
  const withKernel = options.kernelEvidence !== false;
  const evidenceOf = (live: LiveNode) => (withKernel ? (g: VanishedGroup) => live.kernel.evidenceFor(g) : undefined);
  const live: LiveNode = new LiveNode({
    node: options.node,
    ...(options.windowMs !== undefined ? { windowMs: options.windowMs } : {}),
    ...(options.capture ? { capture: options.capture } : {}),
    kernelEvidence: withKernel,
    flowIntervalMs: 2000,
    ...(options.onReady ? { onReady: options.onReady } : {}),
    ...(options.onNotice ? { onNotice: options.onNotice } : {}),
    onTick: (node) => {
      for (const d of findDrops(node.pipeline, undefined, evidenceOf(node), node.judged().vanished).drops) {
        const before = reported.get(d.event.id);
        if (before === undefined || d.event.packets > before) {
          reported.set(d.event.id, d.event.packets);
          options.onDrop(d, before === undefined);
        }
      }
    },
  });
  const counters = await live.run(signal);
  const findings = findDrops(live.pipeline, undefined, evidenceOf(live), live.judged().vanished);
  return { drops: findings.drops, stats: { ...findings.stats, packets: live.pipeline.stats.records, kernelDropped: counters.droppedByKernel } };
}
