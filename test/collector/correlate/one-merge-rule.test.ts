/**
 * Replay and the collector merge the parts of a drop group with the same rule (issue 12: replay
 * used to keep the first verdict and the collector the highest confidence, so the same packets
 * could get different verdicts). The collector's accumulator, fed the parts as agents' batches, ends
 * where replay's merge of the same parts ends.
 */
import { describe, expect, it } from 'vitest';
import { DropAccumulator } from '../../../collector/correlate/drop-accumulator.js';
import { explainVanished, type ExplainedDrop } from '../../../core/explain/explain-drop.js';
import type { KernelEvidence } from '../../../core/findings/kernel-evidence.js';
import { mergeAll } from '../../../core/merge/merge-drop.js';
import { candidate, T0 } from '../../support/findings.js';

/** Parts of one group as three ticks of an agent ship them: traffic only, then the kernel's word. */
function parts(): ExplainedDrop[] {
  const tick = (i: number, kernel?: KernelEvidence) =>
    explainVanished({ node: 'n2', candidate: candidate({ packets: i + 1, firstSeen: T0 + i * 1000, lastSeen: T0 + i * 1000 + 500, ...(kernel ? { kernel } : {}) }), expectedExit: 'cali1', reverseExits: ['eth0'], forwardExits: [] });
  return [tick(0), tick(1, { dropReasons: { IP_RPFILTER: 2 } }), tick(2, { rpFilter: { all: 1, iface: 1, effective: 1 }, routeBackIface: 'eth0', rpFilterCounterDelta: 3 })];
}

async function accumulated(list: readonly ExplainedDrop[]): Promise<ExplainedDrop['event']> {
  const acc = new DropAccumulator(async () => new Map(), () => 1);
  let last: ExplainedDrop['event'] | undefined;
  for (const [i, d] of list.entries()) {
    const prepared = await acc.prepareExplained([d], 'live', `agent|boot|${i + 1}`);
    prepared.commit();
    last = prepared.drops[0]?.event;
  }
  return last as ExplainedDrop['event'];
}

describe('one merge rule for replay and the collector', () => {
  it('the collector\'s accumulated event equals replay\'s merge of the same parts, in every order', async () => {
    const list = parts();
    for (const order of [[0, 1, 2], [2, 1, 0], [1, 0, 2], [2, 0, 1]]) {
      const ordered = order.map((i) => list[i] as ExplainedDrop);
      const replay = mergeAll(ordered)[0]?.event;
      const live = await accumulated(ordered);
      expect(live, order.join()).toEqual(replay);
      // The kernel's drop event (confirmed) wins whatever came before or after it.
      expect([live.verdict, live.confidence, live.packets]).toEqual(['reverse-path', 'confirmed', 6]);
    }
  });
});
