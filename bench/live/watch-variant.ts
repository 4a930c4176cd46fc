/**
 * `pathwatch watch` with capture options the command line does not offer, for the live benchmark's
 * variants (run-live-bench.ts): the same local watch (LiveNode, kernel evidence, drop finding) and
 * the same two lines on stderr the benchmark reads ("capturing on" when ready, the summary at the
 * end), with the capture thread, the way tcpdump's output is read, the kernel buffer and the ring
 * size set here.
 *
 * Usage: node dist/bench/live/watch-variant.js --node NAME [--filter BPF] [--thread main|worker]
 *          [--reads stream|paced] [--buffer-kib N] [--ring-slots N] [--when-ring-full wait|drop]
 */
import { parseArgs } from 'node:util';
import type { WorkerCaptureOptions } from '../../agent/capture/capture-worker-host.js';
import { runLocalWatch } from '../../modes/watch/local-watch.js';

async function main(): Promise<number> {
  const { values: v } = parseArgs({
    options: {
      node: { type: 'string', default: 'bench' },
      filter: { type: 'string' },
      thread: { type: 'string' },
      reads: { type: 'string' },
      'buffer-kib': { type: 'string' },
      'ring-slots': { type: 'string' },
      'when-ring-full': { type: 'string' },
    },
  });
  if (v.thread !== undefined && v.thread !== 'main' && v.thread !== 'worker') throw new Error('--thread main|worker');
  if (v.reads !== undefined && v.reads !== 'stream' && v.reads !== 'paced') throw new Error('--reads stream|paced');
  const full = v['when-ring-full'];
  if (full !== undefined && full !== 'wait' && full !== 'drop') throw new Error('--when-ring-full wait|drop');
  // Unset options keep LiveNode's defaults.
  const capture: WorkerCaptureOptions = {
    ...(v.thread ? { thread: v.thread } : {}),
    ...(v.reads ? { reads: v.reads } : {}),
    ...(v.filter ? { filter: v.filter } : {}),
    ...(v['buffer-kib'] ? { bufferKiB: Number(v['buffer-kib']) } : {}),
    ...(v['ring-slots'] ? { ringSlots: Number(v['ring-slots']) } : {}),
    ...(full ? { whenRingFull: full } : {}),
  };
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  process.once('SIGTERM', () => controller.abort());
  const result = await runLocalWatch(
    {
      node: v.node,
      capture,
      onDrop: (d) => process.stdout.write(`${JSON.stringify(d.event)}\n`),
      onNotice: (m) => process.stderr.write(`pathwatch watch: ${m}\n`),
      onReady: () => process.stderr.write(`pathwatch watch: capturing on every interface of ${v.node} (${JSON.stringify(capture)})\n`),
    },
    controller.signal,
  );
  const s = result.stats;
  // The same summary line as `pathwatch watch` (cli/watch-command.ts): the benchmark parses it.
  process.stderr.write(
    `pathwatch watch: ${s.packets} packets, ${result.drops.length} drop group(s) (${s.vanishedPackets} packets), ${s.unobservedPackets} unobserved, ${s.localPackets} for the node itself` +
      `${s.kernelDropped ? `; the capture lost ${s.kernelDropped} packets in the kernel` : ''}\n`,
  );
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`watch-variant: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
