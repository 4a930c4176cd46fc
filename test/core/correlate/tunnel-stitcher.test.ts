/**
 * The one cross-node stitcher, as the collector drives it (batches arriving, wall-clock holds) and
 * as replay does (findings by capture time, then a final expire). The rules are the same: match by
 * fingerprint and count, judge a departure only once its target has covered its time, never judge
 * across the target's own capture loss, and lend the upstream hops of the right departure.
 */
import { describe, expect, it } from 'vitest';
import { TunnelStitcher } from '../../../core/correlate/tunnel-stitcher.js';
import { departure, findings, hop, knowledge } from '../../support/findings.js';

const HOLD = 60_000;
const SLACK = 1000;
const T = 1_795_000_000_000;

function stitcher(): TunnelStitcher {
  const s = new TunnelStitcher({ holdMs: HOLD, clockSlackMs: SLACK, maxPending: 100, maxLendable: 100 });
  s.setAddresses('n1', ['192.168.77.11']);
  s.setAddresses('n2', ['192.168.77.12']);
  return s;
}

const d = (fingerprint: string, ts = T) => departure({ fingerprint, ts, outerDst: '192.168.77.12' });

describe('matching', () => {
  it('matches a departure with its arrival in either order', () => {
    const s = stitcher();
    s.departure('n1', d('a1'), 10);
    s.arrival('n2', { fingerprint: 'a1', outerSrc: '192.168.77.11', ts: T }, 20);
    s.arrival('n2', { fingerprint: 'b2', outerSrc: '192.168.77.11', ts: T }, 30);
    s.departure('n1', d('b2'), 40);
    s.cover('n2', T + 60_000);
    expect(s.expire(5000)).toEqual([]);
    expect(s.stats).toMatchObject({ matched: 2, lost: 0 });
  });

  it('matches each retransmission (same fingerprint) once, whichever node reports first', () => {
    for (const arrivalsFirst of [true, false]) {
      const s = stitcher();
      const arrive = () => s.arrival('n2', { fingerprint: 'aa', outerSrc: '192.168.77.11', ts: T }, 10);
      if (arrivalsFirst) (arrive(), arrive());
      s.departure('n1', d('aa'), 20);
      s.departure('n1', d('aa', T + 1000), 20);
      if (!arrivalsFirst) (arrive(), arrive());
      s.cover('n2', T + 60_000);
      expect(s.expire(50), `arrivals first: ${arrivalsFirst}`).toEqual([]);
      expect(s.stats.matched).toBe(2);
    }
  });

  it('never matches a departure with an arrival on the node it left', () => {
    const s = stitcher();
    s.departure('n1', d('c1'), 10);
    s.arrival('n1', { fingerprint: 'c1', outerSrc: '192.168.77.12', ts: T }, 10);
    s.cover('n2', T + 10_000);
    expect(s.expire(20)).toHaveLength(1);
  });
});

describe('coverage: a departure is judged once its target has accounted for its time', () => {
  it('waits while the target has not covered the departure plus the clocks slack, then calls it lost', () => {
    const s = stitcher();
    s.departure('n1', d('c3'), 100);
    s.cover('n2', T + SLACK - 1);
    expect(s.expire(300)).toEqual([]);
    s.cover('n2', T + SLACK + 10_000);
    const lost = s.expire(10_100);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ fromNode: 'n1', targetNode: 'n2' });
    expect(lost[0]!.departure.fingerprint).toBe('c3');
  });

  it('judges nothing toward an unwatched or silent node, or across the target\'s own capture loss', () => {
    const s = stitcher();
    s.departure('n1', { ...d('d4'), outerDst: '192.168.77.99' }, 100);
    s.departure('n1', d('e5'), 100); // n2 never covers it: silent
    expect(s.expire(1000)).toEqual([]);
    expect(s.expire(100 + HOLD)).toEqual([]);
    s.departure('n1', d('f6', T + 100_000), 100_000);
    s.cover('n2', T + 120_000, [{ from: T + 99_500, until: T + 100_200, packets: 7 }]);
    expect(s.expire(110_000)).toEqual([]);
    expect(s.stats).toMatchObject({ unwatched: 2, unobserved: 1, lost: 0 });
  });

  it('final (the end of a replay): what the target never covered is not judged; the rest is', () => {
    const s = stitcher();
    s.add(findings({ node: 'n1', knowledge: knowledge({ ownAddresses: ['192.168.77.11'] }), departures: [d('g1', T), d('g2', T + 9_500)] }), T);
    s.add(findings({ node: 'n2', knowledge: knowledge({ ownAddresses: ['192.168.77.12'] }), coveredUntil: T + 10_000 }), T);
    const lost = s.expire(T, true);
    expect(lost.map((l) => l.departure.fingerprint)).toEqual(['g1']);
    expect(s.stats).toMatchObject({ lost: 1, uncovered: 1 });
  });

  it('gives the same losses whichever order the findings come in', () => {
    const parts = [
      findings({ node: 'n1', knowledge: knowledge({ ownAddresses: ['192.168.77.11'] }), departures: [d('h1', T), d('h2', T + 1), d('h3', T + 2)] }),
      findings({ node: 'n2', knowledge: knowledge({ ownAddresses: ['192.168.77.12'] }), coveredUntil: T + 10_000, arrivals: [{ fingerprint: 'h2', outerSrc: '192.168.77.11', ts: T + 1 }] }),
    ];
    const run = (list: typeof parts) => {
      const s = new TunnelStitcher({ holdMs: HOLD, clockSlackMs: SLACK, maxPending: 100, maxLendable: 100 });
      for (const f of list) s.add(f, T);
      return s.expire(T, true).map((l) => l.departure.fingerprint);
    };
    expect(run(parts)).toEqual(['h1', 'h3']);
    expect(run([...parts].reverse())).toEqual(['h1', 'h3']);
  });
});

describe('lending the hops a packet took on earlier nodes', () => {
  it('lends the departure closest in time to the arrival, never one from the same node', () => {
    const s = stitcher();
    const early = [hop({ node: 'n1', ts: T, iface: 'eth0' })];
    const late = [hop({ node: 'n1', ts: T + 1000, iface: 'eth0' })];
    s.departure('n1', { ...d('r1', T), path: early }, 0);
    s.departure('n1', { ...d('r1', T + 1000), path: late }, 0);
    expect(s.upstreamPath('r1', 'n2', T + 5)).toEqual(early);
    expect(s.upstreamPath('r1', 'n2', T + 1005)).toEqual(late);
    expect(s.upstreamPath('r1', 'n1', T + 1005)).toEqual([]);
    expect(s.upstreamPath('zz', 'n2', T)).toEqual([]);
  });

  it('forgets the oldest departures beyond its bound', () => {
    const s = new TunnelStitcher({ holdMs: HOLD, clockSlackMs: SLACK, maxPending: 100, maxLendable: 2 });
    for (const fp of ['x1', 'x2', 'x3']) s.departure('n1', d(fp), 0);
    expect(s.upstreamPath('x1', 'n2', T)).toEqual([]);
    expect(s.upstreamPath('x3', 'n2', T)).not.toEqual([]);
  });
});
