/**
 * The one merge rule (core/merge/merge-drop.ts), used by replay and by the collector alike: packets
 * add up, times widen, the best-supported explanation wins, equal support keeps the newer; the
 * kernel's word adds up for one reason, the reason more packets had wins between two.
 */
import { describe, expect, it } from 'vitest';
import type { ExplainedDrop } from '../../../core/explain/explain-drop.js';
import type { Confidence, KernelDropSummary } from '../../../core/explain/drop-event.js';
import { mergeAll, mergeDrops, mergeDropEvents } from '../../../core/merge/merge-drop.js';
import { hop } from '../../support/findings.js';

function drop(o: { id?: string; packets?: number; first?: string; last?: string; confidence?: Confidence; verdict?: string; path?: ExplainedDrop['path']; kernel?: KernelDropSummary | null } = {}): ExplainedDrop {
  return {
    event: {
      id: o.id ?? 'g1',
      node: 'n2',
      iface: 'tunl0',
      src: '100.64.0.1',
      dst: '10.91.1.130',
      proto: 'icmp',
      sport: null,
      dport: null,
      packets: o.packets ?? 1,
      firstSeen: o.first ?? '2026-01-01T00:00:01.000Z',
      lastSeen: o.last ?? '2026-01-01T00:00:02.000Z',
      verdict: o.verdict ?? 'reverse-path',
      confidence: o.confidence ?? 'possible',
      evidence: [{ kind: 'k', detail: o.verdict ?? 'reverse-path' }],
      remedy: o.verdict ?? 'reverse-path',
      kernel: o.kernel ?? null,
    },
    path: o.path ?? [],
  };
}

