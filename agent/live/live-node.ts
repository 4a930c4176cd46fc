/**
 * One node, live: a capture (libpcap on `any`, SLL2, in the native addon) feeds the shared pipeline (decode ->
 * fingerprint -> flows -> hop matching), the kernel is asked for its evidence (eBPF drop reasons,
 * rp_filter, counters, routes), and on every tick the packets whose window closed are evaluated.
 * What they taught is taken as NodeFindings (takeFindings: the candidates with the kernel's word on
 * each, the capture's losses); judging them, and what to do with the drops (print them, ship them),
 * is the caller's: `onTick` sees the node after each tick, `onFlows` gets the interval's flow records.
 */
import { readFileSync } from 'node:fs';
import { CaptureStream } from '../capture/capture-stream.js';
import { recordTimeMs, type CaptureInterface, type CaptureRecord, type CaptureSink, type PcapRecordFormat } from '../capture/capture-record.js';
import { readInterfaceIndexes, startLiveCapture, type LiveCapture, type LiveCaptureCounters, type LiveCaptureOptions } from '../capture/live-capture.js';
import { LINKTYPE_LINUX_SLL2 } from '../decode/link-types.js';
import { interfaceAddresses } from '../capture/interface-addresses.js';
import { parseAddress } from '../../core/net/address.js';
import type { FlowRecord } from '../../core/findings/flow-record.js';
import { InterfaceRegistry } from '../flow/interface-registry.js';
import { addCounters, emptyCounters, type NodeCounters, type NodeFindings } from '../../core/findings/node-findings.js';
import { DEFAULT_HOP_MATCHER_CONFIG, DEFAULT_PACKET_BYTES_CONFIG, type CaptureBinding } from '../native/pipeline-config.js';
import { NativeSightingPipeline } from '../native/native-sighting-pipeline.js';
import { DropMonitorUnavailable, startDropMonitor, type DropMonitor } from '../kernel/drop-monitor.js';
import { isGenericKernelReason } from '../../core/findings/kernel-evidence.js';
import { KernelDropTallies } from '../kernel/kernel-drop-tallies.js';
import { KernelEvidenceCollector } from '../kernel/kernel-evidence.js';
import { KernelSymbols } from '../kernel/kallsyms.js';
import type { KernelDropNaming } from '../native/node-findings-native.js';
import type { VanishCandidate } from '../../core/findings/node-findings.js';
import { CaptureLossTracker } from './capture-loss.js';

export interface LiveNodeOptions {
  readonly node: string;
  readonly windowMs?: number;
  readonly capture?: LiveCaptureOptions;
  /** Ask the kernel (eBPF drop reasons, rp_filter, counters, routes); default true. */
  readonly kernelEvidence?: boolean;
  /** Flow records are emitted (and knowledge learned) this often; default 10 s. */
  readonly flowIntervalMs?: number;
  /** Analyse only interfaces whose name passes (then the capture no longer covers every interface). */
  readonly acceptInterface?: (name: string) => boolean;
  /** Keep one packet in N by fingerprint (consistent sampling: all hops of a kept packet are kept). */
  readonly sampleOneIn?: number;
  /** Report the encapsulated hops of one packet in N (by fingerprint) for stitching across nodes; 0: none. */
  readonly tunnelHopSampleOneIn?: number;
  readonly onReady?: () => void;
  /** Something the user should know once (the eBPF monitor could not start, and why). */
  readonly onNotice?: (message: string) => void;
  readonly onFlows?: (records: FlowRecord[]) => void;
  /** After each tick's judging and kernel questions; awaited, ticks never overlap. */
  readonly onTick?: (node: LiveNode) => void | Promise<void>;
}

export type CaptureCounters = LiveCaptureCounters;

