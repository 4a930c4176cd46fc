import { describe, expect, it } from 'vitest';
import { COVERAGE_MARGIN_MS, LiveStitcher, type StitchedDeparture } from '../../../core/correlate/live-stitcher.js';

const HOLD = 60_000;
const T = 1_795_000_000_000;
const departure = (fingerprint: string, ts = T): StitchedDeparture => ({
  fingerprint,
  node: 'n1',
  outerDst: '192.168.77.12',
  ts,
  path: [
    { node: 'n1', iface: 'eth0', role: 'uplink', direction: 'in', directionSource: 'linux-packet-type', ts, encap: 'none', outerSrc: null, outerDst: null, vni: null, ttl: 64, length: 84 },
    { node: 'n1', iface: 'eth0', role: 'uplink', direction: 'out', directionSource: 'linux-packet-type', ts: ts + 0.02, encap: 'ipip', outerSrc: '192.168.77.11', outerDst: '192.168.77.12', vni: null, ttl: 63, length: 104 },
  ],
  identity: { ipVersion: 4, src: '100.64.0.1', dst: '10.91.1.130', proto: 1, sport: null, dport: null },
});

function stitcher(): LiveStitcher {
  const s = new LiveStitcher({ holdMs: HOLD, maxPending: 100 });
  s.nodeReport('n1', 0, ['192.168.77.11'], 0);
  s.nodeReport('n2', 0, ['192.168.77.12'], 0);
  return s;
}

/** n2's agent sends a flow batch at agent time `sentAt` (its cross-node hops up to then). */
const n2Batch = (s: LiveStitcher, now: number, sentAt: number, loss = 0) => s.nodeReport('n2', now, undefined, loss, sentAt);

describe('live cross-node stitching', () => {
  it('matches a departure with its arrival in either order', () => {
    const s = stitcher();
    s.departure(departure('a1'), 10);
    s.arrival({ fingerprint: 'a1', node: 'n2' }, 20);
    s.arrival({ fingerprint: 'b2', node: 'n2' }, 30);
    s.departure(departure('b2'), 40);
    n2Batch(s, 50, T + 60_000);
    expect(s.expire(5000)).toEqual([]);
    expect(s.stats).toMatchObject({ matched: 2, lost: 0 });
  });

  it('waits until the destination has reported past the departure, then calls a missing arrival a transit loss', () => {
    const s = stitcher();
    s.departure(departure('c3'), 100);
    // n2's batch sent just after the departure may not hold the arrival yet (window, tick, clocks).
    n2Batch(s, 200, T + COVERAGE_MARGIN_MS - 1);
    expect(s.expire(300)).toEqual([]);
    n2Batch(s, 10_000, T + COVERAGE_MARGIN_MS + 10_000);
    const lost = s.expire(10_100);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.event).toMatchObject({ node: 'n1', iface: 'eth0', src: '100.64.0.1', dst: '10.91.1.130', proto: 'icmp', verdict: 'vanished', confidence: 'possible' });
    expect(lost[0]!.event.evidence[0]!.detail).toMatch(/toward n2 \(192\.168\.77\.12\), never seen arriving there/);
  });

  it('judges nothing toward an unwatched or silent node, or while the destination captured with loss', () => {
    const s = stitcher();
    s.departure({ ...departure('d4'), outerDst: '192.168.77.99' }, 100);
    s.departure(departure('e5'), 100); // n2 reports nothing after this: silent
    expect(s.expire(1000)).toEqual([]);
    expect(s.expire(100 + HOLD)).toEqual([]);
    s.departure(departure('f6', T + 100_000), 100_000);
    n2Batch(s, 110_000, T + 120_000, 7); // its capture lost packets meanwhile
    expect(s.expire(110_000)).toEqual([]);
    expect(s.stats).toMatchObject({ unwatched: 2, unobserved: 1, lost: 0 });
  });
});

describe('live cross-node stitching of repeated packets', () => {
  it('matches each retransmission (same fingerprint) once, whichever node reports first', () => {
    for (const arrivalsFirst of [true, false]) {
      const s = stitcher();
      if (arrivalsFirst) {
        s.arrival({ fingerprint: 'aa', node: 'n2' }, 10);
        s.arrival({ fingerprint: 'aa', node: 'n2' }, 10);
      }
      s.departure(departure('aa'), 20);
      s.departure(departure('aa', T + 1000), 20);
      if (!arrivalsFirst) {
        s.arrival({ fingerprint: 'aa', node: 'n2' }, 30);
        s.arrival({ fingerprint: 'aa', node: 'n2' }, 30);
      }
      n2Batch(s, 40, T + 60_000);
      expect(s.expire(50), `arrivals first: ${arrivalsFirst}`).toEqual([]);
      expect(s.stats.matched).toBe(2);
    }
  });
});
