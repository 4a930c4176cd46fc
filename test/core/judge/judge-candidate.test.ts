/**
 * The judge: one candidate and its node's facts in, one outcome out. Every rule of
 * core/judge/judge-candidate.ts, each with the fact that decides it.
 */
import { describe, expect, it } from 'vitest';
import { judgeCandidate } from '../../../core/judge/judge-candidate.js';
import { judgeFindings } from '../../../core/judge/judge-findings.js';
import { NodeFacts } from '../../../core/judge/node-facts.js';
import { emptyCounters } from '../../../core/findings/node-findings.js';
import { candidate, findings, identity, knowledge, T0 } from '../../support/findings.js';

const POD = '10.91.1.130';
const CLIENT = '100.64.0.1';

function facts(over: Parameters<typeof findings>[0] = {}): NodeFacts {
  return new NodeFacts(findings(over));
}

describe('judging a candidate', () => {
  it('is local when the node talks to itself, or either address is its own', () => {
    expect(judgeCandidate(candidate({ role: 'loopback' }), facts())).toMatchObject({ outcome: 'local' });
    expect(judgeCandidate(candidate({ identity: identity({ src: POD, dst: POD }) }), facts())).toMatchObject({ outcome: 'local' });
    const own = facts({ knowledge: knowledge({ ownAddresses: [POD] }) });
    expect(judgeCandidate(candidate(), own)).toEqual({ outcome: 'local', reason: 'destination is an address of the node' });
    expect(judgeCandidate(candidate({ identity: identity({ src: POD, dst: CLIENT }) }), own)).toEqual({ outcome: 'local', reason: 'source is an address of the node' });
  });

  it('is unobserved when the node\'s own capture lost packets around it', () => {
    const lossy = facts({ captureLoss: [{ from: T0 + 500, until: T0 + 900, packets: 3 }] });
    expect(judgeCandidate(candidate({ firstSeen: T0, lastSeen: T0 }), lossy)).toEqual({ outcome: 'unobserved', reason: 'the capture itself lost packets then' });
    // Two seconds away is not around it.
    expect(judgeCandidate(candidate({ firstSeen: T0 - 2000, lastSeen: T0 - 2000 }), lossy)).toMatchObject({ outcome: 'vanished' });
  });

  it('vanished when every interface was captured: expected exit where the destination lives, reverse exits from the way back', () => {
    const f = facts({ knowledge: knowledge({ locations: [{ address: POD, iface: 'cali1' }], exits: [{ src: POD, dst: CLIENT, ifaces: ['eth0'] }] }) });
    expect(judgeCandidate(candidate(), f)).toEqual({ outcome: 'vanished', expectedExit: 'cali1', reverseExits: ['eth0'], forwardExits: [] });
    expect(judgeCandidate(candidate(), facts())).toEqual({ outcome: 'vanished', expectedExit: null, reverseExits: [], forwardExits: [] });
  });

  it('per-interface captures: vanished only when the destination lives behind another captured interface', () => {
    const partial = { coversAllInterfaces: false };
    expect(judgeCandidate(candidate(), facts({ ...partial, knowledge: knowledge({ locations: [{ address: POD, iface: 'cali1' }] }) }))).toMatchObject({ outcome: 'vanished', expectedExit: 'cali1' });
    expect(judgeCandidate(candidate(), facts(partial))).toEqual({ outcome: 'unobserved', reason: 'the interface it should have left by was not captured' });
    // Behind the interface it came in by: a hairpin, not something one capture shows.
    expect(judgeCandidate(candidate(), facts({ ...partial, knowledge: knowledge({ locations: [{ address: POD, iface: 'tunl0' }] }) }))).toMatchObject({ outcome: 'unobserved' });
  });

  it('a candidate of unknown direction arrives or leaves by the learned MAC or where addresses live, else stays unobserved', () => {
    const uncertain = (mac: { src?: string; dst?: string } = {}) => candidate({ directionUncertain: true, arrivalMacSrc: mac.src ?? null, arrivalMacDst: mac.dst ?? null });
    const own = knowledge({ ownMacs: [{ iface: 'tunl0', mac: '02:00:00:00:00:02' }] });
    expect(judgeCandidate(uncertain({ dst: '02:00:00:00:00:02' }), facts({ knowledge: own }))).toMatchObject({ outcome: 'vanished' });
    expect(judgeCandidate(uncertain({ src: '02:00:00:00:00:02' }), facts({ knowledge: own }))).toEqual({ outcome: 'left', reason: 'sent by the interface itself (learned MAC)' });
    expect(judgeCandidate(uncertain(), facts({ knowledge: knowledge({ locations: [{ address: POD, iface: 'cali1' }] }) }))).toMatchObject({ outcome: 'vanished' });
    expect(judgeCandidate(uncertain(), facts({ knowledge: knowledge({ locations: [{ address: CLIENT, iface: 'eth0' }] }) }))).toEqual({ outcome: 'left', reason: 'source lives behind another interface' });
    expect(judgeCandidate(uncertain(), facts())).toEqual({ outcome: 'unobserved', reason: 'direction unknown' });
  });
});

describe('judging a node\'s findings', () => {
  it('returns the vanished with their node, and counts the rest by what they came to', () => {
    const f = findings({
      node: 'n2',
      knowledge: knowledge({ ownAddresses: ['192.168.77.12'] }),
      counters: { ...emptyCounters(), local: 4 },
      candidates: [
        candidate({ packets: 3 }),
        candidate({ packets: 2, identity: identity({ dst: '192.168.77.12' }) }),
        candidate({ packets: 5, directionUncertain: true }),
      ],
    });
    const { vanished, stats } = judgeFindings(f);
    expect(vanished.map((v) => [v.node, v.candidate.packets])).toEqual([['n2', 3]]);
    expect(stats).toEqual({ vanishedPackets: 3, unobservedPackets: 5, unobservedReasons: { 'direction unknown': 5 }, localPackets: 6, leftPackets: 0 });
  });
});
