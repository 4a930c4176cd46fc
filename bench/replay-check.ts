/**
 * Compare `pathwatch replay --json` output with the generator's truth file.
 *
 * The truth lists one expected drop group per inner 5-tuple (src, dst, proto, sport, dport) whose
 * packets vanished on tunl0. Replay drop events are keyed the same way (CONTRACT.md's DropEvent);
 * events that share a key (for example split by time) are summed before comparing, since how a group is
 * cut is the replay's business but which packets vanished is not.
 *
 * Reported: groups found, missed and unexpected (false positives), vanished packets accounted for,
 * the interface the packets were attributed to, and whether the verdict matches what a file-only
 * analysis can conclude (reverse-path where the asymmetric return path was captured, else vanished).
 */

import type { CaptureTruth, DropGroupTruth } from './capture/generator.js';

export interface ReplayCheck {
  readonly parsed: boolean;
  readonly error: string | null;
  readonly expectedGroups: number;
  readonly foundGroups: number;
  readonly missingGroups: number;
  /** Drop keys the truth does not have: false positives. */
  readonly unexpectedGroups: number;
  readonly expectedPackets: number;
  /** Sum of `packets` over the replay's drops that match an expected group. */
  readonly foundPackets: number;
  readonly unexpectedPackets: number;
  /** Matched groups attributed to tunl0. */
  readonly ifaceCorrect: number;
  /** Matched groups whose verdict equals the truth's expectedVerdict. */
  readonly verdictCorrect: number;
  readonly examples: {
    readonly missing: readonly string[];
    readonly unexpected: readonly string[];
    readonly wrongVerdict: readonly string[];
  };
  /** The replay's own stats object, as printed. */
  readonly stats: unknown;
}

interface DropLike {
  readonly key: string;
  readonly packets: number;
  readonly iface: string;
  readonly verdict: string;
}

export function groupKey(proto: string, src: string, sport: number | null, dst: string, dport: number | null): string {
  return `${proto} ${src}:${sport ?? '-'} > ${dst}:${dport ?? '-'}`;
}

function truthKey(g: DropGroupTruth): string {
  return groupKey(g.proto, g.src, g.sport, g.dst, g.dport);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function portOf(v: unknown): number | null {
  return typeof v === 'number' ? v : null;
}

/** Parse the replay's stdout into keyed drops; throws with a one-line reason when it is not the contract's shape. */
function parseReplay(stdout: string): { drops: DropLike[]; stats: unknown } {
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch (e) {
    throw new Error(`stdout is not one JSON document (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isRecord(doc) || !Array.isArray(doc['drops'])) throw new Error('JSON has no "drops" array');
  const drops: DropLike[] = [];
  for (const d of doc['drops']) {
    if (!isRecord(d)) throw new Error('a drop is not an object');
    const proto = String(d['proto']);
    drops.push({
      key: groupKey(proto, String(d['src']), portOf(d['sport']), String(d['dst']), portOf(d['dport'])),
      packets: typeof d['packets'] === 'number' ? d['packets'] : 0,
      iface: String(d['iface']),
      verdict: String(d['verdict']),
    });
  }
  return { drops, stats: doc['stats'] ?? null };
}

export function checkReplay(stdout: string, truth: CaptureTruth): ReplayCheck {
  const expected = new Map<string, DropGroupTruth>();
  for (const g of truth.vanished.groups) expected.set(truthKey(g), g);
  const expectedPackets = truth.vanished.innerPackets;

  let parsed: { drops: DropLike[]; stats: unknown };
  try {
    parsed = parseReplay(stdout);
  } catch (e) {
    return {
      parsed: false,
      error: e instanceof Error ? e.message : String(e),
      expectedGroups: expected.size,
      foundGroups: 0,
      missingGroups: expected.size,
      unexpectedGroups: 0,
      expectedPackets,
      foundPackets: 0,
      unexpectedPackets: 0,
      ifaceCorrect: 0,
      verdictCorrect: 0,
      examples: { missing: [], unexpected: [], wrongVerdict: [] },
      stats: null,
    };
  }

  // Merge drops that share a key: packets add up; iface and verdict must agree on every part to count.
  const merged = new Map<string, { packets: number; ifaces: Set<string>; verdicts: Set<string> }>();
  for (const d of parsed.drops) {
    let m = merged.get(d.key);
    if (!m) {
      m = { packets: 0, ifaces: new Set(), verdicts: new Set() };
      merged.set(d.key, m);
    }
    m.packets += d.packets;
    m.ifaces.add(d.iface);
    m.verdicts.add(d.verdict);
  }

  let found = 0;
  let foundPackets = 0;
  let unexpected = 0;
  let unexpectedPackets = 0;
  let ifaceCorrect = 0;
  let verdictCorrect = 0;
  const unexpectedKeys: string[] = [];
  const wrongVerdict: string[] = [];
  for (const [key, m] of merged) {
    const g = expected.get(key);
    if (!g) {
      unexpected++;
      unexpectedPackets += m.packets;
      if (unexpectedKeys.length < 5) unexpectedKeys.push(`${key} (${m.packets} packets, ${[...m.verdicts].join('/')} on ${[...m.ifaces].join('/')})`);
      continue;
    }
    found++;
    foundPackets += m.packets;
    if (m.ifaces.size === 1 && m.ifaces.has(g.iface)) ifaceCorrect++;
    if (m.verdicts.size === 1 && m.verdicts.has(g.expectedVerdict)) verdictCorrect++;
    else if (wrongVerdict.length < 5) wrongVerdict.push(`${key}: expected ${g.expectedVerdict}, got ${[...m.verdicts].join('/')}`);
  }
  const missing = [...expected.keys()].filter((k) => !merged.has(k));
  return {
    parsed: true,
    error: null,
    expectedGroups: expected.size,
    foundGroups: found,
    missingGroups: missing.length,
    unexpectedGroups: unexpected,
    expectedPackets,
    foundPackets,
    unexpectedPackets,
    ifaceCorrect,
    verdictCorrect,
    examples: { missing: missing.slice(0, 5), unexpected: unexpectedKeys, wrongVerdict },
    stats: parsed.stats,
  };
}
