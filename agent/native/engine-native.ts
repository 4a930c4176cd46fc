/**
 * The native engine's exports (native/addon/engine_napi.c), as TypeScript sees them: the decoder
 * and fingerprint of native/engine (decoder.h, fingerprint.h, batch.h), whose answers are pinned by
 * test/native/expected/decoder-answers.json (test/native/decoder-differential.test.ts).
 */

/** A native decoder: its dispatch tables, event counters and view. Opaque; keep one per pipeline. */
export interface NativeDecoder {
  readonly __nativeDecoder: unique symbol;
}

/** UDP destination ports carrying tunnels (the decoder's dispatch tables, native/engine/dispatch_tables.h). */
export interface NativeTunnelPorts {
  readonly vxlanPorts: readonly number[];
  readonly genevePorts: readonly number[];
}

/**
 * The native view after a decode, by PacketView's field names; its
 * typed arrays come as plain arrays of the same length.
 */
export interface NativePacketView {
  readonly linkType: number;
  readonly macSrcOffset: number;
  readonly macDstOffset: number;
  readonly macDstGroup: number;
  readonly linuxIfindex: number;
  readonly linuxPacketType: number;
  readonly linuxHatype: number;
  readonly vlanDepth: number;
  readonly vlanId: number;
  readonly encapDepth: number;
  readonly encapKind: readonly number[];
  readonly encapOuterVersion: readonly number[];
  readonly encapOuterSrc: readonly number[];
  readonly encapOuterDst: readonly number[];
  readonly encapVni: readonly number[];
  readonly ipVersion: number;
  readonly src: readonly number[];
  readonly dst: readonly number[];
  readonly proto: number;
  readonly ttl: number;
  readonly ipId: number;
  readonly flowLabel: number;
  readonly ipOffset: number;
  readonly ipLength: number;
  readonly fragOffset: number;
  readonly moreFragments: number;
  readonly isFragment: number;
  readonly l4Valid: number;
  readonly l4Offset: number;
  readonly sport: number;
  readonly dport: number;
  readonly tcpFlags: number;
  readonly tcpSeq: number;
  readonly tcpAck: number;
  readonly udpLength: number;
  readonly icmpType: number;
  readonly icmpCode: number;
  readonly icmpId: number;
  readonly icmpSeq: number;
  readonly payloadOffset: number;
  readonly payloadEnd: number;
  readonly quotedValid: number;
  readonly quotedVersion: number;
  readonly quotedSrc: readonly number[];
  readonly quotedDst: readonly number[];
  readonly quotedProto: number;
  readonly quotedSport: number;
  readonly quotedDport: number;
  readonly quotedIpId: number;
  readonly truncated: number;
  readonly malformed: number;
  readonly undecodedTunnel: number;
  readonly undecodedValue: number;
}

/** Everything one decode produced: for tests, not for the per-packet path (it allocates). */
export interface NativeDecodeResult {
  /** DecodeStatus. */
  readonly status: number;
  readonly view: NativePacketView;
  /** The decoder's event counters since createDecoder, in decodeEventNames() order. */
  readonly events: readonly number[];
  /** writePacketFingerprint's number (0 when there is no IP packet). */
  readonly fingerprint: number;
  /** fingerprintIsWeak. */
  readonly weak: boolean;
}

/**
 * A block of records and where the answers go: record i is data[offsets[i], offsets[i] + lengths[i])
 * of link type linkTypes[i], for i < count; every array holds at least count elements.
 */
export interface NativeDecodeBlock {
  readonly data: Uint8Array;
  readonly count: number;
  readonly offsets: Uint32Array;
  readonly lengths: Uint32Array;
  readonly linkTypes: Uint32Array;
  /** Out: DecodeStatus per record. */
  readonly status: Uint8Array;
  /** Out: the fingerprint per record. */
  readonly fingerprints: Float64Array;
  /** Out: 1 where the fingerprint is weak. */
  readonly weak: Uint8Array;
}

export interface NativeEngineExports {
  /** The decode events' names, in counter order (DECODE_EVENT_NAMES). */
  decodeEventNames(): string[];
  /** A decoder with these tunnel ports (default: VXLAN 4789 and 8472, Geneve 6081). Throws on a port outside 0-65535. */
  createDecoder(tunnelPorts?: NativeTunnelPorts): NativeDecoder;
  /** Decodes data[offset, offset + length) and returns all of it. Throws when the range is not within data. */
  decodeForTest(decoder: NativeDecoder, data: Uint8Array, offset: number, length: number, linkType: number): NativeDecodeResult;
  /** The per-packet form: returns the DecodeStatus; out[0] = fingerprint, out[1] = 1 when weak. Allocates nothing. */
  decodeInto(decoder: NativeDecoder, data: Uint8Array, offset: number, length: number, linkType: number, out: Float64Array): number;
  /** Decodes and fingerprints block.count records in one call; returns block.count. Throws on a record outside data. */
  decodeBatch(decoder: NativeDecoder, block: NativeDecodeBlock): number;
  /** The decoder's event counters since createDecoder, in decodeEventNames() order. */
  decoderEvents(decoder: NativeDecoder): number[];
}
