/**
 * What the per-packet engine is configured with and reports, as the rest of the service sees it:
 * how a capture's packets map to a node's interfaces (CaptureBinding), the hop matcher's window and
 * bounds, the ring of recent packets' first bytes, and the pipeline's counters. The engine itself is
 * native/engine (sighting_pipeline.h); agent/native/native-sighting-pipeline.ts drives it.
 */
import type { TunnelLayersView } from './engine-names.js';

/** How a capture source's packets map to node interfaces. */
export interface CaptureBinding {
  readonly node: string;
  /** Interface id per capture interface id (pcapng IDB index, or 0 for pcap); -1 = per packet (SLL2). */
  readonly ifaceByCaptureInterface: number[];
  /** For Linux `any` captures (SLL2): kernel ifindex -> interface name (replaced as interfaces come and go). */
  ifnameByIndex: ReadonlyMap<number, string>;
  /** Cache of ifindex -> interface id (-1 = not yet) for SLL2 captures; grown as indexes appear, replaced to look names up afresh. */
  ifaceByIfindex: Int32Array;
}

export interface PipelineStats {
  records: number;
  bytes: number;
  decoded: number;
  truncated: number;
  notIp: number;
  malformed: number;
  /** Left out by consistent sampling. */
  sampledOut: number;
  /** On interfaces the agent was told not to analyse (--iface): counted here, nowhere else. */
  notAnalysed: number;
  /** Tunnel packets whose payload we do not decode (PPP that is not IP, GRE keepalives, ...): not judged. */
  undecodedTunnel: number;
}

export interface HopMatcherConfig {
  /** How long after its first sighting a packet may still be seen elsewhere on the node. */
  readonly windowMs: number;
  /** Cap on distinct candidate groups kept per node between takes; beyond it packets are only counted. */
  readonly maxVanishedGroups: number;
  /**
   * A live agent (one node) reports the encapsulated hops of one packet in N, chosen by
   * fingerprint so both ends of the tunnel pick the same packets, for stitching across nodes.
   * Unset: encapsulated hops are reported only when several nodes are watched here (replay).
   */
  readonly tunnelHopSampleOneIn?: number;
}

export const DEFAULT_HOP_MATCHER_CONFIG: HopMatcherConfig = { windowMs: 250, maxVanishedGroups: 100_000 };

/**
 * The first bytes of recent packets, kept so a packet judged vanished a window later can still be
 * shipped as captured (the collector's pcapng export): a preallocated ring, the oldest slot
 * overwritten. Only headers (128 bytes by default), which also keeps payloads out of storage.
 */
export interface PacketBytesConfig {
  /** Number of slots; rounded up to a power of two. */
  readonly slots: number;
  /** Bytes kept per packet. */
  readonly slotBytes: number;
}

export const DEFAULT_PACKET_BYTES_CONFIG: PacketBytesConfig = { slots: 1 << 16, slotBytes: 128 };

/** A tunnel packet whose payload was not decoded: its outer layers and the reason. */
export type UndecodedTunnelObserver = (view: TunnelLayersView, ifaceId: number, tsMs: number, length: number) => void;

export interface SightingPipelineConfig {
  readonly matcher?: HopMatcherConfig;
  /** Only packets of interfaces whose name passes are analysed (the agent's --iface patterns). */
  readonly acceptInterface?: (name: string) => boolean;
  /**
   * Consistent sampling: keep a packet when its fingerprint mod N is 0. Every hop and every node
   * computes the same fingerprint, so a kept packet keeps its whole path.
   */
  readonly sampleOneIn?: number;
  /** Keep the first bytes of recent packets so vanished groups carry one packet as captured (the agent ships them). */
  readonly packetBytes?: PacketBytesConfig;
  /** Told of every tunnel packet whose payload was not decoded (replay lists them as such). */
  readonly onUndecodedTunnel?: UndecodedTunnelObserver;
}
