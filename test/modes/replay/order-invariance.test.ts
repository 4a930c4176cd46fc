/**
 * One answer for one set of packets (CONTRACT.md, issue 12): the JSON of `pathwatch replay` (drops
 * and stats, apart from the list of inputs) is the same for every permutation of its INPUT
 * arguments, for a node given as per-interface pcaps or as one multi-interface pcapng written out of
 * order across interfaces, and for gzip-compressed inputs. Synthetic three-node captures (test/
 * support/three-node-story.ts); the real-kernel version is in test/story/replay-story.test.ts.
 *
 * Before the fix, inputs were interleaved a read chunk (1 MiB) at a time and knowledge was learned
 * at flow flushes, so the order of the arguments decided which drops were found at all.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parseReplayInputSpec } from '../../../modes/replay/replay-input.js';
import { runReplay } from '../../../modes/replay/replay-runner.js';
import { writeThreeNodeCaptures } from '../../support/three-node-story.js';

const root = mkdtempSync(join(tmpdir(), 'pw-order-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const big = writeThreeNodeCaptures(join(root, 'big'));
const small = writeThreeNodeCaptures(join(root, 'small'), 0);

/** The replay's JSON document without the count of inputs, as text. */
async function answer(inputs: readonly string[]): Promise<string> {
  const r = await runReplay({ inputs: inputs.map(parseReplayInputSpec) });
  const { inputs: _count, ...stats } = r.stats;
  return JSON.stringify({ drops: r.drops.map((d) => d.event), flows: r.flows, stats });
}

function permutations<T>(list: readonly T[]): T[][] {
  if (list.length <= 1) return [[...list]];
  return list.flatMap((x, i) => permutations([...list.slice(0, i), ...list.slice(i + 1)]).map((rest) => [x, ...rest]));
}

describe('replay gives one answer for one set of packets', () => {
  it('finds both tunnels\' drops, the retransmitted SYN as two packets, and nothing on the healthy pod', async () => {
    const doc = JSON.parse(await answer(big.pcaps)) as { drops: { node: string; iface: string; dst: string; proto: string; packets: number; verdict: string }[] };
    const summary = doc.drops.map((d) => `${d.node} ${d.iface} ${d.dst} ${d.proto} x${d.packets} ${d.verdict}`).sort();
    expect(summary).toEqual([
      'n2 vxlan.calico 10.91.1.130 icmp x8 reverse-path',
      'n2 vxlan.calico 10.91.1.130 tcp x2 reverse-path',
      'n3 tunl0 10.91.2.130 icmp x8 reverse-path',
      'n3 tunl0 10.91.2.130 tcp x2 reverse-path',
    ]);
  });

  it('every permutation of small sets: a node behind the tunnel, the upstream node, two nodes mixed', async () => {
    const sets = [small.pcapsOf('n3'), small.pcapsOf('n1'), [...small.pcapsOf('n2'), ...small.pcapsOf('n3')].slice(0, 4)];
    for (const set of sets) {
      const expected = await answer(set);
      for (const order of permutations(set)) expect(await answer(order), order.join(' ')).toBe(expected);
    }
  });

  it('random permutations of every input, with files read in many chunks', async () => {
    const expected = await answer(big.pcaps);
    await fc.assert(
      fc.asyncProperty(fc.shuffledSubarray([...big.pcaps], { minLength: big.pcaps.length }), async (order) => {
        expect(await answer(order)).toBe(expected);
      }),
      { numRuns: 6, seed: 12 },
    );
  });

  it('a node as one pcapng out of order across interfaces, or as a pcap per interface: the same', async () => {
    const expected = await answer(big.pcaps);
    for (const node of ['n1', 'n2', 'n3'] as const) {
      const mixed = [...big.pcaps.filter((p) => !p.startsWith(`${node}:`)), big.pcapngs[node]];
      expect(await answer(mixed), `${node} as pcapng`).toBe(expected);
    }
    expect(await answer([big.pcapngs.n3, big.pcapngs.n1, big.pcapngs.n2])).toBe(expected);
  });

  it('gzip-compressed inputs read the same', async () => {
    const expected = await answer(big.pcaps);
    expect(await answer(big.pcaps.map((p) => big.gzipped(p)))).toBe(expected);
  });
});
