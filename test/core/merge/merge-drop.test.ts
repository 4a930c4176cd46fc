/**
 * The one merge rule (core/merge/merge-drop.ts), used by replay and by the collector alike: packets
 * add up, times widen, the best-supported explanation wins, equal support keeps the newer.
 */
import { describe, expect, it } from 'vitest';
import type { ExplainedDrop } from '../../../core/explain/explain-drop.js';
import type { Confidence } from '../../../core/explain/drop-event.js';
import { mergeAll, mergeDrops, mergeDropEvents } from '../../../core/merge/merge-drop.js';
import { hop } from '../../support/findings.js';

function drop(o: { id?: string; packets?: number; first?: string; last?: string; confidence?: Confidence; verdict?: string; path?: ExplainedDrop['path'] } = {}): ExplainedDrop {
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
