import { describe, expect, it } from 'vitest';
import { explainTransitLoss, explainVanished } from '../../../core/explain/explain-drop.js';
import type { VanishCandidate } from '../../../core/findings/node-findings.js';
import type { JudgedCandidate } from '../../../core/judge/judge-findings.js';
import { candidate, departure, hop, T0 } from '../../support/findings.js';

function judged(over: Partial<VanishCandidate> = {}, exits: { expectedExit?: string | null; reverseExits?: string[] } = {}): JudgedCandidate {
  return {
    node: 'ubuntu-3',
    candidate: candidate({ identity: { ipVersion: 4, src: '100.64.0.1', dst: '10.91.1.128', proto: 1, sport: null, dport: null }, packets: 5, firstSeen: T0, lastSeen: T0 + 4000, ...over }),
    expectedExit: exits.expectedExit ?? null,
    reverseExits: exits.reverseExits ?? [],
  };
}

describe('explaining a vanished candidate', () => {
  it('is confirmed when the kernel reported IP_RPFILTER, with the contract shape', () => {
    const { event } = explainVanished(
      judged({ kernel: { dropReasons: { IP_RPFILTER: 5 }, rpFilter: { all: 1, iface: 0, effective: 1 }, routeBackIface: 'ens3', rpFilterCounterDelta: 5 } }, { expectedExit: 'cali90490b35e30', reverseExits: ['ens3'] }),
    );
    expect(event).toMatchObject({ node: 'ubuntu-3', iface: 'tunl0', src: '100.64.0.1', dst: '10.91.1.128', proto: 'icmp', sport: null, dport: null, packets: 5, verdict: 'reverse-path', confidence: 'confirmed' });
    expect(event.firstSeen).toBe('2026-01-01T00:00:00.000Z');
    expect(event.lastSeen).toBe('2026-01-01T00:00:04.000Z');
    expect(event.evidence).toContainEqual({ kind: 'ebpf-drop-reason', detail: 'IP_RPFILTER x5 on tunl0 (5 of 5 packet(s) matched by fingerprint)' });
    expect(event.kernel).toEqual({ reason: 'IP_RPFILTER', packets: 5 });
    expect(event.remedy.split('\n')[0]).toBe('sysctl -w net.ipv4.conf.tunl0.rp_filter=2');
    expect(event.id).toMatch(/^[0-9a-f]{20}$/);
  });

  it('is likely from strict rp_filter, the route back elsewhere and a growing counter', () => {
    const { event } = explainVanished(judged({ kernel: { rpFilter: { all: 1, iface: 1, effective: 1 }, routeBackIface: 'ens3', rpFilterCounterDelta: 3 } }));
    expect([event.verdict, event.confidence, event.kernel]).toEqual(['reverse-path', 'likely', null]);
  });

  it('a reason that says nothing is a confirmed vanish, with where the kernel freed the packets; a reason that says why wins over it', () => {
    const generic = explainVanished(judged({ kernel: { dropReasons: { NOT_SPECIFIED: 3 }, dropLocations: { NOT_SPECIFIED: 'ip_rcv_finish_core+0x1a' } } })).event;
    expect([generic.verdict, generic.confidence, generic.kernel]).toEqual(['vanished', 'confirmed', { reason: 'NOT_SPECIFIED', packets: 3 }]);
    expect(generic.evidence).toContainEqual({ kind: 'ebpf-drop-reason', detail: 'NOT_SPECIFIED x3 on tunl0 (3 of 5 packet(s) matched by fingerprint), freed in ip_rcv_finish_core+0x1a' });
    const both = explainVanished(judged({ kernel: { dropReasons: { NOT_SPECIFIED: 4, IP_RPFILTER: 1 } } })).event;
    expect([both.verdict, both.kernel]).toEqual(['reverse-path', { reason: 'IP_RPFILTER', packets: 1 }]);
  });

  it('is possible from the traffic alone, and a plain vanish without any evidence', () => {
    expect(explainVanished(judged({}, { reverseExits: ['ens3'] })).event).toMatchObject({ verdict: 'reverse-path', confidence: 'possible' });
    expect(explainVanished(judged()).event).toMatchObject({ verdict: 'vanished', confidence: 'possible' });
  });

  it('names other kernel reasons: netfilter, no-route, or the reason in kebab case; sysctl names use slashes', () => {
    const v = (reasons: Record<string, number>) => explainVanished(judged({ iface: 'vxlan.calico', kernel: { dropReasons: reasons } })).event.verdict;
    expect(v({ NETFILTER_DROP: 2 })).toBe('netfilter');
    expect(v({ IP_INNOROUTES: 2 })).toBe('no-route');
    expect(v({ PKT_TOO_BIG: 2 })).toBe('pkt-too-big');
    expect(explainVanished(judged({ iface: 'vxlan.calico' }, { reverseExits: ['eth0'] })).event.remedy).toContain('net.ipv4.conf.vxlan/calico.rp_filter=2');
  });

  it('draws the path from the hops the packet took on earlier nodes, then this one', () => {
    const upstream = [hop({ node: 'n1', iface: 'eth0', direction: 'in' })];
    const own = [hop({ node: 'ubuntu-3', iface: 'tunl0' })];
    expect(explainVanished(judged({ path: own, upstreamPath: upstream })).path).toEqual([...upstream, ...own]);
  });
});

describe('explaining a transit loss (the same producer)', () => {
  it('names the node it left, the node it never reached, and what to check between them', () => {
    const d = departure({ outerDst: '192.168.77.12' });
    const { event, path } = explainTransitLoss({ fromNode: 'n1', targetNode: 'n2', departure: d });
    expect(event).toMatchObject({ node: 'n1', iface: 'eth0', verdict: 'vanished', confidence: 'possible', packets: 1, kernel: null });
    expect(event.evidence[0]?.detail).toBe('left n1 by eth0 encapsulated (ipip) toward n2 (192.168.77.12), never seen arriving there');
    expect(event.remedy).toContain('ping -c 3 192.168.77.12');
    expect(path).toEqual(d.path);
  });
});