/** Packets take a moment from the kernel to the pipeline (the ring's read timeout, a block's wait): evaluate only what is older than this. */
const DELIVERY_SLACK_MS = 1000;
const TICK_MS = 500;
/**
 * The drop monitor's ring is read this often (and at every tick, before packets are evaluated): its
 * 4 MiB hold about 26,000 events, so it keeps up with some 250,000 drops a second.
 */
const DROP_POLL_MS = 100;
/** New pod veths are named (and the node's addresses re-read) within this long. */
const INTERFACE_REFRESH_MS = 2000;
/** Capture loss spans carried with findings: those of the last ten minutes (the judge looks around each candidate). */
const CAPTURE_LOSS_LOOKBACK_MS = 10 * 60_000;

const noInterval = (): void => {};

export class LiveNode {
  readonly registry = new InterfaceRegistry();
  /** The native engine (native/engine): the capture's blocks are walked into it in C. */
  readonly pipeline: NativeSightingPipeline;
  readonly kernel = new KernelEvidenceCollector();
  /** Why the eBPF drop monitor is not running, if it is not. */
  ebpfUnavailable: string | undefined;
  /** The kernel's drops per reason and device, matched to vanished packets or not. */
  readonly kernelDrops = new KernelDropTallies();
  private monitor: DropMonitor | undefined;
  private kernelNaming: KernelDropNaming | undefined;
  private readonly symbols = new KernelSymbols();
  /** Interface names by the kernel's index, as last read (the capture's binding keeps it current). */
  private ifnameByIndex: ReadonlyMap<number, string> = new Map();
  /** The capture's own counters over time: loss there turns a gap into "unknown". */
  private readonly captureLoss = new CaptureLossTracker();
  private lastTs = -Infinity;
  /** What the node's packets came to since the start (the sum of every findings' counters). */
  readonly totals: NodeCounters = emptyCounters();
  /** Capture time before which every packet has been evaluated (the last watermark, less the window). */
  private coveredUntil = -Infinity;
  private readonly windowMs: number;
  private readonly scratch = new Uint32Array(4);

  constructor(private readonly options: LiveNodeOptions) {
    this.windowMs = options.windowMs ?? DEFAULT_HOP_MATCHER_CONFIG.windowMs;
    this.pipeline = new NativeSightingPipeline(this.registry, {
      matcher: { ...DEFAULT_HOP_MATCHER_CONFIG, windowMs: this.windowMs, tunnelHopSampleOneIn: options.tunnelHopSampleOneIn ?? 0 },
      ...(options.acceptInterface ? { acceptInterface: options.acceptInterface } : {}),
      ...(options.sampleOneIn ? { sampleOneIn: options.sampleOneIn } : {}),
      // Vanished packets are shipped with their headers as captured, for the collector's export.
      packetBytes: DEFAULT_PACKET_BYTES_CONFIG,
    });
  }

  /** Drop events the monitor's ring had no room for (read too slowly), since the start. */
  get kernelEventsLost(): number {
    return this.monitor?.lost ?? 0;
  }

  /** The kernel's drops so far, per reason and interface name. */
  kernelDropTallies(): ReturnType<KernelDropTallies['list']> {
    if (this.monitor && this.kernel.monitoring) this.kernelDrops.setCounted(this.monitor.counts());
    const names = this.monitor?.reasonNames;
    return this.kernelDrops.list((code) => names?.get(code) ?? `REASON_${code}`, (ifindex) => this.ifnameByIndex.get(ifindex));
  }

  /** Hands the kernel's waiting drop events to the engine (by fingerprint) and the tallies. */
  private drainKernelDrops(): void {
    const monitor = this.monitor;
    if (!monitor) return;
    const matcher = this.pipeline.matcher(this.registry.node(this.options.node).index);
    const now = Date.now();
    monitor.drain((events, count) => {
      matcher.addKernelDrops(events.batch, count, events.eventBytes, now);
      for (let i = 0; i < count; i++) this.kernelDrops.count(events.reasonAt(i), events.ifindexAt(i));
    });
  }

