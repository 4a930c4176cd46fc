/**
 * `pathwatch lab [--fix] [--json] [--overlay ipip|vxlan]`: the story on this machine, end to end.
 */
import { parseArgs } from 'node:util';
import { LabAbortedError, runLab } from '../modes/lab/lab-run.js';
import { renderLabReport } from '../modes/lab/lab-report.js';
import type { Overlay } from '../lab/topology.js';
import { UsageError } from './cli-error.js';

export const LAB_USAGE = `Usage: pathwatch lab [--fix] [--json] [--overlay ipip|vxlan]

Builds the story's cluster in network namespaces on this machine (a gateway that routes a pod block
via the wrong node, two nodes with an overlay tunnel, strict rp_filter, a healthy and an asymmetric
pod), runs a collector and an agent per node, sends ICMP and TCP both ways, and shows what pathwatch
found: the path hop by hop, the verdict, the evidence and the remedy.

  --fix              then apply the remedy, send the traffic again, and show the drops have stopped
  --json             print one document {"drops": [...], "afterFix": {"drops": [...]}}
  --overlay MODE     ipip (tunl0, the default, as in the story) or vxlan (vxlan.calico)
  -h, --help         show this help

Needs root (network namespaces, captures, eBPF). Removes everything it made when it ends, fails,
or is interrupted.
`;

export async function labCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        fix: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        overlay: { type: 'string', default: 'ipip' },
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
  if (v.overlay !== 'ipip' && v.overlay !== 'vxlan') throw new UsageError(`lab: --overlay takes ipip or vxlan, not "${v.overlay}"`);
  if (process.getuid?.() !== 0) throw new UsageError('lab: needs root (it creates network namespaces and captures in them); run it with sudo');
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.on('SIGINT', stop); // on, not once: a second signal while flushing must not kill it
  process.on('SIGTERM', stop);
  const log = (line: string): void => void process.stderr.write(`pathwatch lab: ${line}\n`);
  try {
    const result = await runLab({ overlay: v.overlay as Overlay, fix: v.fix, log, signal: controller.signal });
    if (v.json) {
      const doc = { drops: result.drops.map((d) => d.event), ...(result.afterFix ? { afterFix: { drops: result.afterFix.drops.map((d) => d.event) } } : {}) };
      process.stdout.write(`${JSON.stringify(doc)}\n`);
    } else {
      process.stdout.write(renderLabReport(result));
    }
    return 0;
  } catch (e) {
    if (e instanceof LabAbortedError) {
      log('interrupted; everything it made was removed');
      return 130;
    }
    throw e;
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  }
}
