/**
 * A replay's findings, gathered as capture time advances: each node's findings taken from the
 * engine go to the stitcher (departures, arrivals, how far the node is covered), their candidates
 * are lent the hops their packets took on earlier nodes and joined by group, their counters added
 * up. finish() makes one NodeFindings per node, with the node's knowledge as it stands at the end
 * of the input: every candidate is judged with all the traffic taught, not with what was known
 * when it was taken.
 */
import type { NativeSightingPipeline } from '../../agent/native/native-sighting-pipeline.js';
import type { TunnelStitcher } from '../../core/correlate/tunnel-stitcher.js';
import { compareCandidates, joinCandidates } from '../../core/findings/candidate-order.js';
import { addCounters, emptyCounters, type NodeCounters, type NodeFindings, type TunnelArrival, type TunnelDeparture, type VanishCandidate } from '../../core/findings/node-findings.js';

interface NodeSoFar {
  readonly candidates: Map<string, VanishCandidate>;
  readonly counters: NodeCounters;
  readonly departures: TunnelDeparture[];
  readonly arrivals: TunnelArrival[];
  latest: NodeFindings;
}

export class NodeFindingsAccumulator {
  private readonly nodes = new Map<string, NodeSoFar>();

  constructor(
    private readonly stitcher: TunnelStitcher,
    /** Keep every departure and arrival in the final findings (goldens), not only in the stitcher. */
    private readonly keepTunnelHops: boolean,
  ) {}

  /** Findings taken from every node at capture time `now`. */
  add(taken: readonly NodeFindings[], now: number): void {
    // Every node's departures first, so a candidate can borrow the hops of a packet that left
    // another node in the same span.
    for (const f of taken) this.stitcher.add(f, now);
    for (const f of taken) {
      let so = this.nodes.get(f.node);
      if (!so) {
        so = { candidates: new Map(), counters: emptyCounters(), departures: [], arrivals: [], latest: f };
        this.nodes.set(f.node, so);
      }
      so.latest = f;
      const lent = f.candidates.map((c) => (c.directionUncertain ? c : { ...c, upstreamPath: this.stitcher.upstreamPath(c.fingerprints[0], f.node, c.firstSeen) }));
      joinCandidates(so.candidates, lent);
      addCounters(so.counters, f.counters);
      if (this.keepTunnelHops) {
        so.departures.push(...f.departures);
        so.arrivals.push(...f.arrivals);
      }
    }
  }

  /** One NodeFindings per node, by node name, judged with the knowledge at the end of the input. */
  finish(pipeline: NativeSightingPipeline): NodeFindings[] {
    const out: NodeFindings[] = [];
    for (const m of pipeline.matchers) {
      if (!m) continue;
      const so = this.nodes.get(m.node.name);
      if (!so) continue;
      const candidates = [...so.candidates.values()].sort(compareCandidates);
      const byTime = <T extends { ts: number; fingerprint: string }>(a: T, b: T): number => a.ts - b.ts || (a.fingerprint < b.fingerprint ? -1 : a.fingerprint > b.fingerprint ? 1 : 0);
      out.push({
        ...so.latest,
        candidates,
        knowledge: m.knowledgeFor(candidates),
        counters: so.counters,
        departures: so.departures.sort(byTime),
        arrivals: so.arrivals.sort(byTime),
      });
    }
    return out.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  }
}
