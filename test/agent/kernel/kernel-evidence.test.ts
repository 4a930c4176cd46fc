import { describe, expect, it } from 'vitest';
import type { VanishedGroup } from '../../../core/findings/hop.js';
import { KernelEvidenceCollector } from '../../../agent/kernel/kernel-evidence.js';

const T = 1_795_000_000_000;

function group(iface: string): VanishedGroup {
  return {
    key: iface,
    node: 'n2',
    nodeIndex: 0,
    iface,
    ifaceId: 0,
    role: 'tunnel',
    identity: { ipVersion: 4, src: '100.64.0.1', dst: '10.91.1.130', proto: 1, sport: null, dport: null },
    srcKey: 0,
    dstKey: 0,
    packets: 3,
    firstSeen: T,
    lastSeen: T + 1000,
    directionUncertain: false,
    fingerprints: [],
    samplePath: [],
    upstreamPath: [],
    arrivalMacSrc: -1,
    arrivalMacDst: -1,
  };
}

describe('kernel drop events matched to a vanished group', () => {
  it('counts only the drops the kernel made on the group interface, when its index is known', () => {
    const k = new KernelEvidenceCollector();
    const drop = { src: '100.64.0.1', dst: '10.91.1.130', proto: 1, sport: 0, dport: 0, ts: T + 500 };
    k.addDrop({ ...drop, reason: 'IP_RPFILTER', ifindex: 7 });
    k.addDrop({ ...drop, reason: 'IP_RPFILTER', ifindex: 7 });
    k.addDrop({ ...drop, reason: 'NO_SOCKET', ifindex: 2 });
    k.interfaceIndex = (name) => ({ 'not-a-real-tunl': 7, 'not-a-real-eth': 2 })[name];
    expect(k.evidenceFor(group('not-a-real-tunl')).dropReasons).toEqual({ IP_RPFILTER: 2 });
    expect(k.evidenceFor(group('not-a-real-eth')).dropReasons).toEqual({ NO_SOCKET: 1 });
    // An interface whose index is not known (gone already) keeps matching by addresses and time.
    expect(k.evidenceFor(group('gone')).dropReasons).toEqual({ IP_RPFILTER: 2, NO_SOCKET: 1 });
  });
});
