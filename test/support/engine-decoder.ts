/**
 * A thin test binding over the native engine's decoder and fingerprint (native/engine, reached through
 * agent/native/native-addon.ts): the surface the decoder tests used of the TypeScript PacketDecoder
 * that the engine replaced, so the byte-level, property, fixture and hardening tests state what the
 * engine does, with their assertions unchanged.
 *
 *  - decode(data, offset, length, linkType) returns the DecodeStatus and refreshes `view` (the
 *    engine's view of that packet, by PacketView's field names, arrays as plain arrays), `events`
 *    (the decode event counters, in DECODE_EVENT_NAMES order), `fingerprint` and `weak`.
 *  - decodeInto(...) is the engine's per-packet form (no view, nothing allocated): for tests that
 *    measure time or allocation; it refreshes the fingerprint and weak flag and the events.
 *
 * The status numbers, encapsulation kinds and view field names the tests need are defined here: the
 * TypeScript modules that held them (agent/decode/packet-decoder.ts, packet-view.ts) are gone.
 */
import { DECODE_EVENT_NAMES, DecodeEventCounters } from '../../agent/decode/decode-events.js';
import type { NativeDecodeBlock, NativeDecoder, NativeDecodeResult, NativeEngineExports, NativePacketView, NativeTunnelPorts } from '../../agent/native/engine-native.js';
import { nativeAddon } from '../../agent/native/native-addon.js';

/** What decode() says about a packet: native/engine's pw_status, numbered as PacketDecoder's was. */
export const enum DecodeStatus {
  /** An IP packet was decoded as far as its headers go. */
  Ok = 0,
  /** An IP packet was found but the capture cut it short; the view holds what was there. */
  Truncated = 1,
  /** Not an IP packet (ARP, LLDP, ...), or a link type the engine does not decode. */
  NotIp = 2,
  /** A header contradicted itself; the view holds the layers before it. */
  Malformed = 3,
  /** A tunnel whose payload is not decoded: the view holds its layers, view.undecodedTunnel says why. */
  UndecodedTunnel = 4,
}

/** DecodeStatus names by number, for messages and tallies. */
export const DECODE_STATUS_NAMES: readonly string[] = ['Ok', 'Truncated', 'NotIp', 'Malformed', 'UndecodedTunnel'];

/** Encapsulation layers followed before the innermost packet (pw_view.h's PW_MAX_ENCAP_DEPTH). */
export const MAX_ENCAP_DEPTH = 4;

/** Encapsulation kinds by their number in view.encapKind (names: agent/native/engine-names.ts's ENCAP_NAMES). */
export const enum EncapKind {
  None = 0,
  /** IP in IP of any version mix: IPIP (4in4), 6in4, 4in6, 6in6. */
  IpInIp = 1,
  Gre = 2,
  Vxlan = 3,
  Geneve = 4,
  /** Cisco ERSPAN types I-III (mirrored frames inside GRE); the layer's VNI is the session id. */
  Erspan = 5,
}

/** The tunnel ports a decoder gets when none are given (the engine's default, and the agent's). */
export const DEFAULT_TUNNEL_PORTS: NativeTunnelPorts = { vxlanPorts: [4789, 8472], genevePorts: [6081] };

/** The engine's view of one decoded packet. */
export type DecodedView = NativePacketView;

/**
 * The view's fields in the engine's order, which is the order PacketView declared them in (frozen
 * here when the TypeScript decoder went; test/native/decoder-differential.test.ts holds the engine
 * to it, and the frozen answers in test/native/expected/decoder-answers.json are in this order).
 */
export const VIEW_FIELD_NAMES: readonly (keyof NativePacketView)[] = [
  'linkType',
  'macSrcOffset',
  'macDstOffset',
  'macDstGroup',
  'linuxIfindex',
  'linuxPacketType',
  'linuxHatype',
  'vlanDepth',
  'vlanId',
  'encapDepth',
  'encapKind',
  'encapOuterVersion',
  'encapOuterSrc',
  'encapOuterDst',
  'encapVni',
  'ipVersion',
  'src',
  'dst',
  'proto',
  'ttl',
  'ipId',
  'flowLabel',
  'ipOffset',
  'ipLength',
  'fragOffset',
  'moreFragments',
  'isFragment',
  'l4Valid',
  'l4Offset',
  'sport',
  'dport',
  'tcpFlags',
  'tcpSeq',
  'tcpAck',
  'udpLength',
  'icmpType',
  'icmpCode',
  'icmpId',
  'icmpSeq',
  'payloadOffset',
  'payloadEnd',
  'quotedValid',
  'quotedVersion',
  'quotedSrc',
  'quotedDst',
  'quotedProto',
  'quotedSport',
  'quotedDport',
  'quotedIpId',
  'truncated',
  'malformed',
  'undecodedTunnel',
  'undecodedValue',
];

export function engine(): NativeEngineExports {
  return nativeAddon();
}

