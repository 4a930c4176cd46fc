import { describe, expect, it } from 'vitest';
import { explainTransitLoss, explainVanished } from '../../../core/explain/explain-drop.js';
import { vanishedRemedy } from '../../../core/explain/remedy.js';
import type { KernelEvidence, NetfilterRuleGrowth } from '../../../core/findings/kernel-evidence.js';
import type { VanishCandidate } from '../../../core/findings/node-findings.js';
import type { JudgedCandidate } from '../../../core/judge/judge-findings.js';
import { candidate, departure, hop, T0 } from '../../support/findings.js';

function judged(over: Partial<VanishCandidate> = {}, exits: { expectedExit?: string | null; reverseExits?: string[]; forwardExits?: string[] } = {}): JudgedCandidate {
  return {
    node: 'ubuntu-3',
    candidate: candidate({ identity: { ipVersion: 4, src: '100.64.0.1', dst: '10.91.1.128', proto: 1, sport: null, dport: null }, packets: 5, firstSeen: T0, lastSeen: T0 + 4000, ...over }),
    expectedExit: exits.expectedExit ?? null,
    reverseExits: exits.reverseExits ?? [],
    forwardExits: exits.forwardExits ?? [],
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
    expect(v({ PKT_TOO_BIG: 2 })).toBe('mtu');
    expect(v({ NEIGH_FAILED: 2 })).toBe('neighbour');
    expect(v({ IP_INHDR: 2 })).toBe('ip-inhdr');
    expect(explainVanished(judged({ iface: 'vxlan.calico' }, { reverseExits: ['eth0'] })).event.remedy).toContain('net.ipv4.conf.vxlan/calico.rp_filter=2');
  });

  it('draws the path from the hops the packet took on earlier nodes, then this one', () => {
    const upstream = [hop({ node: 'n1', iface: 'eth0', direction: 'in' })];
    const own = [hop({ node: 'ubuntu-3', iface: 'tunl0' })];
    expect(explainVanished(judged({ path: own, upstreamPath: upstream })).path).toEqual([...upstream, ...own]);
  });
});

// The catalog of causes (core/explain/causes/): each confirmed by its kernel reason, likely from the
// node's configuration alone, and the order in which they win. The group: 5 packets from 100.64.0.1 to
// 10.91.1.128 that arrived on tunl0 of ubuntu-3 and never left.
const CALICO_RPF: NetfilterRuleGrowth = {
  table: 'raw',
  chain: 'cali-PREROUTING',
  rule: '-A cali-PREROUTING -m comment --comment "cali:fSSbGND7dgyemWU7" -m mark --mark 0x40000/0x40000 -m rpfilter --validmark --invert -j DROP',
  packets: 5,
};
const POLICY_DROP: NetfilterRuleGrowth = {
  table: 'filter',
  chain: 'cali-tw-cali90490b35e30',
  rule: '-A cali-tw-cali90490b35e30 -m comment --comment "cali:q0Ppo0XvLjo_lYJ3" -m comment --comment "Drop if no policies passed packet" -m mark --mark 0x0/0x20000 -j DROP',
  packets: 5,
};
const BLACKHOLE = { type: 'blackhole', dst: '10.91.1.128/26', dev: null, via: null } as const;
/** Strict rp_filter, the route back by ens3 and the counter grown: reverse-path is supported by the node. */
const STRICT_RPF: KernelEvidence = { rpFilter: { all: 1, iface: 1, effective: 1 }, routeBackIface: 'ens3', rpFilterCounterDelta: 5 };

const explain = (kernel: KernelEvidence | undefined, over: Partial<VanishCandidate> = {}, reverseExits: string[] = []) =>
  explainVanished(judged({ ...(kernel ? { kernel } : {}), ...over }, { reverseExits })).event;

