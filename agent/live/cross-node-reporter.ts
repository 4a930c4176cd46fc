/**
 * The agent's side of cross-node stitching: the matcher reports the encapsulated departures and
 * arrivals of sampled packets (one in N by fingerprint, so both nodes of a tunnel pick the same
 * ones), and they travel with the next flow batch for the collector to match. Bounded per batch;
 * what does not fit is counted.
 */
import type { CrossNodeSink } from '../flow/node-hop-matcher.js';
import type { Hop, PacketIdentity } from '../../core/findings/hop.js';
import { fingerprintToHex } from '../flow/fingerprint.js';
import { wireHop } from '../ship/batch-builder.js';
import type { WireCrossNodeHop } from '../../schemas/wire-types.js';

/** One in this many packets (default): ~100 hops/s at 100k encapsulated packets/s. */
export const DEFAULT_CROSS_NODE_SAMPLE = 1024;
const MAX_PER_BATCH = 5000;

export class CrossNodeReporter implements CrossNodeSink {
  private hops: WireCrossNodeHop[] = [];
  overflow = 0;

  departure(fingerprint: number, _nodeIndex: number, outerDst: string, ts: number, path: Hop[], identity: PacketIdentity): void {
    this.push({ fingerprint: fingerprintToHex(fingerprint), departure: true, outer_peer: outerDst, ts_ms: ts, path: path.map(wireHop), ...wireIdentity(identity) });
  }

  arrival(fingerprint: number, _nodeIndex: number, outerSrc: string, ts: number): void {
    this.push({ fingerprint: fingerprintToHex(fingerprint), departure: false, outer_peer: outerSrc, ts_ms: ts, path: [], src: '', dst: '', proto: 0, sport: -1, dport: -1 });
  }

  /** The collector lends upstream hops; the agent has none to give. */
  requestUpstream(): void {}

  /** The hops gathered since the last call. */
  take(): WireCrossNodeHop[] {
    const hops = this.hops;
    this.hops = [];
    return hops;
  }

  private push(hop: WireCrossNodeHop): void {
    if (this.hops.length >= MAX_PER_BATCH) this.overflow++;
    else this.hops.push(hop);
  }
}

function wireIdentity(id: PacketIdentity): Pick<WireCrossNodeHop, 'src' | 'dst' | 'proto' | 'sport' | 'dport'> {
  return { src: id.src, dst: id.dst, proto: id.proto, sport: id.sport ?? -1, dport: id.dport ?? -1 };
}
