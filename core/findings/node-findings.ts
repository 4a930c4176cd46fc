/**
 * The seam between the per-packet engine and every decision above it: what one node's packets
 * taught over a span of capture time, as plain data (no engine objects, nothing that needs the
 * engine to be read). Two producers make it: the engine in process (replay, watch, the lab's
 * agents) and the collector's ingest, which rebuilds it from an agent's batch. Judging, stitching
 * across nodes, explaining and merging read only this, so one set of packets gets one answer
 * whichever way it arrived.
 *
 *   engine (agent/flow) --NodeFindings--> judge --> stitch (across nodes) --> explain --> merge
 *   agent batch --ingest--^
 *
 * Every list is in a canonical order (see sortFindings), so findings made from the same packets
 * are equal as JSON: the goldens under test/golden/ compare them byte for byte.
 */
import type { Hop, PacketIdentity } from './hop.js';
import type { InterfaceRole } from './interface-roles.js';
import type { KernelEvidence } from './kernel-evidence.js';

export interface NodeFindings {
  readonly node: string;
  /** The node's captured interfaces, by name. */
  readonly interfaces: readonly CapturedInterface[];
  /** A Linux `any` capture: every interface of the node was seen, so any missing exit is real. */
  readonly coversAllInterfaces: boolean;
  /** Packets that arrived and were not seen leaving, grouped; judged above the seam. */
  readonly candidates: readonly VanishCandidate[];
  /** What the node's traffic taught about the addresses the candidates involve. */
  readonly knowledge: NodeKnowledgeFacts;
  readonly counters: NodeCounters;
  /** Encapsulated packets that left toward another node (all of them in replay, a sample live). */
  readonly departures: readonly TunnelDeparture[];
  /** Encapsulated packets that arrived from another node (the same packets as the departures). */
  readonly arrivals: readonly TunnelArrival[];
  /** When the node's own capture lost packets: gaps there are ours, never drops. */
  readonly captureLoss: readonly CaptureLossSpan[];
  /**
   * Capture time (ms) before which every packet of the node is accounted for in these findings or
   * earlier ones: a departure toward this node is judged only once its arrival could be here.
   */
  readonly coveredUntil: number;
}

export interface CapturedInterface {
  readonly name: string;
  readonly role: InterfaceRole;
}

/** Packets of one (interface, addresses, protocol, ports) that arrived and were not seen leaving. */
export interface VanishCandidate {
  /** The interface the packets arrived by (the last one they were seen on). */
  readonly iface: string;
  readonly role: InterfaceRole;
  readonly identity: PacketIdentity;
  readonly packets: number;
  /** Milliseconds since the epoch (fractional). */
  readonly firstSeen: number;
  readonly lastSeen: number;
  /** Seen on one interface with nothing to tell its direction: an arrival only by inference. */
  readonly directionUncertain: boolean;
  /** Fingerprints (hex) of the first few packets. */
  readonly fingerprints: readonly string[];
  /** The first packet's hops on this node, in time order. */
  readonly path: readonly Hop[];
  /** The same packet's hops on other nodes before it arrived here (replay of several nodes). */
  readonly upstreamPath: readonly Hop[];
  /** Link-layer source and destination of that packet's arrival (aa:bb:..), or null. */
  readonly arrivalMacSrc: string | null;
  readonly arrivalMacDst: string | null;
  /** One packet of the group as it arrived (headers only), when the engine keeps bytes (live). */
  readonly sample?: PacketSample;
  /** The node's kernel on these packets (live agents). */
  readonly kernel?: KernelEvidence;
}

/** The group's first packet as it arrived on the group's interface (its last hop there not going out), else its last hop. */
export function arrivalHop(c: Pick<VanishCandidate, 'iface' | 'path'>): Hop | undefined {
  return [...c.path].reverse().find((h) => h.iface === c.iface && h.direction !== 'out') ?? c.path[c.path.length - 1];
}

export interface PacketSample {
  readonly bytes: Uint8Array;
  /** LINKTYPE_* of `bytes`. */
  readonly linkType: number;
  /** The packet's length on the wire. */
  readonly origLen: number;
  /** When it arrived (ms). */
  readonly ts: number;
}

/**
 * Facts the node's traffic taught, limited to what judging the candidates needs: a live agent
 * ships them with each batch, so they cover the addresses of that batch's candidates only. The
 * judge asks nothing else, so the excerpt and the whole give the same answers.
 */
export interface NodeKnowledgeFacts {
  /** Addresses that are the node's own (tunnel endpoints, interface addresses, senders of packets that came from nowhere). */
  readonly ownAddresses: readonly string[];
  /** The interface an address's packets come in by: where it lives. */
  readonly locations: readonly AddressLocation[];
  /** Interfaces by which traffic from src to dst left the node (at most two are remembered). */
  readonly exits: readonly PairExits[];
  /** Each interface's own MAC address, as learned from packets of known direction. */
  readonly ownMacs: readonly InterfaceMac[];
}

export interface AddressLocation {
  readonly address: string;
  readonly iface: string;
}

export interface PairExits {
  readonly src: string;
  readonly dst: string;
  readonly ifaces: readonly string[];
}

export interface InterfaceMac {
  readonly iface: string;
  readonly mac: string;
}

/** What the node's packets came to, over the span of these findings. */
export interface NodeCounters {
  /** Distinct packets (one per fingerprint and window), each counted once whatever its hops. */
  packets: number;
  /** Sightings: a packet seen on three interfaces is three. */
  sightings: number;
  forwarded: number;
  originated: number;
  /** Seen on one interface only, with no way to tell which way it went. */
  directionUnknown: number;
  /** Multicast, broadcast, link-local: never judged. */
  notUnicast: number;
  /** Arrived and not seen leaving, but only in sightings the snap length cut short. */
  truncatedUnjudged: number;
  /** Arrived within the last window before the capture ended: its exit may simply not be in it. */
  captureEndedUnjudged: number;
  /** To or from an address already known to be the node's own when the packet was matched. */
  local: number;
  /** Packets of the candidates. */
  vanishCandidates: number;
  /** Candidate packets beyond the bound on groups: counted, not grouped. */
  vanishedGroupsOverflow: number;
}

export interface TunnelDeparture {
  readonly fingerprint: string;
  /** The outer destination: the node it was sent to. */
  readonly outerDst: string;
  readonly ts: number;
  /** The packet's hops on this node, in time order. */
  readonly path: readonly Hop[];
  readonly identity: PacketIdentity;
}

export interface TunnelArrival {
  readonly fingerprint: string;
  /** The outer source: the node it came from. */
  readonly outerSrc: string;
  readonly ts: number;
}

export interface CaptureLossSpan {
  readonly from: number;
  readonly until: number;
  readonly packets: number;
}

export function emptyCounters(): NodeCounters {
  return {
    packets: 0,
    sightings: 0,
    forwarded: 0,
    originated: 0,
    directionUnknown: 0,
    notUnicast: 0,
    truncatedUnjudged: 0,
    captureEndedUnjudged: 0,
    local: 0,
    vanishCandidates: 0,
    vanishedGroupsOverflow: 0,
  };
}

/** Adds b's counters into a (findings of consecutive spans add up). */
export function addCounters(a: NodeCounters, b: NodeCounters): void {
  for (const k of Object.keys(a) as (keyof NodeCounters)[]) a[k] += b[k];
}
