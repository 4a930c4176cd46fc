/**
 * The one merge rule for drop events with the same id (the same group of packets, reported in
 * parts: a live agent's successive batches, a replay's groups judged through different candidates):
 * packets add up, first and last seen widen, and the best-supported explanation wins, a kernel drop
 * event (confirmed) over the node's configuration (likely) over the traffic alone (possible); on
 * equal support the newer part's wins, since its evidence is the more recent. The path drawn is the
 * first part's (its first packet's), unless that part had none. The kernel's word on the packets
 * (DropEvent.kernel) is merged on its own: each part counts its own packets' kernel drop events, so
 * for the same reason they add up; between two reasons one that says why wins over a generic one
 * (NOT_SPECIFIED), then the one more packets had (on a tie the newer part's), and a part without any
 * takes the other's, so a group stays confirmed by the kernel once any of its packets was. The
 * verdict and evidence follow the reason that won, and its evidence line counts the merged packets.
 *
 * Replay and the collector both merge with this, so the same packets get the same verdict in
 * either; replay merges in a canonical order, so its result does not depend on its inputs' order.
 */
import { recountKernelEvidence, type ExplainedDrop } from '../explain/explain-drop.js';
import { isGenericKernelReason } from '../findings/kernel-evidence.js';
import type { Confidence, DropEvent, KernelDropSummary } from '../explain/drop-event.js';

export const CONFIDENCE_RANK: Readonly<Record<Confidence, number>> = { possible: 0, likely: 1, confirmed: 2 };

/** `next` (newer) merged into `prev` (same id). */
export function mergeDropEvents(prev: DropEvent, next: DropEvent): DropEvent {
  const kernel = mergeKernel(prev.kernel, next.kernel);
  // Two parts the kernel confirmed with different reasons: the explanation goes with the reason
  // that won, so the verdict never contradicts the kernel summary beside it.
  const better =
    prev.kernel && next.kernel && prev.kernel.reason !== next.kernel.reason
      ? kernel === next.kernel
      : CONFIDENCE_RANK[next.confidence] >= CONFIDENCE_RANK[prev.confidence];
  const merged: DropEvent = {
    ...(better ? next : prev),
    id: prev.id,
    packets: prev.packets + next.packets,
    firstSeen: prev.firstSeen < next.firstSeen ? prev.firstSeen : next.firstSeen,
    lastSeen: prev.lastSeen > next.lastSeen ? prev.lastSeen : next.lastSeen,
    kernel,
  };
  return { ...merged, evidence: recountKernelEvidence(merged) };
}

/** `next` (newer) merged into `prev`: see the rule above. */
function mergeKernel(prev: KernelDropSummary | null, next: KernelDropSummary | null): KernelDropSummary | null {
  if (prev === null) return next;
  if (next === null) return prev;
  // Each part counted different packets (agents send only a group's new ones), never the same twice.
  if (prev.reason === next.reason) return { reason: prev.reason, packets: prev.packets + next.packets };
  // A reason that says why beats one that does not (as explainVanished ranks them), then packets.
  const prevGeneric = isGenericKernelReason(prev.reason);
  if (prevGeneric !== isGenericKernelReason(next.reason)) return prevGeneric ? next : prev;
  return next.packets >= prev.packets ? next : prev;
}

export function mergeDrops(prev: ExplainedDrop, next: ExplainedDrop): ExplainedDrop {
  return { event: mergeDropEvents(prev.event, next.event), path: prev.path.length > 0 ? prev.path : next.path };
}

/** Merges a list by id, in list order; the result is sorted newest first (then by id). */
export function mergeAll(drops: Iterable<ExplainedDrop>): ExplainedDrop[] {
  const byId = new Map<string, ExplainedDrop>();
  for (const d of drops) {
    const prev = byId.get(d.event.id);
    byId.set(d.event.id, prev ? mergeDrops(prev, d) : d);
  }
  return [...byId.values()].sort(newestFirst);
}

export function newestFirst(a: ExplainedDrop, b: ExplainedDrop): number {
  const x = a.event;
  const y = b.event;
  return x.lastSeen < y.lastSeen ? 1 : x.lastSeen > y.lastSeen ? -1 : x.id < y.id ? -1 : x.id > y.id ? 1 : 0;
}