describe('merging drop events of one group', () => {
  it('adds packets and widens first and last seen', () => {
    const m = mergeDropEvents(drop({ packets: 2, first: '2026-01-01T00:00:05.000Z', last: '2026-01-01T00:00:06.000Z' }).event, drop({ packets: 3 }).event);
    expect([m.packets, m.firstSeen, m.lastSeen]).toEqual([5, '2026-01-01T00:00:01.000Z', '2026-01-01T00:00:06.000Z']);
  });

  it('keeps the best-supported verdict in either order: confirmed over likely over possible', () => {
    const confirmed = drop({ confidence: 'confirmed', verdict: 'netfilter' }).event;
    const possible = drop({ confidence: 'possible', verdict: 'reverse-path' }).event;
    for (const [a, b] of [[confirmed, possible], [possible, confirmed]] as const) {
      const m = mergeDropEvents(a, b);
      expect([m.verdict, m.confidence, m.remedy, m.evidence[0]?.detail]).toEqual(['netfilter', 'confirmed', 'netfilter', 'netfilter']);
    }
  });

  it('on equal support takes the newer part\'s explanation (its evidence is the more recent)', () => {
    expect(mergeDropEvents(drop({ verdict: 'a' }).event, drop({ verdict: 'b' }).event).verdict).toBe('b');
  });

  it('adds up the kernel\'s packets for the same reason (each part counted its own packets)', () => {
    const m = mergeDropEvents(drop({ kernel: { reason: 'IP_RPFILTER', packets: 2 } }).event, drop({ kernel: { reason: 'IP_RPFILTER', packets: 3 } }).event);
    expect(m.kernel).toEqual({ reason: 'IP_RPFILTER', packets: 5 });
  });

  it('between two kernel reasons keeps the one more packets had, in either order; on a tie the newer part\'s', () => {
    const rpf = drop({ kernel: { reason: 'IP_RPFILTER', packets: 4 } }).event;
    const nf = drop({ kernel: { reason: 'NETFILTER_DROP', packets: 1 } }).event;
    expect(mergeDropEvents(rpf, nf).kernel).toEqual({ reason: 'IP_RPFILTER', packets: 4 });
    expect(mergeDropEvents(nf, rpf).kernel).toEqual({ reason: 'IP_RPFILTER', packets: 4 });
    const tie = drop({ kernel: { reason: 'NETFILTER_DROP', packets: 4 } }).event;
    expect(mergeDropEvents(rpf, tie).kernel).toEqual({ reason: 'NETFILTER_DROP', packets: 4 });
    expect(mergeDropEvents(tie, rpf).kernel).toEqual({ reason: 'IP_RPFILTER', packets: 4 });
  });

  it('keeps the kernel\'s word when the other part has none, whichever part is better supported', () => {
    const kernel = { reason: 'IP_RPFILTER', packets: 2 };
    const confirmed = drop({ confidence: 'confirmed', kernel }).event;
    const likely = drop({ confidence: 'likely' }).event;
    expect(mergeDropEvents(confirmed, likely).kernel).toEqual(kernel);
    expect(mergeDropEvents(likely, confirmed).kernel).toEqual(kernel);
    // A newer part without a kernel drop event does not take it away, though its explanation wins on equal support.
    const possibleWithKernel = drop({ kernel, verdict: 'a' }).event;
    const possible = drop({ verdict: 'b' }).event;
    expect([mergeDropEvents(possibleWithKernel, possible).verdict, mergeDropEvents(possibleWithKernel, possible).kernel]).toEqual(['b', kernel]);
    expect(mergeDropEvents(drop().event, drop().event).kernel).toBeNull();
  });

  it('merges a list\'s kernel summaries in list order, whatever the number of parts', () => {
    const parts = [
      drop({ packets: 1, kernel: { reason: 'NOT_SPECIFIED', packets: 1 } }),
      drop({ packets: 2 }),
      drop({ packets: 2, kernel: { reason: 'IP_RPFILTER', packets: 2 } }),
      drop({ packets: 1, kernel: { reason: 'IP_RPFILTER', packets: 1 } }),
    ];
    const [merged] = mergeAll(parts);
    expect([merged?.event.packets, merged?.event.kernel]).toEqual([6, { reason: 'IP_RPFILTER', packets: 3 }]);
  });

  it('gives the verdict of the kernel reason that won, so the two never disagree', () => {
    const netfilter = drop({ packets: 5, confidence: 'confirmed', verdict: 'netfilter', kernel: { reason: 'NETFILTER_DROP', packets: 5 } }).event;
    const rpf = drop({ packets: 1, confidence: 'confirmed', verdict: 'reverse-path', kernel: { reason: 'IP_RPFILTER', packets: 1 } }).event;
    for (const m of [mergeDropEvents(netfilter, rpf), mergeDropEvents(rpf, netfilter)]) {
      expect([m.verdict, m.kernel]).toEqual(['netfilter', { reason: 'NETFILTER_DROP', packets: 5 }]);
    }
  });

  it('prefers a reason that says why over NOT_SPECIFIED, whatever their packets', () => {
    const generic = drop({ packets: 9, confidence: 'confirmed', verdict: 'vanished', kernel: { reason: 'NOT_SPECIFIED', packets: 9 } }).event;
    const rpf = drop({ packets: 1, confidence: 'confirmed', verdict: 'reverse-path', kernel: { reason: 'IP_RPFILTER', packets: 1 } }).event;
    for (const m of [mergeDropEvents(generic, rpf), mergeDropEvents(rpf, generic)]) expect([m.verdict, m.kernel?.reason]).toEqual(['reverse-path', 'IP_RPFILTER']);
  });

  it('counts the kernel reason\'s evidence line again for the merged group', () => {
    const part = (n: number) => ({
      ...drop({ packets: n, confidence: 'confirmed', kernel: { reason: 'IP_RPFILTER', packets: n } }).event,
      evidence: [
        { kind: 'ebpf-drop-reason', detail: `IP_RPFILTER x${n} on tunl0 (${n} of ${n} packet(s) matched by fingerprint)` },
        { kind: 'ebpf-drop-reason', detail: 'NOT_SPECIFIED x1 on tunl0 (1 of 1 packet(s) matched by fingerprint), freed in ip_rcv+0x1' },
      ],
    });
    const m = mergeDropEvents(part(1), part(3));
    expect(m.evidence.map((e) => e.detail)).toEqual(['IP_RPFILTER x4 on tunl0 (4 of 4 packet(s) matched by fingerprint)', 'NOT_SPECIFIED x1 on tunl0 (1 of 1 packet(s) matched by fingerprint), freed in ip_rcv+0x1']);
  });

  it('draws the first part\'s path, unless it had none', () => {
    const p1 = [hop({ iface: 'eth0' })];
    const p2 = [hop({ iface: 'tunl0' })];
    expect(mergeDrops(drop({ path: p1 }), drop({ path: p2 })).path).toBe(p1);
    expect(mergeDrops(drop(), drop({ path: p2 })).path).toBe(p2);
  });

  it('merges a list by id, newest first', () => {
    const list = [drop({ id: 'a', packets: 1, last: '2026-01-01T00:00:02.000Z' }), drop({ id: 'b', last: '2026-01-01T00:00:09.000Z' }), drop({ id: 'a', packets: 2, last: '2026-01-01T00:00:03.000Z' })];
    expect(mergeAll(list).map((d) => [d.event.id, d.event.packets])).toEqual([['b', 1], ['a', 3]]);
  });
});