  /** Starts the drop monitor; when it cannot run, says why once. */
  private startKernelMonitor(): void {
    try {
      const monitor = startDropMonitor();
      this.monitor = monitor;
      this.kernelNaming = { reasonName: (code) => monitor.reasonNames.get(code) ?? `REASON_${code}`, isGeneric: isGenericKernelReason };
      this.kernel.monitoring = true;
      // No events yet, but the engine must know at once: the packets that arrive from now on keep
      // their headers' fingerprint, for drops whose payload the program could not copy.
      const matcher = this.pipeline.matcher(this.registry.node(this.options.node).index);
      matcher.addKernelDrops(new Uint8Array(0), 0, monitor.eventBytes, Date.now());
    } catch (e) {
      if (!(e instanceof DropMonitorUnavailable)) throw e;
      this.ebpfUnavailable = e.message;
      this.options.onNotice?.(`kernel drop reasons unavailable (${e.message}); verdicts rest on rp_filter, counters and routes`);
    }
  }

  private stopKernelMonitor(): void {
    // The kernel's own counts go with the program: keep their last totals for the final status.
    if (this.monitor && this.kernel.monitoring) this.kernelDrops.setCounted(this.monitor.counts());
    this.monitor?.stop();
    this.kernel.monitoring = false;
  }

  /** Names where the kernel freed packets of generic reasons (the engine gives addresses). */
  private async withKernelLocations(c: VanishCandidate): Promise<VanishCandidate> {
    const locations = c.kernel?.dropLocations;
    if (!c.kernel || !locations) return c;
    const named = await this.symbols.resolve(Object.values(locations));
    const dropLocations = Object.fromEntries(Object.entries(locations).map(([reason, at]) => [reason, named.get(at) ?? at]));
    return { ...c, kernel: { ...c.kernel, dropLocations } };
  }

  /** The latest capture counters (received by the filter, dropped by the kernel before we saw them). */
  get captureCounters(): { received: number; dropped: number } {
    return this.captureLoss.latest;
  }

  /**
   * What the packets evaluated since the last call taught (NodeFindings): the candidates, each with
   * the kernel's evidence on its packets when kernel evidence is on, the knowledge about their
   * addresses, the tunnel hops sampled, and the capture's recent loss spans.
   */
  async takeFindings(): Promise<NodeFindings> {
    const node = this.registry.node(this.options.node);
    const f = this.pipeline.matcher(node.index).takeFindings(this.coveredUntil, this.kernelNaming);
    addCounters(this.totals, f.counters);
    let candidates = f.candidates;
    if (this.options.kernelEvidence !== false && candidates.length > 0) {
      const out: VanishCandidate[] = [];
      for (const c of candidates) {
        await this.kernel.prepare(c);
        for (const [reason, packets] of Object.entries(c.kernel?.dropReasons ?? {})) this.kernelDrops.matched(reason, c.iface, packets);
        const located = await this.withKernelLocations(c);
        out.push({ ...located, kernel: { ...located.kernel, ...this.kernel.evidenceFor(c) } });
      }
      candidates = out;
    }
    return { ...f, candidates, captureLoss: this.captureLoss.spansSince(Date.now() - CAPTURE_LOSS_LOOKBACK_MS) };
  }

  private async sampleCapture(capture: LiveCapture): Promise<void> {
    const c = await capture.counters();
    if (c.received === undefined || c.droppedByKernel === undefined) return;
    this.captureLoss.add({ ts: Date.now(), received: c.received, dropped: c.droppedByKernel });
  }

