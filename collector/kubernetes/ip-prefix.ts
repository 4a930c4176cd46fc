/**
 * Addresses and prefixes for the identity caches. Addresses are keyed by the store's canonical text
 * (collector/store/ip-address.ts: dotted quad for IPv4 and IPv4-mapped, RFC 5952 for IPv6), so an
 * address spelled by the API ("FD00::0A") and by a capture ("fd00::a") is the same key and matches
 * what the store keeps. Prefixes are matched in the 128-bit IPv4-mapped space, so one table holds
 * both families and an IPv4 /26 is simply a /122 there.
 */
import { bytesToIp, ipToBytes } from '../store/ip-address.js';

/** The canonical text of an address, or null when the text is not one (zone ids included). */
export function normalizeIp(text: string): string | null {
  try {
    return bytesToIp(ipToBytes(text));
  } catch {
    return null;
  }
}

function bytesToBigInt(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

function bigIntToBytes(v: bigint): Uint8Array {
  const bytes = new Uint8Array(16);
  for (let i = 15; i >= 0; i--) {
    bytes[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return bytes;
}

function ipToBigInt(text: string): bigint | null {
  try {
    return bytesToBigInt(ipToBytes(text));
  } catch {
    return null;
  }
}

export interface Prefix {
  /** Prefix length in the 128-bit mapped space (an IPv4 /26 is 122). */
  readonly length: number;
  /** The network, shifted right so that only its `length` leading bits remain. */
  readonly network: bigint;
  /** Canonical text: the network address (host bits cleared) and the length as written for its family. */
  readonly text: string;
}

/** Parses `ADDRESS/LENGTH`; host bits set in the address are cleared (10.0.0.5/24 is 10.0.0.0/24). */
export function parsePrefix(text: string): Prefix | null {
  const slash = text.indexOf('/');
  if (slash < 0) return null;
  const addressText = text.slice(0, slash);
  const lengthText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lengthText)) return null;
  const address = ipToBigInt(addressText);
  if (address === null) return null;
  const isV4 = !addressText.includes(':');
  const written = Number(lengthText);
  if (written > (isV4 ? 32 : 128)) return null;
  const length = isV4 ? 96 + written : written;
  const network = address >> BigInt(128 - length);
  const networkText = bytesToIp(bigIntToBytes(network << BigInt(128 - length)));
  return { length, network, text: `${networkText}/${written}` };
}

/**
 * Longest-prefix match over a few thousand prefixes (Calico blocks): one hash map per prefix length
 * present, probed from the longest length down. Clusters use one or two block sizes, so a lookup is
 * one or two map probes, not a scan.
 */
export class PrefixTable<V> {
  private readonly byLength = new Map<number, Map<bigint, { readonly key: string; readonly value: V }>>();
  private readonly byKey = new Map<string, Prefix>();
  /** Lengths present, longest first; rebuilt when a length appears or disappears (rare). */
  private lengths: number[] = [];

  get size(): number {
    return this.byKey.size;
  }

  /** Sets the entry `key` (an object's name) to `prefix`, replacing what that key held before. */
  set(key: string, prefix: Prefix, value: V): void {
    this.delete(key);
    let slot = this.byLength.get(prefix.length);
    if (slot === undefined) {
      slot = new Map();
      this.byLength.set(prefix.length, slot);
      this.lengths = [...this.byLength.keys()].sort((a, b) => b - a);
    }
    const previous = slot.get(prefix.network);
    // Two keys with the same prefix should not happen (Calico names a block after its CIDR); if it does,
    // the newer one answers and the older one's key no longer owns the slot.
    if (previous !== undefined) this.byKey.delete(previous.key);
    slot.set(prefix.network, { key, value });
    this.byKey.set(key, prefix);
  }

  delete(key: string): void {
    const prefix = this.byKey.get(key);
    if (prefix === undefined) return;
    this.byKey.delete(key);
    const slot = this.byLength.get(prefix.length);
    if (slot === undefined) return;
    if (slot.get(prefix.network)?.key === key) slot.delete(prefix.network);
    if (slot.size === 0) {
      this.byLength.delete(prefix.length);
      this.lengths = [...this.byLength.keys()].sort((a, b) => b - a);
    }
  }

  clear(): void {
    this.byLength.clear();
    this.byKey.clear();
    this.lengths = [];
  }

  /** The value of the longest prefix containing `ip`, or null (also for text that is not an address). */
  lookup(ip: string): V | null {
    if (this.lengths.length === 0) return null;
    const address = ipToBigInt(ip);
    if (address === null) return null;
    for (const length of this.lengths) {
      const hit = this.byLength.get(length)?.get(address >> BigInt(128 - length));
      if (hit !== undefined) return hit.value;
    }
    return null;
  }
}
