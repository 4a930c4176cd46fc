/**
 * Watching this host live, in one process: a live capture (tcpdump on `any`, SLL2) feeds the same
 * pipeline as replay (decode -> fingerprint -> flows -> hop matching), and the same judging and
 * explaining turn what vanished into drop events, reported as they appear and as they grow.
 * The always-on agent/collector split builds on the same stages; this is its single-host form.
 */
import { CaptureStream } from '../../agent/capture/capture-stream.js';
import type { CaptureInterface, CaptureRecord, CaptureSink } from '../../agent/capture/capture-record.js';
import { readInterfaceIndexes, startLiveCapture, type LiveCaptureOptions } from '../../agent/capture/live-capture.js';
import { LINKTYPE_LINUX_SLL2 } from '../../agent/decode/link-types.js';
import { InterfaceRegistry } from '../../agent/flow/interface-registry.js';
import { DEFAULT_HOP_MATCHER_CONFIG } from '../../agent/flow/node-hop-matcher.js';
import { SightingPipeline, type CaptureBinding } from '../../agent/flow/sighting-pipeline.js';
import { findDrops, type DropFindingStats } from '../correlate/find-drops.js';
import type { ExplainedDrop } from '../explain/explain-vanished.js';
import type { VanishedGroup } from '../../agent/flow/hop.js';
import { startDropMonitor } from '../../agent/kernel/drop-monitor.js';
import { KernelEvidenceCollector } from '../../agent/kernel/kernel-evidence.js';

export interface LocalWatchOptions {
  readonly node: string;
  readonly windowMs?: number;
  readonly capture?: LiveCaptureOptions;
  /** A drop event that is new, or has more packets than when last reported. */
  readonly onDrop: (drop: ExplainedDrop, isNew: boolean) => void;
  /** Called once the capture is running. */
  readonly onReady?: () => void;
  /** Ask the kernel (eBPF drop reasons, rp_filter, counters, routes); default true. */
  readonly kernelEvidence?: boolean;
  /** Something the user should know once (the eBPF monitor could not start, and why). */
  readonly onNotice?: (message: string) => void;
}

export interface LocalWatchResult {
  readonly drops: ExplainedDrop[];
  readonly stats: DropFindingStats & { packets: number; kernelDropped: number | undefined };
}

/** Packets take a moment from the kernel through tcpdump's pipe: judge only what is older than this. */
const DELIVERY_SLACK_MS = 1000;

export async function runLocalWatch(options: LocalWatchOptions, signal: AbortSignal): Promise<LocalWatchResult> {
  const windowMs = options.windowMs ?? DEFAULT_HOP_MATCHER_CONFIG.windowMs;
  const registry = new InterfaceRegistry();
  const node = registry.node(options.node);
  const pipeline = new SightingPipeline(registry, { matcher: { ...DEFAULT_HOP_MATCHER_CONFIG, windowMs } });
  let ifnames: ReadonlyMap<number, string> = readInterfaceIndexes();
  const binding: CaptureBinding = { node: options.node, ifaceByCaptureInterface: [], ifnameByIndex: ifnames, ifaceByIfindex: new Int32Array(0) };
  let lastTs = -Infinity;
  const sink: CaptureSink = {
    onInterface(ci: CaptureInterface) {
      if (ci.linkType === LINKTYPE_LINUX_SLL2) {
        node.coversAllInterfaces = true;
        binding.ifaceByCaptureInterface[ci.id] = -1;
      } else {
        binding.ifaceByCaptureInterface[ci.id] = registry.interface(options.node, options.capture?.iface ?? 'any').id;
      }
    },
    onPacket(r: CaptureRecord) {
      pipeline.onRecord(r, binding);
      const ts = r.tsSec * 1000 + r.tsNsec / 1e6;
      if (ts > lastTs) lastTs = ts;
    },
    onWarning() {},
  };
  const kernel = new KernelEvidenceCollector();
  const monitor = options.kernelEvidence === false ? undefined : startDropMonitor((d) => kernel.addDrop(d));
  const capture = startLiveCapture(options.capture);
  const stream = new CaptureStream('tcpdump', sink, capture.chunks);
  const reported = new Map<string, number>();
  let reporting = false;
  const report = async (): Promise<void> => {
    if (reporting) return;
    reporting = true;
    try {
      if (options.kernelEvidence !== false) {
        for (const m of pipeline.matchers) for (const g of m?.vanished.values() ?? []) await kernel.prepare(g);
      }
      emit();
    } finally {
      reporting = false;
    }
  };
  const emit = (): void => {
    for (const d of findDrops(pipeline, undefined, evidence).drops) {
      const before = reported.get(d.event.id);
      if (before === undefined || d.event.packets > before) {
        reported.set(d.event.id, d.event.packets);
        options.onDrop(d, before === undefined);
      }
    }
  };
  const evidence = options.kernelEvidence === false ? undefined : (g: VanishedGroup) => kernel.evidenceFor(g);
  let lastFlush = Date.now();
  const tick = setInterval(() => {
    // Quiet links must not hold packets back: wall-clock time moves the watermark too.
    const watermark = Math.max(lastTs, Date.now() - DELIVERY_SLACK_MS);
    pipeline.advance(watermark);
    kernel.sampleCounters();
    if (Date.now() - lastFlush >= 2000) {
      ifnames = readInterfaceIndexes();
      binding.ifnameByIndex = ifnames;
      // Pods come and go: names are looked up afresh (an index seen before its name was known).
      binding.ifaceByIfindex = new Int32Array(0);
      pipeline.flushFlows();
      lastFlush = Date.now();
    }
    void report();
  }, 500);
  tick.unref();
  const onAbort = (): void => void capture.stop();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    if (monitor) {
      try {
        await monitor.ready;
        kernel.monitoring = true;
      } catch (e) {
        options.onNotice?.(`kernel drop reasons unavailable (${e instanceof Error ? e.message : String(e)}); verdicts rest on rp_filter, counters and routes`);
      }
    }
    kernel.sampleCounters();
    await capture.ready;
    options.onReady?.();
    while (await stream.pump()) {
      // pump() parses one chunk; the timer judges and reports.
    }
  } finally {
    clearInterval(tick);
    signal.removeEventListener('abort', onAbort);
  }
  const counters = await capture.stop();
  pipeline.finish(lastTs);
  kernel.sampleCounters();
  while (reporting) await new Promise((r) => setTimeout(r, 20));
  await report();
  await monitor?.stop();
  const findings = findDrops(pipeline, undefined, evidence);
  return { drops: findings.drops, stats: { ...findings.stats, packets: pipeline.stats.records, kernelDropped: counters.droppedByKernel } };
}