  async run(signal: AbortSignal): Promise<CaptureCounters> {
    const options = this.options;
    const pipeline = this.pipeline;
    const node = this.registry.node(options.node);
    const binding: CaptureBinding = { node: options.node, ifaceByCaptureInterface: [], ifnameByIndex: readInterfaceIndexes(), ifaceByIfindex: new Int32Array(0) };
    const operStates = new Map<string, string>();
    this.ifnameByIndex = binding.ifnameByIndex;
    interfaceChanges(new Map(), binding.ifnameByIndex, operStates);
    const sink: CaptureSink = {
      onInterface: (ci: CaptureInterface) => {
        if (ci.linkType === LINKTYPE_LINUX_SLL2) {
          node.coversAllInterfaces = options.acceptInterface === undefined;
          binding.ifaceByCaptureInterface[ci.id] = -1;
        } else {
          binding.ifaceByCaptureInterface[ci.id] = this.registry.interface(options.node, options.capture?.iface ?? 'any').id;
        }
      },
      // A block's records go to the engine in one call; only a record cut by the block's end (never,
      // for the addon's blocks) or refused by the reader would come one by one.
      onPcapRecords: (chunk: Uint8Array, pos: number, end: number, format: PcapRecordFormat, walked: { records: number }) => {
        const r = pipeline.walkPcap(chunk, pos, end, format, binding, undefined, noInterval);
        walked.records += r.progress.records;
        if (r.progress.lastTs > this.lastTs) this.lastTs = r.progress.lastTs;
        return r.pos;
      },
      onPacket: (r: CaptureRecord) => {
        pipeline.onRecord(r, binding);
        const ts = recordTimeMs(r);
        if (ts > this.lastTs) this.lastTs = ts;
      },
      onWarning() {},
    };
    const learnOwnAddresses = (): void => {
      for (const addrs of interfaceAddresses().values()) {
        for (const a of addrs) {
          const v = parseAddress(a, this.scratch);
          if (v !== 0) pipeline.addLocalAddress(node.index, v, this.scratch);
        }
      }
    };
    learnOwnAddresses();
    const useKernel = options.kernelEvidence !== false;
    // Started in this order: the drop monitor (in process, attached before the capture so that no
    // captured packet's drop goes unseen), the capture (the addon's capture thread) and its stream,
    // the timers. Whatever fails on the way (the capture cannot start, the stream breaks, a
    // callback throws), everything already started is stopped before the error goes on: no BPF
    // program or capture thread outlives run().
    const started: { capture?: LiveCapture; stream?: CaptureStream; timer?: ReturnType<typeof setInterval>; dropTimer?: ReturnType<typeof setInterval> } = {};
    let ticking = false;
    const onAbort = (): void => void started.capture?.stop();
    try {
      if (useKernel) this.startKernelMonitor();
      if (this.monitor) {
        started.dropTimer = setInterval(() => this.drainKernelDrops(), DROP_POLL_MS);
        started.dropTimer.unref();
      }
      const capture = (started.capture = startLiveCapture(options.capture));
      const stream = (started.stream = new CaptureStream('live capture', sink, capture.chunks));
      const flowInterval = options.flowIntervalMs ?? 10_000;
      let lastFlush = Date.now();
      let lastRefresh = Date.now();
      const tick = async (final: boolean): Promise<void> => {
        if (ticking) return;
        ticking = true;
        try {
          // Every drop that happened before the packets now evaluated is in the ring: read it first.
          this.drainKernelDrops();
          if (!final) {
            const watermark = Math.max(this.lastTs, Date.now() - DELIVERY_SLACK_MS);
            pipeline.advance(watermark);
            this.coveredUntil = watermark - this.windowMs;
          }
          this.kernel.sampleCounters();
          if (!final) await this.sampleCapture(capture);
          if (Date.now() - lastRefresh >= INTERFACE_REFRESH_MS) {
            // Pods come and go: names are looked up afresh (an index seen before its name was known).
            const previous = binding.ifnameByIndex;
            binding.ifnameByIndex = readInterfaceIndexes();
            this.ifnameByIndex = binding.ifnameByIndex;
            binding.ifaceByIfindex = new Int32Array(0);
            for (const line of interfaceChanges(previous, binding.ifnameByIndex, operStates)) options.onNotice?.(line);
            learnOwnAddresses();
            lastRefresh = Date.now();
          }
          if (final || Date.now() - lastFlush >= flowInterval) {
            const records: FlowRecord[] = [];
            pipeline.flushFlows((r) => records.push(r));
            lastFlush = Date.now();
            if (records.length > 0) options.onFlows?.(records);
          }
          await options.onTick?.(this);
        } finally {
          ticking = false;
        }
      };
      // A tick that throws (a caller's onTick or onFlows, or a bug) fails run() like any other fault:
      // the capture is stopped, which ends the loop below, and everything is stopped on the way out.
      // (Left to the timer, the rejection would kill the process with the capture still running.)
      let tickError: { readonly error: unknown } | undefined;
      const failTick = (error: unknown): void => {
        if (tickError) return;
        tickError = { error };
        void started.capture?.stop();
      };
      started.timer = setInterval(() => void tick(false).catch(failTick), TICK_MS);
      started.timer.unref();
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) onAbort(); // stopped before we got here: never wait for a capture nobody stops
      // A capture that cannot start fails run() (unless it was stopped while starting: a clean stop).
      const captureReady = capture.ready.then(
        () => true,
        (e: unknown) => {
          if (!signal.aborted) throw e;
          return false;
        },
      );
      try {
        this.kernel.sampleCounters();
        if (await captureReady) options.onReady?.();
        while (await stream.pump()) {
          // Each pump parses one block of the capture; the timer judges.
        }
      } catch (e) {
        // Stopping the capture for a failed tick can break its stream (no header yet): the tick's
        // error is the one that says what went wrong.
        throw tickError ? tickError.error : e;
      } finally {
        clearInterval(started.timer);
        clearInterval(started.dropTimer);
        signal.removeEventListener('abort', onAbort);
      }
      if (tickError) throw tickError.error;
      const counters = await capture.stop();
      while (ticking) await new Promise((r) => setTimeout(r, 20));
      const last: FlowRecord[] = [];
      this.drainKernelDrops();
      pipeline.finish(this.lastTs, (r) => last.push(r));
      this.coveredUntil = this.lastTs;
      if (last.length > 0) options.onFlows?.(last);
      await tick(true);
      this.stopKernelMonitor();
      return counters;
    } catch (e) {
      clearInterval(started.timer);
      clearInterval(started.dropTimer);
      signal.removeEventListener('abort', onAbort);
      this.stopKernelMonitor();
      // Everything started is stopped together; a stop that fails must not hide why run() failed.
      await Promise.allSettled([started.stream?.close(), started.capture?.stop()]);
      while (ticking) await new Promise((r) => setTimeout(r, 20));
      throw e;
    }
  }
}

/**
 * What changed among the node's interfaces since the last look: one line per interface that
 * appeared, went away, or changed its operational state (a tunnel going down and up). Interfaces
 * are looked at every couple of seconds, so a shorter flap can pass unseen.
 */
function interfaceChanges(before: ReadonlyMap<number, string>, after: ReadonlyMap<number, string>, operStates: Map<string, string>): string[] {
  const lines: string[] = [];
  const beforeNames = new Set(before.values());
  const afterNames = new Set(after.values());
  const first = before.size === 0;
  for (const name of afterNames) {
    const state = readOperState(name);
    const was = operStates.get(name);
    operStates.set(name, state);
    if (first) continue;
    if (!beforeNames.has(name)) lines.push(`interface ${name} appeared (${state}); capturing it`);
    else if (was !== undefined && was !== state) lines.push(`interface ${name} is ${state} (was ${was})`);
  }
  for (const name of beforeNames) {
    if (afterNames.has(name)) continue;
    operStates.delete(name);
    lines.push(`interface ${name} went away; its packets seen so far are still judged`);
  }
  return lines;
}

function readOperState(name: string): string {
  try {
    return readFileSync(`/sys/class/net/${name}/operstate`, 'utf8').trim();
  } catch {
    return 'gone';
  }
}
