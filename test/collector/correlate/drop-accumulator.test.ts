// The drop accumulator reads a batch's unknown drop events in one go, and otherwise adds up as before:
// packets add, a retried batch whose write was cut after its drop rows counts once, the cache only
// learns a state once it is committed.
import { describe, expect, it } from 'vitest';
import { DropAccumulator } from '../../../collector/correlate/drop-accumulator.js';
import type { DropEvent } from '../../../core/explain/drop-event.js';
import type { ExplainedDrop } from '../../../core/explain/explain-drop.js';
import type { StoredDrop } from '../../../collector/store/storage.js';

function explained(id: string, packets: number, confidence: DropEvent['confidence'] = 'likely', kernel: DropEvent['kernel'] = null): ExplainedDrop {
  return {
    event: {
      id,
      node: 'n1',
      iface: 'tunl0',
      src: '100.64.0.1',
      dst: '10.0.0.1',
      proto: 'icmp',
      sport: null,
      dport: null,
      packets,
      firstSeen: '2026-01-01T00:00:01.000Z',
      lastSeen: '2026-01-01T00:00:02.000Z',
      verdict: 'reverse-path',
      confidence,
      evidence: [],
      remedy: '',
      kernel,
    },
    path: [],
  };
}

function stored(id: string, packets: number, lastBatch = 'a|b|1'): StoredDrop {
  return { event: explained(id, packets).event, path: [], source: 'live', updatedAtMs: 500, lastBatch };
}

/** A store of drop states that records every read. */
function fakeStore(initial: readonly StoredDrop[]) {
  const states = new Map(initial.map((d) => [d.event.id, d]));
  const reads: string[][] = [];
  const loadMany = async (ids: readonly string[]): Promise<Map<string, StoredDrop>> => {
    reads.push([...ids]);
    return new Map(ids.flatMap((id) => (states.has(id) ? [[id, states.get(id)!] as const] : [])));
  };
  return { states, reads, loadMany };
}

describe('drop accumulator', () => {
  it('reads every id of a batch its cache does not hold in one call, once each', async () => {
    const store = fakeStore([stored('old', 10)]);
    const acc = new DropAccumulator(store.loadMany, () => 1000);
    const list = [explained('new-1', 1), explained('old', 2), explained('new-2', 3), explained('new-1', 4)];
    const prepared = await acc.prepareExplained(list, 'live', 'a|b|2');
    expect(store.reads).toEqual([['new-1', 'old', 'new-2']]);
    expect([...prepared.created].sort()).toEqual(['new-1', 'new-2']);
    expect(Object.fromEntries(prepared.added)).toEqual({ 'new-1': 5, old: 2, 'new-2': 3 });
    expect(Object.fromEntries(prepared.drops.map((d) => [d.event.id, d.event.packets]))).toEqual({ 'new-1': 5, old: 12, 'new-2': 3 });
    expect(prepared.drops.find((d) => d.event.id === 'old')).toMatchObject({ updatedAtMs: 1000, lastBatch: 'a|b|2' });

    // Not committed yet: the next batch reads them again.
    await acc.prepareExplained([explained('new-1', 1)], 'live', 'a|b|3');
    expect(store.reads.at(-1)).toEqual(['new-1']);

    // Committed: only ids the cache does not hold are read; none at all when it holds them all.
    prepared.commit();
    await acc.prepareExplained([explained('new-2', 1), explained('other', 1), explained('old', 1)], 'live', 'a|b|4');
    expect(store.reads.at(-1)).toEqual(['other']);
    const readsBefore = store.reads.length;
    const cachedOnly = await acc.prepareExplained([explained('new-1', 1), explained('old', 1)], 'live', 'a|b|5');
    expect(store.reads).toHaveLength(readsBefore);
    expect(Object.fromEntries(cachedOnly.drops.map((d) => [d.event.id, d.event.packets]))).toEqual({ 'new-1': 6, old: 13 });
    expect(cachedOnly.created.size).toBe(0);
  });

  it('a retried batch already in the stored state adds nothing, however often its ids repeat', async () => {
    const store = fakeStore([stored('cut', 7, 'a|b|9'), stored('other', 1, 'a|b|8')]);
    const acc = new DropAccumulator(store.loadMany, () => 1000);
    const prepared = await acc.prepareExplained([explained('cut', 3), explained('other', 2), explained('cut', 3)], 'live', 'a|b|9');
    expect(store.reads).toEqual([['cut', 'other']]);
    expect(Object.fromEntries(prepared.added)).toEqual({ cut: 0, other: 2 });
    expect(prepared.drops.find((d) => d.event.id === 'cut')).toEqual(store.states.get('cut'));
    expect(prepared.drops.find((d) => d.event.id === 'other')?.event.packets).toBe(3);
  });

  it("the kernel's packets add up across batches like the packets, and a retried batch adds none", async () => {
    const rpf = (packets: number) => ({ reason: 'IP_RPFILTER', packets });
    const first = { ...stored('k', 2, 'a|b|1'), event: explained('k', 2, 'confirmed', rpf(2)).event };
    const store = fakeStore([first]);
    const acc = new DropAccumulator(store.loadMany, () => 1000);
    const grown = await acc.prepareExplained([explained('k', 3, 'confirmed', rpf(3)), explained('k', 1, 'likely')], 'live', 'a|b|2');
    expect(grown.drops[0]?.event).toMatchObject({ packets: 6, confidence: 'confirmed', kernel: rpf(5) });
    const retried = await acc.prepareExplained([explained('k', 2, 'confirmed', rpf(2))], 'live', 'a|b|1');
    expect(retried.drops[0]?.event.kernel).toEqual(rpf(2));
  });

  it('an empty batch reads nothing', async () => {
    const store = fakeStore([]);
    const prepared = await new DropAccumulator(store.loadMany).prepareExplained([], 'live', 'a|b|1');
    expect(store.reads).toEqual([]);
    expect(prepared.drops).toEqual([]);
  });
});
