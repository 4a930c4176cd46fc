/**
 * Across nodes: an encapsulated packet that leaves node A toward node B's address must arrive on
 * B. The stitcher takes each node's departures and arrivals (from its findings), matches them by
 * fingerprint, and judges an unmatched departure only once its target node has accounted for the
 * time it should have arrived (the target's `coveredUntil`, plus a slack for clocks): then it is a
 * transit loss, unless the target's own capture lost packets around it (unobserved). A departure
 * toward an address no watched node owns is dropped unjudged after the hold.
 *
 * One stitcher, two callers, one rule: replay feeds each node's findings as capture time advances
 * and calls expire(..., final) at the end of the input; the collector feeds each agent's batch as it
 * arrives. Only what they pass as coverage and as `now` differs.
 *
 * It also lends the hops a packet took on earlier nodes to a candidate that vanished later on its
 * way (recent departures by fingerprint), so a drawn path starts where the packet entered the
 * cluster.
 *
 * Several packets can share a fingerprint (a TCP retransmission identical to the byte), so both
 * sides count: each arrival matches one departure from another node.
 */
import type { Hop } from '../findings/hop.js';
import type { CaptureLossSpan, NodeFindings, TunnelArrival, TunnelDeparture } from '../findings/node-findings.js';

export interface StitcherConfig {
  /** How long (by `now`) a departure waits whose target never covers it (its agent silent, or unwatched). */
  readonly holdMs: number;
  /** Clocks of different nodes disagree: a departure at t is judged once its target covered t + this. */
  readonly clockSlackMs: number;
  /** Cap on departures waiting (beyond it new ones are counted, not kept). */
  readonly maxPending: number;
  /** Departures kept for lending their hops to candidates on the next node. */
  readonly maxLendable: number;
}

export const DEFAULT_STITCHER_CONFIG: StitcherConfig = { holdMs: 45_000, clockSlackMs: 1000, maxPending: 200_000, maxLendable: 100_000 };

/** A packet that left one node encapsulated toward another watched node and never arrived there. */
export interface TransitLoss {
  readonly fromNode: string;
  readonly targetNode: string;
  readonly departure: TunnelDeparture;
}

export interface StitcherStats {
  departures: number;
  arrivals: number;
  matched: number;
  /** Judged lost between nodes. */
  lost: number;
  /** Unmatched while the target's capture was losing packets: not judged. */
  unobserved: number;
  /** Toward an address no watched node owns, or a node that never covered their time. */
  unwatched: number;
  /** Final: the target's capture ended before the packet could have arrived. */
  uncovered: number;
  overflow: number;
}

interface NodeState {
  coveredUntil: number;
  loss: CaptureLossSpan[];
}

interface Waiting {
  readonly node: string;
  readonly d: TunnelDeparture;
  readonly receivedAt: number;
}

/** Loss spans kept per node (the recent ones matter; older departures were judged already). */
const MAX_LOSS_SPANS = 256;

export class TunnelStitcher {
  private readonly waiting = new Map<string, Waiting[]>();
  private readonly early = new Map<string, { node: string; count: number; receivedAt: number }>();
  private pending = 0;
  private readonly nodes = new Map<string, NodeState>();
  private readonly owner = new Map<string, string>();
  /** Recent departures by fingerprint, for lending; `lendOrder` evicts the oldest first. */
  private readonly lendable = new Map<string, { node: string; ts: number; path: readonly Hop[] }[]>();
  private readonly lendOrder: string[] = [];
  private lendHead = 0;
  readonly stats: StitcherStats = { departures: 0, arrivals: 0, matched: 0, lost: 0, unobserved: 0, unwatched: 0, uncovered: 0, overflow: 0 };

  constructor(private readonly config: StitcherConfig = DEFAULT_STITCHER_CONFIG) {}

  /**
   * A node's findings: its own addresses (which make it the target of departures toward them), how
   * far its packets are accounted for, its capture's losses, then its departures and arrivals.
   */
  add(f: Pick<NodeFindings, 'node' | 'knowledge' | 'coveredUntil' | 'captureLoss' | 'departures' | 'arrivals'>, now: number): void {
    this.cover(f.node, f.coveredUntil, f.captureLoss);
    for (const a of f.knowledge.ownAddresses) this.owner.set(a, f.node);
    for (const d of f.departures) this.departure(f.node, d, now);
    for (const a of f.arrivals) this.arrival(f.node, a, now);
  }

  /** Replaces the addresses a node owns (live agents report their interface addresses). */
  setAddresses(node: string, addresses: readonly string[]): void {
    for (const [a, n] of this.owner) if (n === node) this.owner.delete(a);
    for (const a of addresses) this.owner.set(a, node);
  }

  /** The node has accounted for its packets until `coveredUntil`; its capture lost packets in `loss`. */
  cover(node: string, coveredUntil: number, loss: readonly CaptureLossSpan[] = []): void {
    let s = this.nodes.get(node);
    if (!s) {
      s = { coveredUntil: -Infinity, loss: [] };
      this.nodes.set(node, s);
    }
    if (coveredUntil > s.coveredUntil) s.coveredUntil = coveredUntil;
    for (const span of loss) if (span.packets > 0) s.loss.push(span);
    if (s.loss.length > MAX_LOSS_SPANS) s.loss.splice(0, s.loss.length - MAX_LOSS_SPANS);
  }

