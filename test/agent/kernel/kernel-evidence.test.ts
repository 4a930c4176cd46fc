import { describe, expect, it } from 'vitest';
import { KernelEvidenceCollector } from '../../../agent/kernel/kernel-evidence.js';
import { candidate } from '../../support/findings.js';

const T = 1_795_000_000_000;

const group = (iface: string) => candidate({ iface, packets: 3, firstSeen: T, lastSeen: T + 1000 });

describe('kernel drop events matched to a vanish candidate', () => {
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
