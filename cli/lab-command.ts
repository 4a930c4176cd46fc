/**
 * `pathwatch lab [--scenario NAME|all] [--fix] [--json] [--overlay ipip|vxlan]... [--ui [--port N]]`:
 * the story on this machine, end to end, with one of the ways a packet vanishes on a Calico node;
 * with --ui, its collector and web UI stay up afterwards until Ctrl-C; with `--scenario all`, every
 * scenario in turn and a table of what pathwatch found.
 */
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import { CollectorConfigError } from '../collector/collector-runner.js';
import { LabAbortedError, runLab, type LabResult, type LabUi } from '../modes/lab/lab-run.js';
import { renderLabReport } from '../modes/lab/lab-report.js';
import { runScenarioMatrix } from '../modes/lab/lab-matrix.js';
import { renderScenarioTable, scenarioTableJson } from '../modes/lab/lab-table.js';
import { allLabScenarios, DEFAULT_SCENARIO, isScenarioName, labScenario, SCENARIO_NAMES, type LabScenario } from '../lab/scenarios/index.js';
import { iptablesUnavailableReason } from '../lab/scenarios/iptables.js';
import type { Overlay } from '../lab/topology.js';
import { UsageError } from './cli-error.js';

export const LAB_USAGE = `Usage: pathwatch lab [--scenario NAME|all] [--fix] [--json] [--overlay ipip|vxlan]... [--ui [--port N]]

Builds the story's cluster in network namespaces on this machine (a gateway that routes a pod block
via the wrong node, two nodes with an overlay tunnel, a healthy and an asymmetric pod), puts the
scenario's fault in it, runs a collector and an agent per node, sends ICMP and TCP both ways, and
shows what pathwatch found: the path hop by hop, the verdict, the evidence and the remedy.

  --scenario NAME    the fault, on the pod's node n2 or on the wrong node n1 (all but rp-filter take
                     n2's rp_filter out of its way):
                       rp-filter          strict rp_filter drops the asymmetric traffic (the default: the story)
                       calico-rpf         Calico's reverse-path check in the raw table (-m rpfilter --invert -j DROP)
                       policy             a network policy's DROP rule in the filter table's FORWARD
                       conntrack-invalid  n1 sees one direction of the flows and drops conntrack INVALID
                       forwarding-off     net.ipv4.conf.<tunnel>.forwarding=0
                       mtu                the pod at MTU 1500 behind n1's smaller tunnel, ICMP frag-needed filtered
                       blackhole          no route to the pod, only the block's blackhole route
                       neighbour          the pod's interface down: n2's ARP for it goes unanswered
                     all: each in turn, in a lab of its own, and a table of the verdicts (with --fix,
                     whether each remedy stopped the drops)
  --fix              then apply the scenario's remedy, send the traffic again, and show the drops have
                     stopped
  --json             print one document {"drops": [...], "afterFix": {"drops": [...]}}; with
                     --scenario all, {"scenarios": [{"scenario", "overlay", "verdict", ...}]}
  --overlay MODE     ipip (tunl0, the default, as in the story) or vxlan (vxlan.calico); with
                     --scenario all, may be given twice (or ipip,vxlan) to run every scenario on both
  --ui               afterwards, keep the collector and its web UI serving the drops it found on
                     127.0.0.1 until Ctrl-C, and print the address (after the report; with --json, on
                     stderr). The agents are stopped and the namespaces removed first: the UI shows
                     the story's drops and nothing more is captured
  --port N           the UI's port (default 7070, or $PATHWATCH_PORT; when 7070 is taken, a free
                     one; 0: a free one)
  -h, --help         show this help

Needs root (network namespaces, captures, eBPF). Removes everything it made when it ends, fails,
or is interrupted.
`;

/** `--overlay` values (repeated or comma-separated), each once, in the order given; none: ipip. */
function parseOverlays(given: readonly string[]): Overlay[] {
  const overlays: Overlay[] = [];
  for (const value of given.flatMap((g) => g.split(','))) {
    if (value !== 'ipip' && value !== 'vxlan') throw new UsageError(`lab: --overlay takes ipip or vxlan, not "${value}"`);
    if (!overlays.includes(value)) overlays.push(value);
  }
  return overlays.length === 0 ? ['ipip'] : overlays;
}

