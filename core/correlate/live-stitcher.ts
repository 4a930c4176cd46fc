/**
 * Across nodes, live: agents report the encapsulated departures and arrivals of the same sampled
 * packets (one in N by fingerprint). A departure toward a watched node's address must be matched
 * by an arrival reported by that node's agent. Agents ship these with their flow batches (every
 * ~10 s, each covering what its node saw up to a second before it was sent), so a departure is
 * judged only once the destination's agent has sent a batch covering its time: an arrival missing
 * then is a transit loss, unless the destination's capture lost packets meanwhile (unobserved).
 * A departure whose destination never covers it (its agent silent, or no watched node owns the
 * address) is dropped unjudged after the hold.
 */
import type { Hop, PacketIdentity } from '../findings/hop.js';
import type { ExplainedDrop } from '../explain/explain-vanished.js';
import { transitLossDrop } from './find-drops.js';

export interface StitchedDeparture {
  readonly fingerprint: string;
  readonly node: string;
  readonly outerDst: string;
  readonly ts: number;
  readonly path: Hop[];
  readonly identity: PacketIdentity;
}

export interface StitchedArrival {
  readonly fingerprint: string;
  readonly node: string;
}

interface NodeState {
  addresses: ReadonlySet<string>;
  /** The agent's clock: everything its node saw before this is in the batches received. */
  coveredUntil: number;
  lastBatchAt: number;
  lastLossAt: number;
  capturedLoss: number;
}

export interface LiveStitcherConfig {
  /** How long a departure waits for its arrival, counted from when it was received. */
  readonly holdMs: number;
  /** Cap on departures waiting (the oldest are dropped unjudged beyond it). */
  readonly maxPending: number;
}

export const DEFAULT_LIVE_STITCHER: LiveStitcherConfig = { holdMs: 45_000, maxPending: 200_000 };

/**
 * An agent reports a packet's hops once its window closed and the next tick ran (~1 s); clocks of
 * nodes differ by a little more. A batch sent at T covers what its node saw before T minus this.
 */
export const COVERAGE_MARGIN_MS = 3000;

export class LiveStitcher {
  // Several packets can share a fingerprint (a TCP retransmission is the same packet again), so
  // both sides count: each arrival matches one departure.
  private readonly departures = new Map<string, { d: StitchedDeparture; receivedAt: number }[]>();
  private readonly arrivals = new Map<string, { node: string; count: number; receivedAt: number }>();
  private pending = 0;
  private readonly nodes = new Map<string, NodeState>();
  readonly stats = { departures: 0, arrivals: 0, matched: 0, lost: 0, unobserved: 0, unwatched: 0, overflow: 0 };

  constructor(private readonly config: LiveStitcherConfig = DEFAULT_LIVE_STITCHER) {}

  /**
   * What an agent's batch says about its node: addresses and, for batches that carry its
   * cross-node hops, the agent's send time (`crossNodeSentAt`); and its capture's cumulative loss.
   */
  nodeReport(node: string, now: number, addresses: readonly string[] | undefined, capturedLoss: number, crossNodeSentAt?: number): void {
    let s = this.nodes.get(node);
    if (!s) {
      s = { addresses: new Set(), coveredUntil: -Infinity, lastBatchAt: now, lastLossAt: -Infinity, capturedLoss };
      this.nodes.set(node, s);
    }
    s.lastBatchAt = now;
    if (crossNodeSentAt !== undefined) s.coveredUntil = Math.max(s.coveredUntil, crossNodeSentAt - COVERAGE_MARGIN_MS);
    if (addresses && addresses.length > 0) s.addresses = new Set(addresses);
    if (capturedLoss > s.capturedLoss) s.lastLossAt = now;
    s.capturedLoss = capturedLoss;
  }

  departure(d: StitchedDeparture, now: number): void {
    this.stats.departures++;
    const early = this.arrivals.get(d.fingerprint);
    if (early && early.node !== d.node) {
      if (--early.count === 0) this.arrivals.delete(d.fingerprint);
      this.stats.matched++;
      return;
    }
    if (this.pending >= this.config.maxPending) {
      this.stats.overflow++;
      return;
    }
    const list = this.departures.get(d.fingerprint);
    if (list) list.push({ d, receivedAt: now });
    else this.departures.set(d.fingerprint, [{ d, receivedAt: now }]);
    this.pending++;
  }

  arrival(a: StitchedArrival, now: number): void {
    this.stats.arrivals++;
    const waiting = this.departures.get(a.fingerprint);
    const i = waiting?.findIndex((w) => w.d.node !== a.node) ?? -1;
    if (waiting && i >= 0) {
      waiting.splice(i, 1);
      if (waiting.length === 0) this.departures.delete(a.fingerprint);
      this.pending--;
      this.stats.matched++;
      return;
    }
    const early = this.arrivals.get(a.fingerprint);
    if (early) {
      early.count++;
      early.receivedAt = now;
    } else if (this.arrivals.size < this.config.maxPending) {
      this.arrivals.set(a.fingerprint, { node: a.node, count: 1, receivedAt: now });
    }
  }

  /** Judges the departures their destination has covered; returns the transit losses as drop events. */
  expire(now: number): ExplainedDrop[] {
    const lost: ExplainedDrop[] = [];
    const cutoff = now - this.config.holdMs;
    for (const [fp, list] of this.departures) {
      const kept = list.filter((w) => {
        const target = this.nodeOwning(w.d.outerDst);
        if (!target || target.state.coveredUntil < w.d.ts) {
          if (w.receivedAt > cutoff) return true;
          this.stats.unwatched++;
        } else if (target.state.lastLossAt >= w.receivedAt - this.config.holdMs) {
          this.stats.unobserved++;
        } else {
          this.stats.lost++;
          lost.push(transitLossDrop(w.d.path, w.d.identity, w.d.outerDst, w.d.ts, target.name));
        }
        return false;
      });
      this.pending -= list.length - kept.length;
      if (kept.length === 0) this.departures.delete(fp);
      else this.departures.set(fp, kept);
    }
    for (const [fp, a] of this.arrivals) if (a.receivedAt <= cutoff) this.arrivals.delete(fp);
    return lost;
  }

  private nodeOwning(address: string): { name: string; state: NodeState } | undefined {
    for (const [name, state] of this.nodes) if (state.addresses.has(address)) return { name, state };
    return undefined;
  }
}
