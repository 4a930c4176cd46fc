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

export interface LocalWatchOptions {
  readonly node: string;
  readonly windowMs?: number;
  readonly capture?: LiveCaptureOptions;
  /** A drop event that is new, or has more packets than when last reported. */
  readonly onDrop: (drop: ExplainedDrop, isNew: boolean) => void;
  /** Called once the capture is running. */
  readonly onReady?: () => void;
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
  const capture = startLiveCapture(options.capture);
  const stream = new CaptureStream('tcpdump', sink, capture.chunks);
  const reported = new Map<string, number>();
  const report = (): void => {
    for (const d of findDrops(pipeline).drops) {
      const before = reported.get(d.event.id);
      if (before === undefined || d.event.packets > before) {
        reported.set(d.event.id, d.event.packets);
        options.onDrop(d, before === undefined);
      }
    }
  };
  let lastFlush = Date.now();
  const tick = setInterval(() => {
    // Quiet links must not hold packets back: wall-clock time moves the watermark too.
    const watermark = Math.max(lastTs, Date.now() - DELIVERY_SLACK_MS);
    pipeline.advance(watermark);
    if (Date.now() - lastFlush >= 2000) {
      ifnames = readInterfaceIndexes();
      binding.ifnameByIndex = ifnames;
      // Pods come and go: names are looked up afresh (an index seen before its name was known).
      binding.ifaceByIfindex = new Int32Array(0);
      pipeline.flushFlows();
      lastFlush = Date.now();
    }
    report();
  }, 500);
  tick.unref();
  const onAbort = (): void => void capture.stop();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
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
  report();
  const findings = findDrops(pipeline);
  return { drops: findings.drops, stats: { ...findings.stats, packets: pipeline.stats.records, kernelDropped: counters.droppedByKernel } };
}