describe('the catalog of causes', () => {
  describe('netfilter', () => {
    it('is confirmed by NETFILTER_DROP; the evidence names the table, chain and rule that grew, and the remedy deletes that rule', () => {
      const other: NetfilterRuleGrowth = { table: 'filter', chain: 'FORWARD', rule: '-A FORWARD -m conntrack --ctstate INVALID -j DROP', packets: 2 };
      const e = explain({ dropReasons: { NETFILTER_DROP: 5 }, netfilterRules: [other, POLICY_DROP] });
      expect([e.verdict, e.confidence, e.kernel]).toEqual(['netfilter', 'confirmed', { reason: 'NETFILTER_DROP', packets: 5 }]);
      // Most grown first.
      expect(e.evidence.filter((x) => x.kind === 'netfilter-rule')).toEqual([
        { kind: 'netfilter-rule', detail: `filter cali-tw-cali90490b35e30: ${POLICY_DROP.rule} (+5 packet(s) while these vanished)` },
        { kind: 'netfilter-rule', detail: 'filter FORWARD: -A FORWARD -m conntrack --ctstate INVALID -j DROP (+2 packet(s) while these vanished)' },
      ]);
      expect(e.remedy.split('\n')).toEqual([
        `iptables-save -c -t filter | grep -F -- '${POLICY_DROP.rule}'`,
        '# this rule dropped the packets to 10.91.1.128 (its counter grew with them): if they should pass, narrow it or remove it (a network policy: change the policy, not the rule)',
        `iptables -t filter -D cali-tw-cali90490b35e30 ${POLICY_DROP.rule.slice('-A cali-tw-cali90490b35e30 '.length)}`,
      ]);
    });

    it("names Calico's reverse-path check in raw as such, where rp_filter=0 does not help, and exempts the source in Calico's cali-rpf-skip rather than deleting the check", () => {
      const e = explain({ dropReasons: { NETFILTER_DROP: 5 }, rpFilter: { all: 0, iface: 0, effective: 0 }, netfilterRules: [CALICO_RPF] }, {}, ['ens3']);
      expect([e.verdict, e.confidence]).toEqual(['netfilter', 'confirmed']);
      expect(e.evidence).toContainEqual({ kind: 'rp-filter', detail: 'effective rp_filter on tunl0 is 0 (all=0, tunl0=0): off' });
      expect(e.evidence).toContainEqual({
        kind: 'netfilter-rule',
        detail: `raw cali-PREROUTING: ${CALICO_RPF.rule} (+5 packet(s) while these vanished): a reverse-path check in netfilter (Calico's), which rp_filter=0 does not turn off`,
      });
      const lines = e.remedy.split('\n');
      // The same command `pathwatch lab --scenario calico-rpf --fix` applies.
      expect(lines[0]).toBe('iptables -t raw -A cali-rpf-skip -i tunl0 -s 100.64.0.1/32 -j ACCEPT');
      expect(lines[1]).toContain("netfilter's reverse-path check (raw cali-PREROUTING) drops packets from 100.64.0.1 arriving on tunl0");
      expect(e.remedy).toContain('ip route get 100.64.0.1 from 10.91.1.128');
      // Neither deleting the check nor the rp_filter sysctl (it is off already).
      expect(e.remedy).not.toContain(' -D ');
      expect(e.remedy).not.toContain('rp_filter=2');
    });

    it('exempts the source first in the chain of a reverse-path rule that is not Calico\'s', () => {
      const own = { ...CALICO_RPF, chain: 'PREROUTING', rule: '-A PREROUTING -i tunl0 -m rpfilter --invert -j DROP' };
      const e = explain({ dropReasons: { NETFILTER_DROP: 5 }, netfilterRules: [own] });
      expect(e.remedy.split('\n')[0]).toBe('iptables -t raw -I PREROUTING 1 -i tunl0 -s 100.64.0.1/32 -j ACCEPT');
    });

    it('without a rule that grew, is still confirmed by the reason, with the remedy that says how to find the rule', () => {
      const e = explain({ dropReasons: { NETFILTER_DROP: 5 } });
      expect([e.verdict, e.confidence]).toEqual(['netfilter', 'confirmed']);
      expect(e.evidence.some((x) => x.kind === 'netfilter-rule')).toBe(false);
      expect(e.remedy).toContain(`iptables-save -c | grep -E -- '-j (DROP|REJECT)'`);
      expect(e.remedy).toContain('drops to 10.91.1.128');
    });

    it('is likely from a dropping rule that grew by at least the packets that vanished, and not from one that grew by fewer', () => {
      const enough = explain({ netfilterRules: [POLICY_DROP] });
      expect([enough.verdict, enough.confidence, enough.kernel]).toEqual(['netfilter', 'likely', null]);
      expect(enough.remedy).toContain(`iptables -t filter -D cali-tw-cali90490b35e30 `);
      const more = explain({ netfilterRules: [{ ...POLICY_DROP, packets: 40 }] });
      expect([more.verdict, more.confidence]).toEqual(['netfilter', 'likely']);
      const fewer = explain({ netfilterRules: [{ ...POLICY_DROP, packets: 4 }] });
      expect([fewer.verdict, fewer.confidence]).toEqual(['vanished', 'possible']);
      expect(fewer.remedy).toBe(vanishedRemedy('100.64.0.1', '10.91.1.128', 'tunl0'));
    });
  });

  describe('forwarding-disabled', () => {
    it('is likely from forwarding off on the arrival interface, with the sysctl that turns it on', () => {
      const e = explain({ forwarding: { all: 1, iface: 0 } });
      expect([e.verdict, e.confidence, e.kernel]).toEqual(['forwarding-disabled', 'likely', null]);
      expect(e.evidence).toContainEqual({ kind: 'forwarding', detail: 'net.ipv4.conf.all.forwarding=1, net.ipv4.conf.tunl0.forwarding=0: the node does not forward what arrives on tunl0' });
      expect(e.remedy.split('\n')[0]).toBe('sysctl -w net.ipv4.conf.tunl0.forwarding=1');
      expect(e.remedy).not.toContain('conf.all.forwarding=1');
      // Off everywhere: both; an interface with a dot takes the slash form.
      const everywhere = explain({ forwarding: { all: 0, iface: 0 } }, { iface: 'vxlan.calico' });
      expect(everywhere.verdict).toBe('forwarding-disabled');
      expect(everywhere.remedy.split('\n').slice(0, 2)).toEqual(['sysctl -w net.ipv4.conf.all.forwarding=1', 'sysctl -w net.ipv4.conf.vxlan/calico.forwarding=1']);
    });

    it("is not supported by all=0 alone: IPv4 forwards by the arrival interface's own setting", () => {
      // (test/agent/kernel/route-match.test.ts shows the kernel doing so.)
      const e = explain({ forwarding: { all: 0, iface: 1 } });
      expect([e.verdict, e.confidence]).toEqual(['vanished', 'possible']);
      expect(explain({ forwarding: { all: 1, iface: 1 } }).verdict).toBe('vanished');
    });

    it('is confirmed when the kernel dropped the packets with a reason that says nothing, or with one no cause claims', () => {
      const generic = explain({ dropReasons: { NOT_SPECIFIED: 5 }, dropLocations: { NOT_SPECIFIED: 'ip_error+0x5e' }, forwarding: { all: 1, iface: 0 } });
      expect([generic.verdict, generic.confidence, generic.kernel]).toEqual(['forwarding-disabled', 'confirmed', { reason: 'NOT_SPECIFIED', packets: 5 }]);
      expect(generic.evidence).toContainEqual({ kind: 'ebpf-drop-reason', detail: 'NOT_SPECIFIED x5 on tunl0 (5 of 5 packet(s) matched by fingerprint), freed in ip_error+0x5e' });
      expect(generic.remedy.split('\n')[0]).toBe('sysctl -w net.ipv4.conf.tunl0.forwarding=1');
      // What ip_error says on kernels that name it: an address error, claimed by no cause.
      const named = explain({ dropReasons: { IP_INADDRERRORS: 5 }, forwarding: { all: 1, iface: 0 } });
      expect([named.verdict, named.confidence]).toEqual(['forwarding-disabled', 'confirmed']);
    });
  });

  describe('no-route', () => {
    it('is likely from the blackhole route the destination matches, naming it', () => {
      const e = explain({ route: BLACKHOLE });
      expect([e.verdict, e.confidence, e.kernel]).toEqual(['no-route', 'likely', null]);
      expect(e.evidence).toContainEqual({ kind: 'route', detail: '10.91.1.128 matches the blackhole route 10.91.1.128/26' });
      expect(e.remedy.split('\n')[0]).toBe('ip route show match 10.91.1.128');
      expect(e.remedy).toContain('falls in the blackhole route 10.91.1.128/26');
      const unreachable = explain({ route: { type: 'unreachable', dst: '10.91.1.128/25', dev: null, via: null } });
      expect(unreachable.evidence).toContainEqual({ kind: 'route', detail: '10.91.1.128 matches the unreachable route 10.91.1.128/25' });
    });

    it('is likely from no route at all, and not from a unicast route', () => {
      const none = explain({ route: { type: 'none', dst: '', dev: null, via: null } });
      expect([none.verdict, none.confidence]).toEqual(['no-route', 'likely']);
      expect(none.evidence).toContainEqual({ kind: 'route', detail: 'no route to 10.91.1.128 on this node' });
      expect(none.remedy.split('\n')).toEqual(['ip route get 10.91.1.128 from 100.64.0.1 iif tunl0', '# add a route to 10.91.1.128 (or the pod block that holds it) on this node']);
      expect(explain({ route: { type: 'unicast', dst: 'default', dev: 'ens3', via: '192.168.77.1' } }).verdict).toBe('vanished');
    });

    it('is confirmed by IP_INNOROUTES, and by a reason that says nothing on a blackhole route (the kernel reports none for it)', () => {
      const claimed = explain({ dropReasons: { IP_INNOROUTES: 5 }, route: { type: 'none', dst: '', dev: null, via: null } });
      expect([claimed.verdict, claimed.confidence]).toEqual(['no-route', 'confirmed']);
      const generic = explain({ dropReasons: { NOT_SPECIFIED: 5 }, route: BLACKHOLE });
      expect([generic.verdict, generic.confidence, generic.kernel]).toEqual(['no-route', 'confirmed', { reason: 'NOT_SPECIFIED', packets: 5 }]);
      expect(generic.evidence).toContainEqual({ kind: 'route', detail: '10.91.1.128 matches the blackhole route 10.91.1.128/26' });
    });
  });

  describe('reverse-path', () => {
    it('is confirmed by IP_RPFILTER, likely from the node, possible from the traffic', () => {
      expect(explain({ ...STRICT_RPF, dropReasons: { IP_RPFILTER: 5 } })).toMatchObject({ verdict: 'reverse-path', confidence: 'confirmed' });
      expect(explain(STRICT_RPF)).toMatchObject({ verdict: 'reverse-path', confidence: 'likely' });
      expect(explain({ rpFilter: { all: 1, iface: 1, effective: 1 } }, {}, ['ens3'])).toMatchObject({ verdict: 'reverse-path', confidence: 'possible' });
    });
  });

  it('an unclaimed reason the node supports no cause for is the verdict itself, confirmed, with the vanished remedy', () => {
    const e = explain({ dropReasons: { IP_INHDR: 5 }, forwarding: { all: 1, iface: 1 }, route: { type: 'unicast', dst: '10.91.1.128', dev: 'cali90490b35e30', via: null } });
    expect([e.verdict, e.confidence, e.kernel]).toEqual(['ip-inhdr', 'confirmed', { reason: 'IP_INHDR', packets: 5 }]);
    expect(e.remedy).toBe(vanishedRemedy('100.64.0.1', '10.91.1.128', 'tunl0'));
  });

  it('a reason a cause claims wins over what the node supports', () => {
    const e = explain({ dropReasons: { IP_RPFILTER: 5 }, ...STRICT_RPF, forwarding: { all: 1, iface: 0 }, route: BLACKHOLE, netfilterRules: [POLICY_DROP] });
    expect([e.verdict, e.confidence]).toEqual(['reverse-path', 'confirmed']);
    expect(e.remedy.split('\n')[0]).toBe('sysctl -w net.ipv4.conf.tunl0.rp_filter=2');
  });

  it('when the node supports several, the catalog order decides: forwarding-disabled, no-route, netfilter, reverse-path', () => {
    const all: KernelEvidence = { ...STRICT_RPF, forwarding: { all: 1, iface: 0 }, route: BLACKHOLE, netfilterRules: [POLICY_DROP] };
    const verdict = (k: KernelEvidence, reasons?: Record<string, number>) => {
      const e = explain(reasons ? { ...k, dropReasons: reasons } : k);
      return `${e.verdict} ${e.confidence}`;
    };
    expect(verdict(all)).toBe('forwarding-disabled likely');
    const { forwarding: _f, ...noForwarding } = all;
    expect(verdict(noForwarding)).toBe('no-route likely');
    const { route: _r, ...noRoute } = noForwarding;
    expect(verdict(noRoute)).toBe('netfilter likely');
    const { netfilterRules: _n, ...onlyRpf } = noRoute;
    expect(verdict(onlyRpf)).toBe('reverse-path likely');
    // The same order for a reason that says nothing.
    expect(verdict(all, { NOT_SPECIFIED: 5 })).toBe('forwarding-disabled confirmed');
    expect(verdict(noForwarding, { NOT_SPECIFIED: 5 })).toBe('no-route confirmed');
    // Each cause's own evidence only: the winner's.
    const e = explain(all);
    expect(e.evidence.map((x) => x.kind).filter((k) => ['forwarding', 'route', 'netfilter-rule'].includes(k))).toEqual(['forwarding']);
  });

  it('IPv6 groups: forwarding-disabled and reverse-path are IPv4 rules', () => {
    const v6 = { identity: { ipVersion: 6 as const, src: 'fd00:64::1', dst: 'fd00:91:1::128', proto: 58, sport: null, dport: null } };
    expect(explain({ forwarding: { all: 0, iface: 0 } }, v6).verdict).toBe('vanished');
    expect(explain(STRICT_RPF, v6, ['ens3']).verdict).toBe('vanished');
  });

  it('replay (no kernel evidence) is unchanged: reverse-path possible from asymmetric exits, else vanished', () => {
    const asymmetric = explain(undefined, {}, ['ens3']);
    expect([asymmetric.verdict, asymmetric.confidence, asymmetric.kernel]).toEqual(['reverse-path', 'possible', null]);
    expect(asymmetric.evidence.map((x) => x.kind)).toEqual(['missing-hop', 'asymmetric-path']);
    expect(asymmetric.remedy.split('\n')[0]).toBe('sysctl -w net.ipv4.conf.tunl0.rp_filter=2');
    expect(asymmetric.remedy).toContain('the route back to 100.64.0.1 leaves by ens3');
    const nothing = explain(undefined);
    expect([nothing.verdict, nothing.confidence, nothing.kernel]).toEqual(['vanished', 'possible', null]);
    expect(nothing.evidence.map((x) => x.kind)).toEqual(['missing-hop']);
    expect(nothing.remedy).toBe(vanishedRemedy('100.64.0.1', '10.91.1.128', 'tunl0'));
  });
});

