/**
 * `pathwatch lab --scenario all`: every scenario, one after another, per overlay, each in a lab of
 * its own (built, run and removed before the next starts, so no fault or drop event carries over),
 * each reduced to a row. A run that fails is a row with its error and the next one still runs; an
 * interruption stops them all.
 */
import type { LabScenario } from '../../lab/scenarios/index.js';
import type { Overlay } from '../../lab/topology.js';
import { LabAbortedError, runLab } from './lab-run.js';
import { failedOutcome, scenarioOutcome, type ScenarioOutcome } from './scenario-outcome.js';

export interface MatrixOptions {
  readonly scenarios: readonly LabScenario[];
  readonly overlays: readonly Overlay[];
  readonly fix: boolean;
  readonly log: (line: string) => void;
  readonly signal: AbortSignal;
}

export async function runScenarioMatrix(o: MatrixOptions): Promise<ScenarioOutcome[]> {
  const rows: ScenarioOutcome[] = [];
  const total = o.overlays.length * o.scenarios.length;
  for (const overlay of o.overlays) {
    for (const scenario of o.scenarios) {
      o.log(`[${rows.length + 1}/${total}] scenario ${scenario.name} over ${overlay}`);
      try {
        const result = await runLab({ overlay, scenario, fix: o.fix, log: o.log, signal: o.signal });
        rows.push(scenarioOutcome(result, scenario.expectedVerdict));
      } catch (e) {
        if (e instanceof LabAbortedError) throw e;
        const message = e instanceof Error ? e.message : String(e);
        o.log(`scenario ${scenario.name} over ${overlay} failed: ${message.split('\n')[0] ?? ''}`);
        rows.push(failedOutcome(scenario.name, overlay, scenario.expectedVerdict, message));
      }
    }
  }
  return rows;
}