/** What the scenarios need that is not here, in one line, or null. */
function missingTools(scenarios: readonly LabScenario[]): string | null {
  const needing = scenarios.filter((s) => s.tools.includes('iptables')).map((s) => s.name);
  if (needing.length === 0) return null;
  const reason = iptablesUnavailableReason();
  return reason === null ? null : `--scenario ${needing.length === 1 ? needing[0] : 'all'}: ${reason}`;
}

/** Whether nothing listens on 127.0.0.1:port (port 0: always). */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

export async function labCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        fix: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        scenario: { type: 'string', default: DEFAULT_SCENARIO },
        overlay: { type: 'string', multiple: true },
        ui: { type: 'boolean', default: false },
        port: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    throw new UsageError(`lab: ${(e as Error).message.split('\n')[0]}`);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(LAB_USAGE);
    return 0;
  }
  const all = v.scenario === 'all';
  let scenarios: LabScenario[];
  if (all) scenarios = allLabScenarios();
  else if (isScenarioName(v.scenario)) scenarios = [labScenario(v.scenario)];
  else throw new UsageError(`lab: --scenario takes ${SCENARIO_NAMES.join(', ')} or all, not "${v.scenario}"`);
  const overlays = parseOverlays(v.overlay ?? []);
  if (overlays.length > 1 && !all) throw new UsageError('lab: more than one --overlay goes with --scenario all');
  if (all && v.ui) throw new UsageError('lab: --ui serves one scenario\'s drops; give --scenario NAME, not all');
  const portText = v.port ?? process.env['PATHWATCH_PORT'];
  if (v.port !== undefined && !v.ui) throw new UsageError('lab: --port goes with --ui');
  let port = 7070;
  if (v.ui && portText !== undefined) {
    port = Number(portText);
    if (!/^\d{1,5}$/.test(portText) || port > 65535) throw new UsageError(`lab: --port takes 0 to 65535, not "${portText}"`);
  }
  if (process.getuid?.() !== 0) throw new UsageError('lab: needs root (it creates network namespaces and captures in them); run it with sudo');
  const missing = missingTools(scenarios);
  if (missing !== null) throw new UsageError(`lab: ${missing}`);
  const log = (line: string): void => void process.stderr.write(`pathwatch lab: ${line}\n`);
  if (v.ui && !(await portFree(port))) {
    if (portText !== undefined) throw new UsageError(`lab: ${v.port !== undefined ? `--port ${port}` : `PATHWATCH_PORT=${port}`}: 127.0.0.1:${port} is in use`);
    log(`127.0.0.1:${port} is in use (pathwatch start?); the UI takes a free port`);
    port = 0;
  }
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.on('SIGINT', stop); // on, not once: a second signal while flushing must not kill it
  process.on('SIGTERM', stop);
  const report = (result: LabResult): void => {
    if (v.json) {
      const doc = { drops: result.drops.map((d) => d.event), ...(result.afterFix ? { afterFix: { drops: result.afterFix.drops.map((d) => d.event) } } : {}) };
      process.stdout.write(`${JSON.stringify(doc)}\n`);
    } else {
      process.stdout.write(renderLabReport(result));
    }
  };
  const signal = controller.signal;
  const ui: LabUi | undefined = v.ui
    ? {
        port,
        onResult: report,
        serve: async (url) => {
          // The address last, on its own line: on stdout after the report, on stderr after --json's document.
          const line = `pathwatch lab: the collector and web UI are at ${url} (Ctrl-C to stop)\n`;
          if (v.json) process.stderr.write(line);
          else process.stdout.write(line);
          if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
        },
      }
    : undefined;
  try {
    if (all) {
      const rows = await runScenarioMatrix({ scenarios, overlays, fix: v.fix, log, signal });
      process.stdout.write(v.json ? scenarioTableJson(rows) : renderScenarioTable(rows));
      return rows.some((r) => r.error !== undefined) ? 1 : 0;
    }
    const [scenario] = scenarios;
    const [overlay] = overlays;
    if (scenario === undefined || overlay === undefined) throw new Error('lab: no scenario or overlay'); // parsed above: never
    const result = await runLab({ overlay, scenario, fix: v.fix, log, signal, ...(ui ? { ui } : {}) });
    if (ui) {
      log('stopped; everything it made was removed');
      return 0;
    }
    report(result);
    return 0;
  } catch (e) {
    if (e instanceof LabAbortedError) {
      log('interrupted; everything it made was removed');
      return 130;
    }
    if (e instanceof CollectorConfigError) throw new UsageError(`lab: ${e.message}`);
    throw e;
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  }
}