/** The story's wrong node (n1 in the lab): the client's TCP flow to the pod arrives by eth0, its SYN left by tunl0. */
const TCP_FLOW = { identity: { ipVersion: 4, src: '100.64.0.1', dst: '10.91.1.130', proto: 6, sport: 40000, dport: 80 } } as const;
const explainAt = (kernel: KernelEvidence | undefined, over: Partial<VanishCandidate>, exits: { reverseExits?: string[]; forwardExits?: string[] }) =>
  explainVanished(judged({ iface: 'eth0', ...(kernel ? { kernel } : {}), ...over }, exits)).event;
const INVALID_DROP: NetfilterRuleGrowth = { table: 'filter', chain: 'cali-FORWARD', rule: '-A cali-FORWARD -m comment --comment cali:abc -m conntrack --ctstate INVALID -j DROP', packets: 4 };

describe('the catalog of causes, beyond netfilter and routes', () => {
  describe('conntrack-invalid', () => {
    it('claims NETFILTER_DROP when the rule that grew most drops INVALID: confirmed, with the counter, the rule and a NOTRACK remedy', () => {
      const e = explainAt({ dropReasons: { NETFILTER_DROP: 4 }, netfilterRules: [INVALID_DROP, { ...POLICY_DROP, packets: 1 }], conntrackInvalidDelta: 6 }, { ...TCP_FLOW, packets: 4 }, { forwardExits: ['tunl0'] });
      expect([e.verdict, e.confidence, e.kernel]).toEqual(['conntrack-invalid', 'confirmed', { reason: 'NETFILTER_DROP', packets: 4 }]);
      expect(e.evidence.map((x) => x.kind)).toEqual(['missing-hop', 'ebpf-drop-reason', 'one-sided-flow', 'conntrack-counter', 'netfilter-rule']);
      expect(e.evidence.find((x) => x.kind === 'conntrack-counter')?.detail).toBe('nf_conntrack invalid +6 while these vanished');
      expect(e.evidence.find((x) => x.kind === 'one-sided-flow')?.detail).toContain('left ubuntu-3 by tunl0, but none from 10.91.1.130 to 100.64.0.1 passed ubuntu-3');
      expect(e.remedy.split('\n')[0]).toBe('iptables -t raw -I PREROUTING -i eth0 -s 100.64.0.1/32 -d 10.91.1.130/32 -j NOTRACK');
      expect(e.remedy).toContain("filter cali-FORWARD's INVALID rule drops them");
    });

    it('leaves NETFILTER_DROP to netfilter when a policy rule counted more than the INVALID one', () => {
      const e = explainAt({ dropReasons: { NETFILTER_DROP: 5 }, netfilterRules: [{ ...INVALID_DROP, packets: 2 }, POLICY_DROP] }, { ...TCP_FLOW, packets: 5 }, {});
      expect(e.verdict).toBe('netfilter');
    });

    it('is likely from the INVALID rule and counter without the monitor, and possible from a one-sided TCP flow in replay', () => {
      const likely = explainAt({ netfilterRules: [INVALID_DROP], conntrackInvalidDelta: 4 }, { ...TCP_FLOW, packets: 4 }, { forwardExits: ['tunl0'] });
      expect([likely.verdict, likely.confidence]).toEqual(['conntrack-invalid', 'likely']);
      const replay = explainAt(undefined, { ...TCP_FLOW, packets: 3 }, { forwardExits: ['tunl0'] });
      expect([replay.verdict, replay.confidence, replay.kernel]).toEqual(['conntrack-invalid', 'possible', null]);
      // The replies passed this node (the flow is not one-sided), or it is not TCP: not conntrack's doing as far as traffic shows.
      expect(explainAt(undefined, { ...TCP_FLOW, packets: 3 }, { forwardExits: ['tunl0'], reverseExits: ['eth0'] }).verdict).not.toBe('conntrack-invalid');
      expect(explainAt(undefined, { packets: 3 }, { forwardExits: ['tunl0'] }).verdict).toBe('vanished');
    });
  });

  describe('mtu', () => {
    const MTU = { exitIface: 'tunl0', exitMtu: 1480, underlayIface: 'eth0', underlayMtu: 1500, packetLength: 1500, dontFragment: true, fragFailsDelta: 3 } as const;
    it('is confirmed by PKT_TOO_BIG, with the sizes, the MTUs and Ip FragFails', () => {
      const e = explainAt({ dropReasons: { PKT_TOO_BIG: 3 }, mtu: MTU }, { ...TCP_FLOW, packets: 3 }, { forwardExits: ['tunl0'] });
      expect([e.verdict, e.confidence]).toEqual(['mtu', 'confirmed']);
      expect(e.evidence.find((x) => x.kind === 'mtu')?.detail).toBe('a vanished packet was 1500 bytes with DF set; the way out to 10.91.1.130, tunl0, has MTU 1480; the uplink eth0 has 1500: 20 bytes too big');
      expect(e.evidence.find((x) => x.kind === 'netstat-counter')?.detail).toContain('IpFragFails +3');
      expect(e.remedy.split('\n')[0]).toBe('ip link show tunl0');
      expect(e.remedy).toContain('ip link set dev <its cali veth> mtu 1480');
      expect(e.remedy).toContain('let ICMP type 3 code 4 from ubuntu-3 reach 100.64.0.1');
    });

    it('is likely from the sizes alone (no monitor), not when DF is clear or the packet fits', () => {
      expect(explainAt({ mtu: MTU }, TCP_FLOW, {}).confidence).toBe('likely');
      expect(explainAt({ mtu: { ...MTU, dontFragment: false } }, TCP_FLOW, {}).verdict).toBe('vanished');
      expect(explainAt({ mtu: { ...MTU, packetLength: 1400 } }, TCP_FLOW, {}).verdict).toBe('vanished');
    });

    it('is possible in replay when big packets vanished while others of the pair left, and says their size', () => {
      const big = { ...TCP_FLOW, path: [hop({ iface: 'eth0', role: 'uplink', length: 1514 })] };
      const e = explainAt(undefined, big, { forwardExits: ['tunl0'] });
      expect([e.verdict, e.confidence]).toEqual(['mtu', 'possible']);
      expect(e.evidence.find((x) => x.kind === 'packet-size')?.detail).toContain('the vanished packets were 1514 bytes as they arrived on eth0, while other packets from 100.64.0.1 to 10.91.1.130 left ubuntu-3 by tunl0');
      // Small ones of a one-sided TCP flow: conntrack-invalid, not mtu.
      expect(explainAt(undefined, { ...big, path: [hop({ iface: 'eth0', role: 'uplink', length: 66 })] }, { forwardExits: ['tunl0'] }).verdict).toBe('conntrack-invalid');
    });
  });

  describe('neighbour', () => {
    // judged()'s destination: a link route to the pod, whose own address is the next hop.
    const FAILED = { address: '10.91.1.128', dev: 'cali90490b35e30', state: 'FAILED', carrier: false } as const;
    it('is confirmed by NEIGH_FAILED, with the entry and the link, and a remedy about the pod and the stale route', () => {
      const e = explainAt({ dropReasons: { NEIGH_FAILED: 2 }, neighbour: FAILED }, { iface: 'tunl0', packets: 2 }, {});
      expect([e.verdict, e.confidence]).toEqual(['neighbour', 'confirmed']);
      expect(e.evidence.find((x) => x.kind === 'neighbour')?.detail).toBe('ubuntu-3 sends these packets to 10.91.1.128 on cali90490b35e30: neighbour entry FAILED (no answer to ARP)');
      expect(e.evidence.find((x) => x.kind === 'link')?.detail).toContain('cali90490b35e30 has no carrier');
      expect(e.remedy.split('\n')[0]).toBe('ip neigh show 10.91.1.128 dev cali90490b35e30');
      expect(e.remedy).toContain('ip route del 10.91.1.128/32 dev cali90490b35e30');
    });

    it('is likely from an unanswered entry without the monitor; a reachable one supports nothing', () => {
      expect(explainAt({ neighbour: { ...FAILED, state: 'INCOMPLETE', carrier: true } }, { iface: 'tunl0' }, {}).confidence).toBe('likely');
      expect(explainAt({ neighbour: { ...FAILED, state: 'REACHABLE', carrier: true } }, { iface: 'tunl0' }, {}).verdict).toBe('vanished');
    });
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
