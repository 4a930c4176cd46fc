/**
 * `pathwatch watch [--node NAME] [--window MS] [--iface IF] [--filter BPF] [--json]`: watches this
 * host live and reports packets that enter and never leave, as they are found. Stops on SIGINT or
 * SIGTERM with a summary.
 */
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { LiveCaptureError } from '../agent/capture/live-capture.js';
import type { ExplainedDrop } from '../core/explain/explain-drop.js';
import { renderPath } from '../modes/replay/replay-report.js';
import { runLocalWatch } from '../modes/watch/local-watch.js';
import { UsageError } from './cli-error.js';
import { parseWindowOption } from './window-option.js';

export const WATCH_USAGE = `Usage: pathwatch watch [--node NAME] [--window MS] [--iface IF] [--filter BPF] [--json]

Watches this host live (libpcap on every interface) and reports each group of packets that
entered and never left, with the verdict, the evidence and the remedy, as it is found.
Needs root (or CAP_NET_RAW and CAP_NET_ADMIN to capture). Stops on Ctrl-C or SIGTERM.

Options:
  --node NAME    name of this node in the reports (default: the host name)
  --window MS    correlation window in milliseconds (default 250)
  --iface IF     capture one interface instead of all (then no drop can be judged)
  --filter BPF   capture filter, e.g. "not port 22"
  --json         one JSON DropEvent per line on stdout (new events and growing ones)
  -h, --help     show this help
`;

export async function watchCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        node: { type: 'string' },
        window: { type: 'string' },
        iface: { type: 'string' },
        filter: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    throw new UsageError(`watch: ${(e as Error).message.split('\n')[0]}`);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(WATCH_USAGE);
    return 0;
  }
  const windowMs = parseWindowOption('watch', v.window);
  const node = v.node ?? hostname();
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.on('SIGINT', stop); // on, not once: a second signal while flushing must not kill it
  process.on('SIGTERM', stop);
  const print = (d: ExplainedDrop, isNew: boolean): void => {
    const e = d.event;
    if (v.json) {
      process.stdout.write(`${JSON.stringify(e)}\n`);
      return;
    }
    const ports = e.sport !== null ? `:${e.sport} -> ${e.dst}:${e.dport}` : ` -> ${e.dst}`;
    process.stdout.write(`${isNew ? 'DROP' : 'more'} ${e.verdict} (${e.confidence}) at ${e.node} on ${e.iface}: ${e.proto} ${e.src}${ports}, ${e.packets} packet(s)\n`);
    if (isNew) {
      for (const line of renderPath(d.path, { node: e.node, iface: e.iface })) process.stdout.write(`${line}\n`);
      for (const ev of e.evidence) process.stdout.write(`      - ${ev.kind}: ${ev.detail}\n`);
      process.stdout.write(`      remedy: ${e.remedy.split('\n')[0]}\n`);
    }
  };
  try {
    const result = await runLocalWatch(
      {
        node,
        ...(windowMs !== undefined ? { windowMs } : {}),
        capture: { ...(v.iface ? { iface: v.iface } : {}), ...(v.filter ? { filter: v.filter } : {}) },
        onDrop: print,
        onNotice: (m: string) => process.stderr.write(`pathwatch watch: ${m}\n`),
        onReady: () => process.stderr.write(`pathwatch watch: capturing on ${v.iface ?? 'every interface'} of ${node}; Ctrl-C to stop\n`),
      },
      controller.signal,
    );
    const s = result.stats;
    process.stderr.write(
      `pathwatch watch: ${s.packets} packets, ${result.drops.length} drop group(s) (${s.vanishedPackets} packets), ${s.unobservedPackets} unobserved, ${s.localPackets} for the node itself` +
        `${s.kernelDropped ? `; the capture lost ${s.kernelDropped} packets in the kernel` : ''}\n`,
    );
    return 0;
  } catch (e) {
    if (e instanceof LiveCaptureError) throw new UsageError(`watch: ${e.message}`);
    throw e;
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  }
}
