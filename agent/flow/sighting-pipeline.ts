/**
 * The stages every packet goes through after capture, shared by the live agent and replay:
 * decode -> fingerprint -> flow table -> the node's hop matcher. One instance per process; capture
 * sources bind to it through a CaptureBinding that names the node and interfaces of their packets.
 */
import { Direction, DirectionSource, type CaptureRecord } from '../capture/capture-record.js';
import { DecodeStatus, PacketDecoder, type PacketDecoderConfig } from '../decode/packet-decoder.js';
import { UndecodedTunnel } from '../decode/packet-view.js';
import { fingerprintIsWeak, writePacketFingerprint } from './fingerprint.js';
import { FlowTable } from './flow-table.js';
import type { FlowRecord } from '../../core/findings/flow-record.js';
import { InterfaceRegistry } from './interface-registry.js';
import { DEFAULT_HOP_MATCHER_CONFIG, NodeHopMatcher } from './node-hop-matcher.js';
import { PACKET_OUTGOING } from '../decode/linux-sll.js';
import { PacketBytesRing } from './packet-bytes-ring.js';
import { Sighting, SIGHTING_FINGERPRINT, SIGHTING_TS } from './sighting.js';
import type { CaptureBinding, PipelineStats, SightingPipelineConfig as EngineConfig, UndecodedTunnelObserver } from '../native/pipeline-config.js';

export type { CaptureBinding, PipelineStats, UndecodedTunnelObserver };

/** The engine's configuration, and the TypeScript decoder's own (tunnel ports). */
export interface SightingPipelineConfig extends EngineConfig {
  readonly decoder?: PacketDecoderConfig;
}


const ARPHRD_LOOPBACK = 772;




export class SightingPipeline {
  readonly decoder: PacketDecoder;
  readonly flows: FlowTable;
  readonly matchers: NodeHopMatcher[] = [];
  readonly packetBytes: PacketBytesRing | undefined;
  readonly stats: PipelineStats = { records: 0, bytes: 0, decoded: 0, truncated: 0, notIp: 0, malformed: 0, sampledOut: 0, notAnalysed: 0, undecodedTunnel: 0 };
  /** The one sighting handed to matchers, overwritten per packet. */
  private readonly sighting = new Sighting();

  constructor(
    readonly registry: InterfaceRegistry,
    private readonly config: SightingPipelineConfig = {},
  ) {
    this.decoder = new PacketDecoder(config.decoder);
    this.sighting.view = this.decoder.view;
    this.flows = new FlowTable(registry);
    this.packetBytes = config.packetBytes ? new PacketBytesRing(config.packetBytes) : undefined;
  }

  /** The matcher of a node, created on first use. */
  matcher(nodeIndex: number): NodeHopMatcher {
    let m = this.matchers[nodeIndex];
    if (!m) {
      const node = this.registry.nodes[nodeIndex];
      if (!node) throw new Error(`unknown node index ${nodeIndex}`);
      m = new NodeHopMatcher(node, this.registry, this.flows, this.config.matcher ?? DEFAULT_HOP_MATCHER_CONFIG, this.packetBytes);
      this.matchers[nodeIndex] = m;
    }
    return m;
  }

  /** One captured packet. The record's bytes are only valid during this call. */
  onRecord(record: CaptureRecord, binding: CaptureBinding): void {
    const stats = this.stats;
    stats.records++;
    stats.bytes += record.origlen;
    const decoder = this.decoder;
    const status = decoder.decode(record.data, record.offset, record.caplen, record.linkType);
    const view = decoder.view;
    let ifaceId = binding.ifaceByCaptureInterface[record.interfaceId] ?? -1;
    if (ifaceId < 0) ifaceId = this.ifaceForIfindex(binding, view.linuxIfindex, view.linuxHatype);
    this.countInterface(ifaceId, record.origlen);
    // A tunnel packet with no inner IP packet is neither plain traffic of its outer addresses nor a
    // packet we can follow through the tunnel's end: counted and shown as that tunnel, never judged.
    if (view.undecodedTunnel !== UndecodedTunnel.None) this.observeUndecodedTunnel(record, ifaceId);
    if (status === DecodeStatus.NotIp) {
      stats.notIp++;
      return;
    }
    if (status === DecodeStatus.UndecodedTunnel) {
      stats.undecodedTunnel++;
      return;
    }
    // Cut short although the capture holds the whole frame (its length on the wire): a length inside
    // the packet runs past the frame, which no snap length explains. Malformed, not truncated.
    if (status === DecodeStatus.Malformed || (status === DecodeStatus.Truncated && record.caplen >= record.origlen)) stats.malformed++;
    else if (status === DecodeStatus.Truncated) stats.truncated++;
    else stats.decoded++;
    if (view.ipVersion === 0) return;
    const iface = this.registry.interfaces[ifaceId];
    if (!iface) return;
    if (this.config.acceptInterface && !this.accepts(ifaceId, iface.name)) {
      stats.notAnalysed++;
      return;
    }

    let dir = record.direction as Direction;
    let dirSource = dir === Direction.Unknown ? DirectionSource.None : DirectionSource.PcapngFlags;
    if (dir === Direction.Unknown && view.linuxPacketType >= 0) {
      dir = view.linuxPacketType === PACKET_OUTGOING ? Direction.Out : Direction.In;
      dirSource = DirectionSource.LinuxPacketType;
    }
    const s = this.sighting;
    const numbers = s.numbers;
    writePacketFingerprint(view, record.data, numbers, SIGHTING_FINGERPRINT);
    const sample = this.config.sampleOneIn;
    if (sample !== undefined && sample > 1 && (numbers[SIGHTING_FINGERPRINT] as number) % sample !== 0) {
      stats.sampledOut++;
      return;
    }
    numbers[SIGHTING_TS] = record.tsSec * 1000 + record.tsNsec / 1e6;
    s.data = record.data;
    s.weak = fingerprintIsWeak(view);
    s.ifaceId = ifaceId;
    s.direction = dir;
    s.directionSource = dirSource;
    s.length = record.origlen;
    const slot = this.flows.add(s);
    s.flowSlot = slot;
    const matcher = this.matcher(iface.node.index);
    // A flow whose first packet says its direction teaches the node at once (its addresses above
    // all); one without learns when correlation resolves it (NodeHopMatcher).
    if (slot >= 0 && this.flows.created && dir !== Direction.Unknown) matcher.knowledge.learnFromFlow(this.flows, slot, iface.role === 'pod' || iface.role === 'tunnel');
    // Only arrivals (and packets of unknown direction) can become a vanished group's sample.
    s.bytesSeq = this.packetBytes && dir !== Direction.Out ? this.packetBytes.put(record.data, record.offset, record.caplen, record.origlen, record.linkType) : -1;
    matcher.observe(s);
  }

