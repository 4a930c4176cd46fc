/**
 * The agent: a live node whose findings are shipped to collectors. Healthy traffic travels as flow
 * records (one batch per flow interval); each vanished group travels in full, with its path and
 * the kernel's evidence, to the collector its first packet's fingerprint chooses (rendezvous), again
 * whenever it grows; the kernel's drop events ride with the flows. Every batch carries
 * (agent id, boot id, sequence) so a collector stores a retried one once.
 */
import { randomUUID, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { gzipSync } from 'node:zlib';
import type { LiveCaptureOptions } from '../capture/live-capture.js';
import { wireFlow, wireKernelDrop, wireVanished } from '../ship/batch-builder.js';
import { BatchShipper, type ShipperStats } from '../ship/shipper.js';
import { encodeBatch } from '../../schemas/wire-codec.js';
import type { WireBatch, WireFlowRecord, WireKernelDrop, WireNodeStatus } from '../../schemas/wire-types.js';
import { interfaceAddresses } from '../capture/interface-addresses.js';
import { PATHWATCH_VERSION } from '../util/version.js';
import { createAgentMetrics, serveMetrics } from './agent-metrics.js';
import { LiveNode } from './live-node.js';
import { CrossNodeReporter, DEFAULT_CROSS_NODE_SAMPLE } from './cross-node-reporter.js';

export interface AgentOptions {
  readonly node: string;
  readonly collectors: readonly string[];
  readonly tokenFile?: string;
  /** PEM CA certificate(s) that https:// collectors must chain to (default: the system's trust store). */
  readonly caFile?: string;
  readonly spoolDir: string;
  readonly spoolMaxBytes: number;
  readonly windowMs?: number;
  readonly flowIntervalMs?: number;
  readonly capture?: LiveCaptureOptions;
  readonly acceptInterface?: (name: string) => boolean;
  readonly onReady?: () => void;
  readonly log: (line: string) => void;
  /** Serve Prometheus metrics on HOST:PORT. */
  readonly metricsListen?: string;
  /** Keep one packet in N, chosen by fingerprint so every hop and node keeps the same ones. */
  readonly sampleOneIn?: number;
  /** Report one encapsulated packet in N for cross-node stitching (default 1024; 0: none). */
  readonly crossNodeSampleOneIn?: number;
}

export interface AgentSummary {
  readonly packets: number;
  readonly batches: number;
  readonly vanishedGroups: number;
  readonly shipper: ShipperStats;
}

/** At most this many kernel drop events per batch (the rest are counted, not sent one by one). */
const MAX_DROPS_PER_BATCH = 10_000;

/** A stable id for this machine: /etc/machine-id where there is one, else the host name. */
export function agentId(node: string): string {
  let base = hostname();
  try {
    base = readFileSync('/etc/machine-id', 'utf8').trim() || base;
  } catch {
    // no machine id: the host name stands in
  }
  return createHash('sha256').update(`${base}|${node}`).digest('hex').slice(0, 16);
}

export async function runAgent(options: AgentOptions, signal: AbortSignal): Promise<AgentSummary> {
  const identity = { agent_id: agentId(options.node), boot_id: randomUUID(), node: options.node };
  const shipper = new BatchShipper({
    targets: options.collectors,
    ...(options.tokenFile ? { tokenFile: options.tokenFile } : {}),
    ...(options.caFile ? { caFile: options.caFile } : {}),
    spoolDir: options.spoolDir,
    spoolMaxBytes: options.spoolMaxBytes,
    timeoutMs: 5000,
    log: options.log,
    // Flow records compress about 4x (measured by bench/wire-budget.ts): the wire budget needs it.
    contentEncoding: 'gzip',
  });
  let sequence = 0;
  let batches = 0;
  let flows: WireFlowRecord[] = [];
  let drops: WireKernelDrop[] = [];
  let droppedKernelEvents = 0;
  const shipped = new Map<string, number>();
  let live: LiveNode | undefined;

  const batch = (parts: Partial<WireBatch>): WireBatch => {
    const lost = shipper.lossSoFar();
    const loss = { batches_dropped: lost.batches, bytes_dropped: lost.bytes };
    const stats = live?.pipeline.matchers[0]?.stats;
    return {
      ...identity,
      sequence: ++sequence,
      sent_at_ms: Date.now(),
      source: '',
      flows: [],
      vanished: [],
      kernel_drops: [],
      cross_node: [],
      capture: {
        received: live?.captureCounters.received ?? 0,
        dropped_by_kernel: live?.captureCounters.dropped ?? 0,
        dropped_by_interface: 0,
        ebpf_monitor: live?.kernel.monitoring ?? false,
        ebpf_unavailable_reason: live?.ebpfUnavailable ?? '',
        truncated_unjudged: stats?.truncatedUnjudged ?? 0,
      },
      loss,
      ...parts,
    };
  };
  const send = (b: WireBatch, routingKey?: string): void => {
    shipper.enqueue(gzipSync(encodeBatch(b), { level: 6 }), { sequence: b.sequence, ...(routingKey ? { routingKey } : {}) });
    batches++;
  };
  const status = (): WireNodeStatus => {
    const pipeline = live?.pipeline;
    const interfaces = (pipeline?.registry.interfaces ?? []).map((i) => ({
      name: i.name,
      role: i.role,
      packets: pipeline?.interfacePackets[i.id] ?? 0,
      bytes: pipeline?.interfaceBytes[i.id] ?? 0,
    }));
    const addresses = [...new Set([...interfaceAddresses().values()].flat())];
    return { interfaces, addresses, agent_version: PATHWATCH_VERSION };
  };
  const crossNodeSample = options.crossNodeSampleOneIn ?? DEFAULT_CROSS_NODE_SAMPLE;
  const crossNode = crossNodeSample > 0 ? new CrossNodeReporter() : undefined;
  const shipFlows = (): void => {
    const hops = crossNode?.take() ?? [];
    if (flows.length === 0 && drops.length === 0 && hops.length === 0) return;
    send(batch({ flows, kernel_drops: drops, cross_node: hops, status: status() }));
    flows = [];
    drops = [];
  };

  shipper.start();
  // From here on, a failure (the metrics port is taken, the capture cannot start) stops the shipper
  // and the metrics server: neither runs on for an agent that gave up.
  let metricsServer: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  try {
    metricsServer = options.metricsListen ? await serveMetrics(createAgentMetrics({ live: () => live, shipper }), options.metricsListen) : undefined;
    live = new LiveNode({
      ...(options.sampleOneIn && options.sampleOneIn > 1 ? { sampleOneIn: options.sampleOneIn } : {}),
      ...(crossNode ? { crossNode: { sink: crossNode, sampleOneIn: crossNodeSample } } : {}),
      node: options.node,
      ...(options.windowMs !== undefined ? { windowMs: options.windowMs } : {}),
      flowIntervalMs: options.flowIntervalMs ?? 10_000,
      ...(options.capture ? { capture: options.capture } : {}),
      ...(options.acceptInterface ? { acceptInterface: options.acceptInterface } : {}),
      ...(options.onReady ? { onReady: options.onReady } : {}),
      onNotice: (m) => options.log(m),
      onFlows: (records) => {
        for (const r of records) flows.push(wireFlow(r));
        shipFlows();
      },
      onKernelDrop: (d) => {
        if (drops.length < MAX_DROPS_PER_BATCH) drops.push(wireKernelDrop(d));
        else droppedKernelEvents++;
      },
      onTick: (node) => {
        // Vanished groups travel as soon as they are judged, and again when they grow.
        for (const v of node.judged().vanished) {
          const g = v.group;
          const before = shipped.get(g.key) ?? 0;
          if (before === g.packets) continue;
          shipped.set(g.key, g.packets);
          // `packets` counts only what is new since the group was last shipped, so the collector adds
          // it up without remembering agents' groups (a retried batch is dropped by its sequence).
          send(batch({ vanished: [{ ...wireVanished(v, node.kernel.evidenceFor(g)), packets: g.packets - before }] }), g.fingerprints[0]);
        }
        if (drops.length >= MAX_DROPS_PER_BATCH) shipFlows();
      },
    });
    await live.run(signal);
  } finally {
    shipFlows();
    if (droppedKernelEvents > 0) options.log(`${droppedKernelEvents} kernel drop events beyond ${MAX_DROPS_PER_BATCH} per batch were not sent one by one`);
    await shipper.stop({ flushMs: 3000 });
    metricsServer?.close();
  }
  return { packets: live.pipeline.stats.records, batches, vanishedGroups: shipped.size, shipper: shipper.stats };
}