  departure(node: string, d: TunnelDeparture, now: number): void {
    this.stats.departures++;
    this.remember(node, d);
    const early = this.early.get(d.fingerprint);
    if (early && early.node !== node) {
      if (--early.count === 0) this.early.delete(d.fingerprint);
      this.stats.matched++;
      return;
    }
    if (this.pending >= this.config.maxPending) {
      this.stats.overflow++;
      return;
    }
    const list = this.waiting.get(d.fingerprint);
    const w = { node, d, receivedAt: now };
    if (list) list.push(w);
    else this.waiting.set(d.fingerprint, [w]);
    this.pending++;
  }

  arrival(node: string, a: TunnelArrival, now: number): void {
    this.stats.arrivals++;
    const list = this.waiting.get(a.fingerprint);
    const i = list?.findIndex((w) => w.node !== node) ?? -1;
    if (list && i >= 0) {
      list.splice(i, 1);
      if (list.length === 0) this.waiting.delete(a.fingerprint);
      this.pending--;
      this.stats.matched++;
      return;
    }
    const early = this.early.get(a.fingerprint);
    if (early && early.node === node) {
      early.count++;
      early.receivedAt = now;
    } else if (!early && this.early.size < this.config.maxPending) {
      this.early.set(a.fingerprint, { node, count: 1, receivedAt: now });
    }
  }

  /**
   * The hops on another node of the packet with this fingerprint that reached `node` at `at` (ms):
   * of several departures with the fingerprint (retransmissions, at least 200 ms apart), the one
   * closest in time, since a tunnel takes micro- to milliseconds and clocks differ by about as much.
   */
  upstreamPath(fingerprint: string | undefined, node: string, at: number): readonly Hop[] {
    const list = fingerprint === undefined ? undefined : this.lendable.get(fingerprint);
    let best: { ts: number; path: readonly Hop[] } | undefined;
    for (const d of list ?? []) {
      if (d.node !== node && (!best || Math.abs(d.ts - at) < Math.abs(best.ts - at))) best = d;
    }
    return best?.path ?? [];
  }

  /**
   * Judges the departures whose target has covered their time, and forgets what waited past the
   * hold. `final`: no more findings will come (the end of a replay), so every departure still
   * waiting is judged now or counted as not judgeable.
   */
  expire(now: number, final = false): TransitLoss[] {
    const lost: TransitLoss[] = [];
    const cutoff = now - this.config.holdMs;
    for (const [fp, list] of this.waiting) {
      const kept = list.filter((w) => {
        const verdict = this.judge(w, cutoff, final);
        if (verdict === 'wait') return true;
        this.stats[verdict]++;
        if (verdict === 'lost') lost.push({ fromNode: w.node, targetNode: this.owner.get(w.d.outerDst) as string, departure: w.d });
        return false;
      });
      this.pending -= list.length - kept.length;
      if (kept.length === 0) this.waiting.delete(fp);
      else if (kept.length !== list.length) this.waiting.set(fp, kept);
    }
    for (const [fp, a] of this.early) if (final || a.receivedAt <= cutoff) this.early.delete(fp);
    // Stable order whatever the order of the maps: by time, then fingerprint.
    return lost.sort((a, b) => a.departure.ts - b.departure.ts || (a.departure.fingerprint < b.departure.fingerprint ? -1 : 1));
  }

  private judge(w: Waiting, cutoff: number, final: boolean): 'wait' | 'lost' | 'unobserved' | 'unwatched' | 'uncovered' {
    const targetName = this.owner.get(w.d.outerDst);
    const target = targetName === undefined || targetName === w.node ? undefined : this.nodes.get(targetName);
    if (!target) return final || w.receivedAt <= cutoff ? 'unwatched' : 'wait';
    const due = w.d.ts + this.config.clockSlackMs;
    if (target.coveredUntil < due) {
      if (final) return 'uncovered';
      return w.receivedAt <= cutoff ? 'unwatched' : 'wait';
    }
    const slack = this.config.clockSlackMs;
    if (target.loss.some((s) => s.from <= due && s.until >= w.d.ts - slack)) return 'unobserved';
    return 'lost';
  }

  private remember(node: string, d: TunnelDeparture): void {
    if (this.lendOrder.length - this.lendHead >= this.config.maxLendable) {
      const oldest = this.lendOrder[this.lendHead++] as string;
      const list = this.lendable.get(oldest);
      list?.shift();
      if (list?.length === 0) this.lendable.delete(oldest);
      if (this.lendHead > 4096 && this.lendHead * 2 > this.lendOrder.length) {
        this.lendOrder.splice(0, this.lendHead);
        this.lendHead = 0;
      }
    }
    const list = this.lendable.get(d.fingerprint);
    const entry = { node, ts: d.ts, path: d.path };
    if (list) list.push(entry);
    else this.lendable.set(d.fingerprint, [entry]);
    this.lendOrder.push(d.fingerprint);
  }
}
