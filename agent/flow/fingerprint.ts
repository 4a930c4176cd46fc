/**
 * Packet fingerprint: the same value for the same packet on every hop, different for different
 * packets with overwhelming probability within a correlation window.
 *
 * Hashed: the innermost packet only (so encapsulation and decapsulation do not change it), and only
 * fields no router or NAT rewrites:
 *   IP version, protocol, IP length, IPv4 identification / IPv6 fragment id, fragment offset+MF;
 *   TCP sequence, acknowledgment and flags; UDP length; ICMP type, code and echo sequence (the echo
 *   identifier is rewritten by NAT); the quoted IP id of ICMP errors;
 *   the first FINGERPRINT_PAYLOAD_BYTES of transport payload.
 * Left out on purpose: TTL/hop limit and checksums (change every hop), and addresses and ports
 * (kube-proxy DNAT and masquerade rewrite them between the uplink and the pod veth) - except for
 * multicast and link-local traffic, which no NAT touches and which often carries nothing else that
 * differs (IPv6 neighbour solicitations from many hosts for one target are byte-identical above
 * the source address). The IPv6 flow label (random per socket on Linux) adds what IPv4's id gives.
 *
 * Two independent 32-bit murmur3-style hashes are folded into one 53-bit integer, exact in a JS
 * number: at 10^6 packets in a window, the chance of any collision is about 10^-4.
 */
import { PacketView } from '../decode/packet-view.js';

export const FINGERPRINT_PAYLOAD_BYTES = 16;

const SEED_A = 0x9747b28c;
const SEED_B = 0x5bd1e995;

const scratch = new Float64Array(1);

/**
 * Fingerprint of the innermost packet in `view`, read from `data` (the buffer the view was decoded
 * from). Returns 0 when there is no IP packet (0 is never a valid fingerprint).
 */
export function packetFingerprint(view: PacketView, data: Uint8Array): number {
  writePacketFingerprint(view, data, scratch, 0);
  return scratch[0] as number;
}

/**
 * Words the two hashes take in, in order: `inA[i]` feeds hash a and `inB[i]` hash b. Gathered first
 * and hashed in one loop below, so no small helper returns a 32-bit value per word (one that V8
 * happens not to inline boxes it: 16 bytes of heap per word).
 */
const inA = new Int32Array(64);
const inB = new Int32Array(64);

/**
 * The same, written into out[at]: the per-packet form. A 53-bit value returned from a call is a
 * boxed number (16 bytes of heap per packet); stored in a Float64Array it costs nothing.
 */
export function writePacketFingerprint(view: PacketView, data: Uint8Array, out: Float64Array, at: number): void {
  if (view.ipVersion === 0) {
    out[at] = 0;
    return;
  }
  let n = 0;
  const head = (view.ipVersion << 24) | ((view.proto & 0xff) << 16) | (view.isFragment << 15) | (view.moreFragments << 14);
  inA[n] = head;
  inB[n++] = head ^ 0x5a5a5a5a;
  inA[n] = view.ipLength;
  inB[n++] = view.ipLength + 0x3c6ef372;
  inA[n] = view.ipId;
  inB[n++] = view.ipId ^ 0xa54ff53a;
  inA[n] = view.fragOffset ^ (view.flowLabel << 12);
  inB[n++] = view.fragOffset + 0x510e527f + view.flowLabel;
  if (neverTranslated(view)) {
    for (let k = 0; k < 4; k++) {
      inA[n] = view.src[k] as number;
      inB[n++] = (view.dst[k] as number) ^ 0x2545f491;
      inA[n] = view.dst[k] as number;
      inB[n++] = (view.src[k] as number) + 0x68e31da4;
    }
  }
  const proto = view.proto;
  if (proto === 6) {
    inA[n] = view.tcpSeq;
    inB[n++] = view.tcpSeq ^ 0x1f83d9ab;
    inA[n] = view.tcpAck;
    inB[n++] = view.tcpAck + 0x5be0cd19;
    inA[n] = view.tcpFlags;
    inB[n++] = view.tcpFlags ^ 0x6a09e667;
  } else if (proto === 17) {
    inA[n] = view.udpLength;
    inB[n++] = view.udpLength ^ 0x6a09e667;
  } else if (proto === 1 || proto === 58) {
    const icmp = ((view.icmpType & 0xff) << 24) | ((view.icmpCode & 0xff) << 16) | (view.icmpSeq & 0xffff);
    inA[n] = icmp;
    inB[n++] = icmp ^ 0xbb67ae85;
    inA[n] = view.quotedIpId;
    inB[n++] = view.quotedIpId + 0x3c6ef372;
  }
  const start = view.payloadOffset;
  if (start >= 0) {
    const end = Math.min(view.payloadEnd, start + FINGERPRINT_PAYLOAD_BYTES);
    let i = start;
    for (; i + 4 <= end; i += 4) {
      const w = ((data[i] as number) << 24) | ((data[i + 1] as number) << 16) | ((data[i + 2] as number) << 8) | (data[i + 3] as number);
      inA[n] = w;
      inB[n++] = w ^ 0x9e3779b9;
    }
    let tail = 0;
    for (; i < end; i++) tail = (tail << 8) | (data[i] as number);
    inA[n] = tail ^ (end - start);
    inB[n++] = tail + (end - start);
  }
  // murmur3's block mixing over both word streams, then its finaliser.
  let a = SEED_A;
  let b = SEED_B;
  for (let i = 0; i < n; i++) {
    let k = Math.imul(inA[i] as number, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    a ^= Math.imul(k, 0x1b873593);
    a = (a << 13) | (a >>> 19);
    a = (Math.imul(a, 5) + 0xe6546b64) | 0;
    k = Math.imul(inB[i] as number, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    b ^= Math.imul(k, 0x1b873593);
    b = (b << 13) | (b >>> 19);
    b = (Math.imul(b, 5) + 0xe6546b64) | 0;
  }
  a ^= a >>> 16;
  a = Math.imul(a, 0x85ebca6b);
  a ^= a >>> 13;
  a = Math.imul(a, 0xc2b2ae35);
  a ^= a >>> 16;
  b ^= b >>> 16;
  b = Math.imul(b, 0x85ebca6b);
  b ^= b >>> 13;
  b = Math.imul(b, 0xc2b2ae35);
  b ^= b >>> 16;
  const hi = a & 0x1fffff; // 21 bits
  const lo = b >>> 0; // 32 bits
  const fp = hi * 4294967296 + lo;
  out[at] = fp === 0 ? 1 : fp;
}

/** Multicast, broadcast and link-local packets: never NATed, so their addresses can be hashed. */
function neverTranslated(view: PacketView): boolean {
  const d = view.dst[0] as number;
  const s = view.src[0] as number;
  if (view.ipVersion === 4) return d >>> 28 === 0xe || d === 0xffffffff || s >>> 16 === 0xa9fe || d >>> 16 === 0xa9fe;
  return d >>> 24 === 0xff || s >>> 22 === 0x3fa || d >>> 22 === 0x3fa;
}

/**
 * True when the snap length cut into what the fingerprint reads (the transport header, or the
 * payload prefix), so another hop captured with more or fewer bytes computes a different value.
 */
export function fingerprintIsWeak(view: PacketView): boolean {
  if (view.truncated === 0) return false;
  if (view.l4Valid === 0) return view.proto === 6 || view.proto === 17 || view.proto === 1 || view.proto === 58;
  return view.payloadEnd - view.payloadOffset < FINGERPRINT_PAYLOAD_BYTES;
}

export { fingerprintToHex } from '../native/engine-names.js';
