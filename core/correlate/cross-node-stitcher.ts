/**
 * Across nodes: an encapsulated packet leaving node A toward node B's address must arrive on B. The
 * stitcher remembers recent departures by fingerprint (with their path on A), marks them arrived
 * when B reports the arrival, and reports the ones that never arrived at a node we watch. It also
 * lends A's hops to a packet that vanished on B, so the drawn path starts where the packet entered
 * the cluster.
 */
import type { CrossNodeSink } from '../../agent/flow/node-hop-matcher.js';
import type { Hop, PacketIdentity } from '../findings/hop.js';

interface Departure {
  readonly nodeIndex: number;
  readonly outerDst: string;
  readonly ts: number;
  readonly path: Hop[];
  readonly identity: PacketIdentity;
  arrived: boolean;
}

export interface TransitLoss {
  readonly fromNodeIndex: number;
  readonly outerDst: string;
  readonly ts: number;
  readonly path: Hop[];
  readonly identity: PacketIdentity;
  readonly fingerprint: number;
}

export class CrossNodeStitcher implements CrossNodeSink {
  private readonly departures = new Map<number, Departure[]>();
  /** Arrivals reported before their departure (nodes are judged in any order). */
  private readonly earlyArrivals = new Map<number, number>();
  private readonly order: { fp: number; ts: number }[] = [];
  private readonly wanted = new Map<number, { nodeIndex: number; into: Hop[] }>();
  private orderHead = 0;
  readonly losses: TransitLoss[] = [];
  stats = { departures: 0, arrivals: 0, matched: 0, dropped: 0 };

  constructor(
    private readonly windowMs: number,
    /** The node index owning an address, or -1 when no watched node has it. */
    private readonly nodeOfAddress: (address: string) => number,
    private readonly maxTracked = 1_000_000,
  ) {}

  departure(fp: number, nodeIndex: number, outerDst: string, ts: number, path: Hop[], identity: PacketIdentity): void {
    this.stats.departures++;
    if (this.order.length - this.orderHead >= this.maxTracked) {
      this.stats.dropped++;
      return;
    }
    const early = this.earlyArrivals.get(fp);
    const d: Departure = { nodeIndex, outerDst, ts, path, identity, arrived: early !== undefined && early > 0 };
    if (d.arrived) {
      this.stats.matched++;
      if (early === 1) this.earlyArrivals.delete(fp);
      else this.earlyArrivals.set(fp, (early as number) - 1);
    }
    let list = this.departures.get(fp);
    if (!list) {
      list = [];
      this.departures.set(fp, list);
    }
    list.push(d);
    this.order.push({ fp, ts });
    const w = this.wanted.get(fp);
    if (w && w.nodeIndex !== nodeIndex) {
      w.into.push(...path);
      this.wanted.delete(fp);
    }
  }

  arrival(fp: number, nodeIndex: number, _outerSrc: string, _ts: number): void {
    this.stats.arrivals++;
    const list = this.departures.get(fp);
    const d = list?.find((x) => !x.arrived && x.nodeIndex !== nodeIndex);
    if (d) {
      d.arrived = true;
      this.stats.matched++;
      return;
    }
    this.earlyArrivals.set(fp, (this.earlyArrivals.get(fp) ?? 0) + 1);
  }

  /**
   * Fills `into` with the hops on other nodes of the packet with this fingerprint before it reached
   * `nodeIndex`: now if its departure is known, else when it is reported.
   */
  /** The index of the watched node owning `address`, or -1. */
  nodeOf(address: string): number {
    return this.nodeOfAddress(address);
  }

  requestUpstream(fp: number, nodeIndex: number, into: Hop[]): void {
    const d = this.departures.get(fp)?.find((x) => x.nodeIndex !== nodeIndex);
    if (d) {
      into.push(...d.path);
      return;
    }
    if (this.wanted.size < 10_000) this.wanted.set(fp, { nodeIndex, into });
  }

  /**
   * Forgets departures older than `watermark` minus twice the window, reporting the unarrived ones
   * whose destination is a node we watch. `final` flushes everything (end of replay).
   */
  expire(watermark: number, final = false): void {
    const horizon = watermark - 2 * this.windowMs;
    while (this.orderHead < this.order.length) {
      const o = this.order[this.orderHead] as { fp: number; ts: number };
      if (!final && o.ts >= horizon) break;
      this.orderHead++;
      const list = this.departures.get(o.fp);
      if (!list) continue;
      const d = list.shift();
      if (list.length === 0) this.departures.delete(o.fp);
      if (d && !d.arrived) {
        const target = this.nodeOfAddress(d.outerDst);
        if (target >= 0 && target !== d.nodeIndex && this.losses.length < this.maxTracked) this.losses.push({ fromNodeIndex: d.nodeIndex, outerDst: d.outerDst, ts: d.ts, path: d.path, identity: d.identity, fingerprint: o.fp });
      }
    }
    if (this.orderHead > 4096 && this.orderHead * 2 > this.order.length) {
      this.order.splice(0, this.orderHead);
      this.orderHead = 0;
    }
  }
}
