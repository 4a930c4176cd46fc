/**
 * Candidates in canonical order, and candidates of the same group taken in several parts (an
 * engine takes findings as capture time advances) joined back into one: findings made from the
 * same packets are then equal whatever the times they were taken at.
 */
import type { VanishCandidate } from './node-findings.js';

/** The group a candidate belongs to: arrival interface, addresses, protocol, ports, certainty. */
export function candidateKey(c: VanishCandidate): string {
  const id = c.identity;
  return `${c.iface}|${id.src}|${id.dst}|${id.proto}|${id.sport ?? ''}|${id.dport ?? ''}|${c.directionUncertain ? 'u' : 'c'}`;
}

/** First seen first; equal times by key. */
export function compareCandidates(a: VanishCandidate, b: VanishCandidate): number {
  if (a.firstSeen !== b.firstSeen) return a.firstSeen - b.firstSeen;
  const ka = candidateKey(a);
  const kb = candidateKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/**
 * Joins `more` (taken later) into `into` by group: packets add up, first and last seen widen, the
 * first part keeps its packet's path, addresses and sample, fingerprints fill up to five.
 */
export function joinCandidates(into: Map<string, VanishCandidate>, more: readonly VanishCandidate[]): void {
  for (const c of more) {
    const key = candidateKey(c);
    const prev = into.get(key);
    if (!prev) {
      into.set(key, c);
      continue;
    }
    into.set(key, {
      ...prev,
      packets: prev.packets + c.packets,
      firstSeen: Math.min(prev.firstSeen, c.firstSeen),
      lastSeen: Math.max(prev.lastSeen, c.lastSeen),
      fingerprints: [...prev.fingerprints, ...c.fingerprints].slice(0, 5),
      upstreamPath: prev.upstreamPath.length > 0 ? prev.upstreamPath : c.upstreamPath,
      ...(prev.sample ?? c.sample ? { sample: (prev.sample ?? c.sample) as NonNullable<VanishCandidate['sample']> } : {}),
    });
  }
}