  private observeUndecodedTunnel(record: CaptureRecord, ifaceId: number): void {
    const observer = this.config.onUndecodedTunnel;
    const iface = this.registry.interfaces[ifaceId];
    if (observer && iface && (!this.config.acceptInterface || this.accepts(ifaceId, iface.name))) observer(this.decoder.view, ifaceId, record.tsSec * 1000 + record.tsNsec / 1e6, record.origlen);
  }

  /** Judges every packet whose window closed before `watermark` (ms). */
  advance(watermark: number): void {
    for (const m of this.matchers) m?.expire(watermark);
  }

  /** Emits the interval's flow records. */
  flushFlows(onRecord?: (record: FlowRecord, slot: number) => void): void {
    this.flows.flush((record, slot) => onRecord?.(record, slot));
  }

  /**
   * End of input (`endTs`: when the earliest input ended): evaluates everything still open, then
   * flushes the flows.
   */
  finish(endTs: number, onRecord?: (record: FlowRecord, slot: number) => void): void {
    for (const m of this.matchers) m?.expireAll(endTs);
    this.flushFlows(onRecord);
  }

  /** Packets and bytes read per interface id (for metrics by interface class). */
  interfacePackets = new Float64Array(64);
  interfaceBytes = new Float64Array(64);

  private countInterface(ifaceId: number, bytes: number): void {
    if (ifaceId < 0) return;
    if (ifaceId >= this.interfacePackets.length) {
      const size = Math.max(ifaceId + 1, this.interfacePackets.length * 2);
      const packets = new Float64Array(size);
      const byteCounts = new Float64Array(size);
      packets.set(this.interfacePackets);
      byteCounts.set(this.interfaceBytes);
      this.interfacePackets = packets;
      this.interfaceBytes = byteCounts;
    }
    (this.interfacePackets[ifaceId] as number)++;
    this.interfaceBytes[ifaceId] = (this.interfaceBytes[ifaceId] as number) + bytes;
  }

  /** Packets and bytes read so far, summed by interface role (tunnel, pod, uplink, ...). */
  countsByRole(): Map<string, { packets: number; bytes: number }> {
    const byRole = new Map<string, { packets: number; bytes: number }>();
    for (const iface of this.registry.interfaces) {
      const packets = this.interfacePackets[iface.id] ?? 0;
      if (packets === 0) continue;
      const sum = byRole.get(iface.role) ?? { packets: 0, bytes: 0 };
      sum.packets += packets;
      sum.bytes += this.interfaceBytes[iface.id] ?? 0;
      byRole.set(iface.role, sum);
    }
    return byRole;
  }

  /** Per interface id: 0 not decided yet, 1 accepted, 2 rejected. */
  private acceptance = new Uint8Array(64);

  private accepts(ifaceId: number, name: string): boolean {
    if (ifaceId >= this.acceptance.length) {
      const grown = new Uint8Array(Math.max(ifaceId + 1, this.acceptance.length * 2));
      grown.set(this.acceptance);
      this.acceptance = grown;
    }
    let a = this.acceptance[ifaceId] as number;
    if (a === 0) {
      a = this.config.acceptInterface?.(name) === false ? 2 : 1;
      this.acceptance[ifaceId] = a;
    }
    return a === 1;
  }

  private ifaceForIfindex(binding: CaptureBinding, ifindex: number, hatype: number): number {
    const cache = binding.ifaceByIfindex;
    const cached = ifindex >= 0 && ifindex < cache.length ? (cache[ifindex] as number) : -1;
    if (cached >= 0) return cached;
    // An unnamed loopback is still recognisable by its hardware type (ARPHRD_LOOPBACK).
    const name = binding.ifnameByIndex.get(ifindex) ?? (hatype === ARPHRD_LOOPBACK ? 'lo' : `if${ifindex}`);
    const id = this.registry.interface(binding.node, name).id;
    if (ifindex >= 0 && ifindex < 65536) {
      if (ifindex >= cache.length) {
        const grown = new Int32Array(Math.max(ifindex + 1, cache.length * 2)).fill(-1);
        grown.set(cache);
        binding.ifaceByIfindex = grown;
      }
      (binding.ifaceByIfindex as Int32Array)[ifindex] = id;
    }
    return id;
  }
}
