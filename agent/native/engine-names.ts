/**
 * Names the engine's numbers stand for (native/engine/pw_view.h, decode_events.h), shared by
 * everything that turns its results into text: encapsulation kinds, why a tunnel's payload was not
 * decoded, and a fingerprint's hex form.
 */

/** Encapsulation kinds by their number in the engine (pw_view's encap_kind). */
export const ENCAP_NAMES: readonly string[] = ['none', 'ipip', 'gre', 'vxlan', 'geneve', 'erspan'];

/**
 * Why a tunnel's payload was not decoded. The packet is then neither plain traffic nor an inner
 * packet: its outer layer is in the view, its inner packet is unknown (view.ipVersion is 0). The
 * first reasons are payloads we do not decode (DecodeStatus.UndecodedTunnel); the last three are
 * set on tunnel packets that are counted as not IP, truncated or malformed.
 */
export const enum UndecodedTunnel {
  None = 0,
  /** GRE version other than 0 and 1 (the value). */
  GreVersion,
  /** GRE with RFC 1701 source routing. */
  GreRouting,
  /** GRE carrying an EtherType we do not decode (the value: keepalives 0, MPLS 0x8847, ...). */
  GreProtocol,
  /** PPP (PPTP's GREv1, or PPP in GRE) carrying something other than IP (the value: LCP, compressed ...). */
  PppProtocol,
  /** A PPTP GREv1 packet with no payload (an acknowledgement only). */
  PptpNoPayload,
  /** ERSPAN header version other than 1 (type II) and 2 (type III) (the value). */
  ErspanVersion,
  /** ERSPAN type III frame type other than Ethernet (0) and IP (2) (the value). */
  ErspanFrameType,
  /** The tunnel carried a frame that is not IP (the value: its EtherType; below 0x0600 an 802.3 length). */
  PayloadNotIp,
  /** The capture cut the packet inside the tunnel, before its inner IP header. */
  PayloadTruncated,
  /** A header inside the tunnel contradicted itself. */
  PayloadMalformed,
}

/** Machine-readable name of an undecoded tunnel payload, as replay's flows and stats show it. */
export function undecodedTunnelName(reason: UndecodedTunnel, value: number): string {
  const hex = (v: number): string => `0x${v.toString(16).padStart(4, '0')}`;
  switch (reason) {
    case UndecodedTunnel.GreVersion:
      return `gre-version-${value}`;
    case UndecodedTunnel.GreRouting:
      return 'gre-routing';
    case UndecodedTunnel.GreProtocol:
      return `gre-protocol-${hex(value)}`;
    case UndecodedTunnel.PppProtocol:
      return `ppp-protocol-${hex(value)}`;
    case UndecodedTunnel.PptpNoPayload:
      return 'pptp-ack';
    case UndecodedTunnel.ErspanVersion:
      return `erspan-version-${value}`;
    case UndecodedTunnel.ErspanFrameType:
      return `erspan-frame-type-${value}`;
    case UndecodedTunnel.PayloadNotIp:
      return value >= 0x0600 ? `not-ip-${hex(value)}` : 'not-ip-llc';
    case UndecodedTunnel.PayloadTruncated:
      return 'truncated';
    case UndecodedTunnel.PayloadMalformed:
      return 'malformed';
    default:
      return 'none';
  }
}

/** A packet fingerprint (53 bits) as the 14 hex digits drop events and pcapng comments show. */
export function fingerprintToHex(fp: number): string {
  return fp.toString(16).padStart(14, '0');
}

/** The outer layers of a tunnel packet whose payload was not decoded, as the engine's decoder saw them. */
export interface TunnelLayersView {
  readonly encapDepth: number;
  readonly encapKind: ArrayLike<number>;
  readonly encapOuterVersion: ArrayLike<number>;
  readonly encapVni: ArrayLike<number>;
  /** Four words per layer. */
  readonly encapOuterSrc: Uint32Array;
  readonly encapOuterDst: Uint32Array;
  readonly undecodedTunnel: number;
  readonly undecodedValue: number;
}
