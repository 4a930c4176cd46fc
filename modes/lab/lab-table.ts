/**
 * What `pathwatch lab --scenario all` prints: one row per scenario and overlay (the verdict found
 * where the scenario's fault drops, n2 on the tunnel or n1 on its uplink, its confidence, the
 * kernel's reason, the drops there, and whether the remedy stopped them), or with --json the same
 * rows as one document.
 */
import type { ScenarioOutcome } from './scenario-outcome.js';

const HEADER = ['scenario', 'overlay', 'verdict', 'confidence', 'kernel reason', 'drops where the fault is', 'fixed'] as const;

function verdictCell(r: ScenarioOutcome): string {
  if (r.error !== undefined) return `error: ${r.error.split('\n')[0] ?? ''}`;
  if (r.verdict === null) return `none found (expected ${r.expected})`;
  return r.verdict === r.expected ? r.verdict : `${r.verdict} (expected ${r.expected})`;
}

function dropsCell(r: ScenarioOutcome): string {
  const where = r.dropsAt === undefined ? '' : `${r.dropsAt.node} ${r.dropsAt.iface}: `;
  const parts = [`${where}${r.dropEvents} event(s), ${r.packets} packet(s)`];
  if (r.elsewhere > 0) parts.push(`+${r.elsewhere} elsewhere`);
  if (r.healthyPodReported) parts.push('healthy pod reported!');
  return parts.join('; ');
}

function fixedCell(r: ScenarioOutcome): string {
  if (r.fixed === null) return r.error === undefined ? '- (no --fix)' : '-';
  return r.fixed ? 'yes' : `no: ${r.notFixedBecause ?? ''}`;
}

export function renderScenarioTable(rows: readonly ScenarioOutcome[]): string {
  const cells = rows.map((r) => [r.scenario, r.overlay, verdictCell(r), r.confidence ?? '-', r.kernel.length === 0 ? '-' : r.kernel.join(' / '), dropsCell(r), fixedCell(r)]);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: readonly string[]): string => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i] ?? 0))).join('  ');
  return `${[line(HEADER), ...cells.map(line)].join('\n')}\n`;
}

/** `{"scenarios": [...]}`: every row with its drop events (and those after the remedy). */
export function scenarioTableJson(rows: readonly ScenarioOutcome[]): string {
  return `${JSON.stringify({ scenarios: rows })}\n`;
}
