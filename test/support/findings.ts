/**
 * Plain NodeFindings and candidates for the judgement core's unit tests: every field defaulted to
 * something sensible, so a test states only what it is about.
 */
import type { Hop, PacketIdentity } from '../../core/findings/hop.js';
import { emptyCounters, type NodeFindings, type NodeKnowledgeFacts, type TunnelDeparture, type VanishCandidate } from '../../core/findings/node-findings.js';

export const T0 = Date.UTC(2026, 0, 1);

export function identity(over: Partial<PacketIdentity> = {}): PacketIdentity {
  return { ipVersion: 4, src: '100.64.0.1', dst: '10.91.1.130', proto: 1, sport: null, dport: null, ...over };
}

export function hop(over: Partial<Hop> = {}): Hop {
  return { node: 'n2', iface: 'tunl0', role: 'tunnel', direction: 'in', directionSource: 'linux-packet-type', ts: T0, encap: 'none', outerSrc: null, outerDst: null, vni: null, ttl: 63, length: 84, ...over };
}

export function candidate(over: Partial<VanishCandidate> = {}): VanishCandidate {
  return {
    iface: 'tunl0',
    role: 'tunnel',
    identity: identity(),
    packets: 1,
    firstSeen: T0,
    lastSeen: T0,
    directionUncertain: false,
    fingerprints: ['abc'],
    path: [hop()],
    upstreamPath: [],
    arrivalMacSrc: null,
    arrivalMacDst: null,
    ...over,
  };
}

export function knowledge(over: Partial<NodeKnowledgeFacts> = {}): NodeKnowledgeFacts {
  return { ownAddresses: [], locations: [], exits: [], ownMacs: [], ...over };
}

export function findings(over: Partial<NodeFindings> = {}): NodeFindings {
  return {
    node: 'n2',
    interfaces: [],
    coversAllInterfaces: true,
    candidates: [],
    knowledge: knowledge(),
    counters: emptyCounters(),
    departures: [],
    arrivals: [],
    captureLoss: [],
    coveredUntil: T0,
    ...over,
  };
}

export function departure(over: Partial<TunnelDeparture> = {}): TunnelDeparture {
  return { fingerprint: 'f1', outerDst: '192.168.77.12', ts: T0, path: [hop({ node: 'n1', iface: 'eth0', role: 'uplink', direction: 'out', encap: 'ipip' })], identity: identity(), ...over };
}
