/**
 * `pathwatch lab [--fix] [--json] [--overlay ipip|vxlan] [--ui [--port N]]`: the story on this machine,
 * end to end; with --ui, its collector and web UI stay up afterwards until Ctrl-C.
 */
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import { CollectorConfigError } from '../collector/collector-runner.js';
import { LabAbortedError, runLab, type LabResult, type LabUi } from '../modes/lab/lab-run.js';
import { renderLabReport } from '../modes/lab/lab-report.js';
import type { Overlay } from '../lab/topology.js';
import { UsageError } from './cli-error.js';

export const LAB_USAGE = `Usage: pathwatch lab [--fix] [--json] [--overlay ipip|vxlan] [--ui [--port N]]

Builds the story's cluster in network namespaces on this machine (a gateway that routes a pod block
via the wrong node, two nodes with an overlay tunnel, strict rp_filter, a healthy and an asymmetric
pod), runs a collector and an agent per node, sends ICMP and TCP both ways, and shows what pathwatch
found: the path hop by hop, the verdict, the evidence and the remedy.

  --fix              then apply the remedy, send the traffic again, and show the drops have stopped
  --json             print one document {"drops": [...], "afterFix": {"drops": [...]}}
  --overlay MODE     ipip (tunl0, the default, as in the story) or vxlan (vxlan.calico)
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
        overlay: { type: 'string', default: 'ipip' },
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
  if (v.overlay !== 'ipip' && v.overlay !== 'vxlan') throw new UsageError(`lab: --overlay takes ipip or vxlan, not "${v.overlay}"`);
  const portText = v.port ?? process.env['PATHWATCH_PORT'];
  if (v.port !== undefined && !v.ui) throw new UsageError('lab: --port goes with --ui');
  let port = 7070;
  if (v.ui && portText !== undefined) {
    port = Number(portText);
    if (!/^\d{1,5}$/.test(portText) || port > 65535) throw new UsageError(`lab: --port takes 0 to 65535, not "${portText}"`);
  }
  if (process.getuid?.() !== 0) throw new UsageError('lab: needs root (it creates network namespaces and captures in them); run it with sudo');
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
    const result = await runLab({ overlay: v.overlay as Overlay, fix: v.fix, log, signal, ...(ui ? { ui } : {}) });
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
