import { describe, expect, it } from 'vitest';
import type { VanishedGroup } from '../../../core/findings/hop.js';
import { explainVanished } from '../../../core/explain/explain-vanished.js';

function group(): VanishedGroup {
  return {
    key: 'k',
    node: 'ubuntu-3',
    nodeIndex: 0,
    iface: 'tunl0',
    ifaceId: 1,
    role: 'tunnel',
    identity: { ipVersion: 4, src: '100.64.0.1', dst: '10.91.1.128', proto: 1, sport: null, dport: null },
    srcKey: 1,
    dstKey: 2,
    packets: 5,
    firstSeen: Date.UTC(2026, 0, 1),
    lastSeen: Date.UTC(2026, 0, 1, 0, 0, 4),
    directionUncertain: false,
    fingerprints: [],
    samplePath: [],
    upstreamPath: [],
    arrivalMacSrc: -1,
    arrivalMacDst: -1,
  };
}

describe('explaining a vanished group', () => {
  it('is confirmed when the kernel reported IP_RPFILTER, with the contract shape', () => {
    const { event } = explainVanished({
      group: group(),
      expectedExit: 'cali90490b35e30',
      reverseExits: ['ens3'],
      kernel: { dropReasons: { IP_RPFILTER: 5 }, rpFilter: { all: 1, iface: 0, effective: 1 }, routeBackIface: 'ens3', rpFilterCounterDelta: 5 },
    });
    expect(event).toMatchObject({ node: 'ubuntu-3', iface: 'tunl0', src: '100.64.0.1', dst: '10.91.1.128', proto: 'icmp', sport: null, dport: null, packets: 5, verdict: 'reverse-path', confidence: 'confirmed' });
    expect(event.firstSeen).toBe('2026-01-01T00:00:00.000Z');
    expect(event.lastSeen).toBe('2026-01-01T00:00:04.000Z');
    expect(event.evidence).toContainEqual({ kind: 'ebpf-drop-reason', detail: 'IP_RPFILTER x5 on tunl0' });
    expect(event.remedy.split('\n')[0]).toBe('sysctl -w net.ipv4.conf.tunl0.rp_filter=2');
    expect(event.id).toMatch(/^[0-9a-f]{20}$/);
  });

  it('is likely from strict rp_filter, the route back elsewhere and a growing counter', () => {
    const { event } = explainVanished({ group: group(), expectedExit: null, reverseExits: [], kernel: { rpFilter: { all: 1, iface: 1, effective: 1 }, routeBackIface: 'ens3', rpFilterCounterDelta: 3 } });
    expect([event.verdict, event.confidence]).toEqual(['reverse-path', 'likely']);
  });

  it('is possible from the traffic alone, and a plain vanish without any evidence', () => {
    expect(explainVanished({ group: group(), expectedExit: null, reverseExits: ['ens3'] }).event).toMatchObject({ verdict: 'reverse-path', confidence: 'possible' });
    expect(explainVanished({ group: group(), expectedExit: null, reverseExits: [] }).event).toMatchObject({ verdict: 'vanished', confidence: 'possible' });
  });

  it('names other kernel reasons: netfilter, no-route, or the reason in kebab case; sysctl names use slashes', () => {
    const g = { ...group(), iface: 'vxlan.calico' };
    expect(explainVanished({ group: g, expectedExit: null, reverseExits: [], kernel: { dropReasons: { NETFILTER_DROP: 2 } } }).event.verdict).toBe('netfilter');
    expect(explainVanished({ group: g, expectedExit: null, reverseExits: [], kernel: { dropReasons: { IP_INNOROUTES: 2 } } }).event.verdict).toBe('no-route');
    expect(explainVanished({ group: g, expectedExit: null, reverseExits: [], kernel: { dropReasons: { PKT_TOO_BIG: 2 } } }).event.verdict).toBe('pkt-too-big');
    expect(explainVanished({ group: g, expectedExit: null, reverseExits: ['eth0'] }).event.remedy).toContain('net.ipv4.conf.vxlan/calico.rp_filter=2');
  });
});
