/**
 * One lab run reduced to a row of `pathwatch lab --scenario all`: what pathwatch said about the
 * scenario's drops (where the scenario says its fault drops them: n2 on the tunnel the packets
 * arrive by, or n1 on its uplink), how sure it was, what the kernel said, and whether the
 * scenario's remedy stopped them. Drops anywhere else are counted apart, so a scenario whose fault
 * is not the only cause shows it.
 */
import type { DropEvent } from '../../core/explain/drop-event.js';
import type { DropSite, ScenarioName } from '../../lab/scenarios/index.js';
import type { Overlay } from '../../lab/topology.js';
import type { ProbePair } from '../../lab/traffic.js';
import type { LabResult } from './lab-run.js';

export interface ScenarioOutcome {
  readonly scenario: ScenarioName;
  readonly overlay: Overlay;
  /** The verdict the scenario's fault should get (CONTRACT.md). */
  readonly expected: string;
  /** Where the fault drops (the scenario's dropsAt); absent when the run failed before the lab was built. */
  readonly dropsAt?: DropSite;
  /** The verdict of the drops at dropsAt; several, by packets, joined with ` / ` when they differ; null: none found. */
  readonly verdict: string | null;
  /** Their confidence, in the same way. */
  readonly confidence: string | null;
  /** The kernel's drop reasons matched to them (DropEvent.kernel), by packets; empty when none. */
  readonly kernel: readonly string[];
  /** Drop events and packets at dropsAt, and drop events anywhere else. */
  readonly dropEvents: number;
  readonly packets: number;
  readonly elsewhere: number;
  /** Whether any drop event names the healthy pod (never should). */
  readonly healthyPodReported: boolean;
  /**
   * Without --fix, null. Else true when nothing vanished after the remedy and the asymmetric pod
   * answered the client both ways.
   */
  readonly fixed: boolean | null;
  /** Why not fixed: the drop events after the remedy, or the traffic that still got no answer. */
  readonly notFixedBecause?: string;
  /** The run failed before it could say (not a verdict). */
  readonly error?: string;
  readonly drops: readonly DropEvent[];
  readonly afterFix?: { readonly drops: readonly DropEvent[] };
}

/** Distinct values by total packets, most first (ties: by name, so a row reads the same every run). */
function byPackets(drops: readonly DropEvent[], value: (d: DropEvent) => string | null): string[] {
  const totals = new Map<string, number>();
  for (const d of drops) {
    const v = value(d);
    if (v !== null) totals.set(v, (totals.get(v) ?? 0) + d.packets);
  }
  return [...totals.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([v]) => v);
}

function answered(p: ProbePair): boolean {
  return p.icmp.sent > 0 && p.icmp.answered === p.icmp.sent && p.tcp.outcomes.length > 0 && p.tcp.outcomes.every((o) => o === 'connected');
}

export function scenarioOutcome(result: LabResult, expected: string): ScenarioOutcome {
  const at = result.scenario.dropsAt;
  const events = result.drops.map((d) => d.event);
  const mine = events.filter((e) => e.node === at.node && e.iface === at.iface);
  const verdicts = byPackets(mine, (e) => e.verdict);
  const confidences = byPackets(mine, (e) => e.confidence);
  const healthy = result.topology.healthyPod;
  const after = result.afterFix;
  let fixed: boolean | null = null;
  let notFixedBecause: string | undefined;
  if (after) {
    const stillDropping = after.drops.length;
    const silentPairs = ([['client -> asymmetric pod', after.traffic.clientToAsymmetric], ['asymmetric pod -> client', after.traffic.asymmetricToClient]] as const)
      .filter(([, p]) => !answered(p)).map(([label]) => label);
    fixed = stillDropping === 0 && silentPairs.length === 0;
    if (stillDropping > 0) notFixedBecause = `${stillDropping} drop event(s) after the remedy`;
    else if (silentPairs.length > 0) notFixedBecause = `no answer after the remedy: ${silentPairs.join(', ')}`;
  }
  return {
    scenario: result.scenario.name,
    overlay: result.topology.overlay,
    expected,
    dropsAt: at,
    verdict: verdicts.length === 0 ? null : verdicts.join(' / '),
    confidence: confidences.length === 0 ? null : confidences.join(' / '),
    kernel: byPackets(mine, (e) => e.kernel?.reason ?? null),
    dropEvents: mine.length,
    packets: mine.reduce((n, e) => n + e.packets, 0),
    elsewhere: events.length - mine.length,
    healthyPodReported: [...events, ...(after?.drops.map((d) => d.event) ?? [])].some((e) => e.src === healthy || e.dst === healthy),
    fixed,
    ...(notFixedBecause === undefined ? {} : { notFixedBecause }),
    drops: events,
    ...(after ? { afterFix: { drops: after.drops.map((d) => d.event) } } : {}),
  };
}

/** The row of a run that failed: nothing found, the error said. */
export function failedOutcome(scenario: ScenarioName, overlay: Overlay, expected: string, error: string): ScenarioOutcome {
  return { scenario, overlay, expected, verdict: null, confidence: null, kernel: [], dropEvents: 0, packets: 0, elsewhere: 0, healthyPodReported: false, fixed: null, error, drops: [] };
}
