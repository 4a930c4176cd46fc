/**
 * The kernel's drops per reason and interface (agent/kernel/kernel-drop-tallies.ts), as the node's
 * status and metrics carry them: every drop counts, matched to a vanished group or not; names come
 * at listing time (an interface renamed or gone shows by its index); the pairs kept are bounded.
 */
import { describe, expect, it } from 'vitest';
import { KernelDropTallies } from '../../../agent/kernel/kernel-drop-tallies.js';

const REASONS = new Map([
  [5, 'NO_SOCKET'],
  [16, 'IP_RPFILTER'],
]);
const reasonName = (code: number): string => REASONS.get(code) ?? `REASON_${code}`;
const IFACES = new Map([
  [2, 'eth0'],
  [7, 'tunl0'],
]);

describe('kernel drop tallies', () => {
  it('counts each drop by reason and device, and the matched packets beside them', () => {
    const t = new KernelDropTallies();
    for (let i = 0; i < 5; i++) t.count(16, 7);
    t.count(5, 2);
    t.count(5, 2);
    t.count(99, 0);
    t.matched('IP_RPFILTER', 'tunl0', 4);
    expect(t.total).toBe(8);
    expect(t.list(reasonName, (i) => IFACES.get(i))).toEqual([
      { reason: 'IP_RPFILTER', iface: 'tunl0', drops: 5, matched: 4 },
      { reason: 'NO_SOCKET', iface: 'eth0', drops: 2, matched: 0 },
      { reason: 'REASON_99', iface: '', drops: 1, matched: 0 },
    ]);
  });

  it('names a device it no longer knows by its index', () => {
    const t = new KernelDropTallies();
    t.count(16, 41);
    expect(t.list(reasonName, () => undefined)).toEqual([{ reason: 'IP_RPFILTER', iface: 'if41', drops: 1, matched: 0 }]);
  });

  it('keeps at most 4,096 pairs: drops on further devices count under the reason alone', () => {
    const t = new KernelDropTallies();
    for (let i = 1; i <= 5000; i++) t.count(16, i);
    const list = t.list(reasonName, (i) => `veth${i}`);
    expect(list.length).toBe(4097);
    expect(list.find((x) => x.iface === '')).toEqual({ reason: 'IP_RPFILTER', iface: '', drops: 904, matched: 0 });
    expect(list.reduce((s, x) => s + x.drops, 0)).toBe(5000);
  });
});