/**
 * For each DECODE_EVENT_NAMES index, the index of the same name in the engine's counters: the tests
 * read counters by name, so an engine that reordered its counters would still be read right (and one
 * that lost a name is refused here).
 */
function engineEventIndexes(): Int32Array {
  const names = engine().decodeEventNames();
  const out = new Int32Array(DECODE_EVENT_NAMES.length);
  DECODE_EVENT_NAMES.forEach((name, i) => {
    const at = names.indexOf(name);
    if (at < 0) throw new Error(`the native engine does not count ${name}`);
    out[i] = at;
  });
  return out;
}

/** One native decoder, used the way the tests used PacketDecoder: state carries over between packets. */
export class EngineDecoder {
  private readonly native: NativeDecoder;
  private readonly eventIndexes = engineEventIndexes();
  /** The engine's counters at the last synchronisation, by engine index. */
  private readonly engineCountsSeen: Float64Array;
  private readonly counters = new DecodeEventCounters();
  private eventsStale = false;
  private lastView: DecodedView | undefined;
  private readonly fingerprintOut = new Float64Array(2);
  /** The last packet's fingerprint (0 when it holds no IP packet). */
  fingerprint = 0;
  /** Whether the last packet's fingerprint is weak (fingerprintIsWeak). */
  weak = false;

  constructor(tunnelPorts?: NativeTunnelPorts) {
    this.native = engine().createDecoder(tunnelPorts);
    this.engineCountsSeen = new Float64Array(engine().decodeEventNames().length);
  }

  /** Decodes data[offset, offset + length) of this link type, keeping everything the engine said about it. */
  decode(data: Uint8Array, offset: number, length: number, linkType: number): DecodeStatus {
    const r: NativeDecodeResult = engine().decodeForTest(this.native, data, offset, length, linkType);
    this.lastView = r.view;
    this.fingerprint = r.fingerprint;
    this.weak = r.weak;
    this.absorbEvents(r.events);
    return r.status as DecodeStatus;
  }

  /**
   * The engine's per-packet form (decodeInto: no view built, nothing allocated). The view is not
   * refreshed (reading it afterwards throws, so a test cannot look at a stale one); the fingerprint,
   * weak flag and events are.
   */
  decodeInto(data: Uint8Array, offset: number, length: number, linkType: number): DecodeStatus {
    const status = engine().decodeInto(this.native, data, offset, length, linkType, this.fingerprintOut);
    this.fingerprint = this.fingerprintOut[0] as number;
    this.weak = this.fingerprintOut[1] === 1;
    this.lastView = undefined;
    this.eventsStale = true;
    return status as DecodeStatus;
  }

  /** The last decode()'s view: a new object per packet (the engine keeps its own, in C). */
  get view(): DecodedView {
    if (this.lastView === undefined) throw new Error('no view: nothing was decoded with decode() since the last decodeInto() (or at all)');
    return this.lastView;
  }

  /**
   * The decode event counters, in DECODE_EVENT_NAMES order. Like PacketDecoder's they only grow with
   * decodes and may be changed by the test (counts.fill(0) starts a new tally): each decode adds what
   * the engine counted for it.
   */
  get events(): DecodeEventCounters {
    if (this.eventsStale) {
      this.absorbEvents(engine().decoderEvents(this.native));
      this.eventsStale = false;
    }
    return this.counters;
  }

  /** Adds what the engine's cumulative counters gained since they were last seen. */
  private absorbEvents(engineCounts: readonly number[]): void {
    const counts = this.counters.counts;
    for (let i = 0; i < counts.length; i++) {
      const at = this.eventIndexes[i] as number;
      const now = engineCounts[at] as number;
      counts[i] = (counts[i] as number) + now - (this.engineCountsSeen[at] as number);
      this.engineCountsSeen[at] = now;
    }
  }
}

/** A record to decode: its bytes and link type. */
export interface LinkRecord {
  readonly linkType: number;
  readonly bytes: Uint8Array;
}

/**
 * The records laid end to end in one buffer (from `lead` bytes in, so offsets are not all 0), with
 * the block's answer arrays: what decodeBatch takes.
 */
export function packDecodeBlock(records: readonly LinkRecord[], lead = 0): NativeDecodeBlock {
  const count = records.length;
  const data = new Uint8Array(lead + records.reduce((n, r) => n + r.bytes.length, 0));
  const offsets = new Uint32Array(count);
  const lengths = new Uint32Array(count);
  const linkTypes = new Uint32Array(count);
  let at = lead;
  records.forEach((r, i) => {
    data.set(r.bytes, at);
    offsets[i] = at;
    lengths[i] = r.bytes.length;
    linkTypes[i] = r.linkType;
    at += r.bytes.length;
  });
  return { data, count, offsets, lengths, linkTypes, status: new Uint8Array(count), fingerprints: new Float64Array(count), weak: new Uint8Array(count) };
}
