/**
 * The agent: a live node whose findings are shipped to collectors, which judge them. Every tick the
 * node's findings are taken (only what is new since the last tick, so nothing here grows with
 * time): each vanish candidate travels at once, with its path, the kernel's evidence and the
 * knowledge needed to judge it, to the collector its first packet's fingerprint chooses
 * (rendezvous); the collector adds up a group's parts by drop id. Healthy traffic travels as flow
 * records, one batch per flow interval, sent even when there are none: with it go the kernel's drop
 * events, the sampled tunnel hops, the counters, the capture's losses and how far the node's packets
 * are accounted for, which cross-node stitching needs from quiet nodes most. Every batch carries
 * (agent id, boot id, sequence) so a collector stores a retried one once.
 */
import { randomUUID, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { gzipSync } from 'node:zlib';
import type { LiveCaptureOptions } from '../capture/live-capture.js';
import { wireCandidate, wireCaptureLoss, wireCounters, wireFlow, wireKnowledge, wireTunnelHops } from '../ship/batch-builder.js';
import { BatchShipper, type ShipperStats } from '../ship/shipper.js';
import { wireBatch } from '../../schemas/wire-batch.js';
import { encodeBatch } from '../../schemas/wire-codec.js';
import type { WireBatch, WireFlowRecord, WireNodeStatus } from '../../schemas/wire-types.js';
import { interfaceAddresses } from '../capture/interface-addresses.js';
import { PATHWATCH_VERSION } from '../util/version.js';
import { addCounters, emptyCounters, type CaptureLossSpan, type TunnelArrival, type TunnelDeparture } from '../../core/findings/node-findings.js';
import { knowledgeExcerpt } from '../../core/findings/knowledge-excerpt.js';
import { createAgentMetrics, serveMetrics } from './agent-metrics.js';
import { LiveNode } from './live-node.js';

/** One in this many packets (default) reports its tunnel hops: ~100 hops/s at 100k encapsulated packets/s. */
export const DEFAULT_CROSS_NODE_SAMPLE = 1024;
/** At most this many tunnel hops per flow batch (the rest are counted). */
const MAX_TUNNEL_HOPS_PER_BATCH = 5000;

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
  /** Vanish candidates shipped (a group that grows over several ticks counts once per tick). */
  readonly vanishedGroups: number;
  readonly shipper: ShipperStats;
}


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
  let candidatesShipped = 0;
  // What the next flow batch carries besides flows: gathered from each tick's findings.
  let departures: TunnelDeparture[] = [];
  let arrivals: TunnelArrival[] = [];
  let droppedTunnelHops = 0;
  let counters = emptyCounters();
  let coveredUntil = 0;
  let ownAddresses: readonly string[] = [];
  let coversAll = false;
  let lossSentUntil = -Infinity;
  let newLoss: CaptureLossSpan[] = [];
  let lastFlowBatchAt = Date.now();
  /** Once the capture runs, the node's coverage is news for the collector, even with no flows. */
  let capturing = false;
  let live: LiveNode | undefined;

  const batch = (parts: Partial<WireBatch>): WireBatch => {
    const lost = shipper.lossSoFar();
    const loss = { batches_dropped: lost.batches, bytes_dropped: lost.bytes };
    return wireBatch(
      { ...identity, sequence: ++sequence, sent_at_ms: Date.now() },
      {
        capture: {
          received: live?.captureCounters.received ?? 0,
          dropped_by_kernel: live?.captureCounters.dropped ?? 0,
          dropped_by_interface: 0,
          ebpf_monitor: live?.kernel.monitoring ?? false,
          ebpf_unavailable_reason: live?.ebpfUnavailable ?? '',
          truncated_unjudged: live?.totals.truncatedUnjudged ?? 0,
          ebpf_events_lost: live?.kernelEventsLost ?? 0,
        },
        loss,
        covers_all_interfaces: coversAll,
        ...parts,
      },
    );
  };
  const send = (b: WireBatch, routingKey?: string): void => {
    shipper.enqueue(gzipSync(encodeBatch(b), { level: 6 }), { sequence: b.sequence, ...(routingKey ? { routingKey } : {}) });
    batches++;
  };
  const status = (): WireNodeStatus => {
    const pipeline = live?.pipeline;
    // Each read of the engine's counters copies them out of it: once per status.
    const packets = pipeline?.interfacePackets;
    const bytes = pipeline?.interfaceBytes;
    const interfaces = (pipeline?.registry.interfaces ?? []).map((i) => ({
      name: i.name,
      role: i.role,
      packets: packets?.[i.id] ?? 0,
      bytes: bytes?.[i.id] ?? 0,
    }));
    const addresses = [...new Set([...interfaceAddresses().values()].flat())];
    return { interfaces, addresses, agent_version: PATHWATCH_VERSION, kernel_drops: live?.kernelDropTallies() ?? [] };
  };
  const shipFlows = (): void => {
    send(
      batch({
        flows,
        kernel_drops: [],
        cross_node: wireTunnelHops(departures, arrivals),
        counters: wireCounters(counters),
        capture_loss: wireCaptureLoss(newLoss),
        covered_until_ms: Math.max(0, coveredUntil),
        knowledge: { own_addresses: [...ownAddresses], locations: [], exits: [], own_macs: [] },
        status: status(),
      }),
    );
    flows = [];
    departures = [];
    arrivals = [];
    counters = emptyCounters();
    newLoss = [];
    lastFlowBatchAt = Date.now();
  };
  const flowIntervalMs = options.flowIntervalMs ?? 10_000;

  shipper.start();
  // From here on, a failure (the metrics port is taken, the capture cannot start) stops the shipper
  // and the metrics server: neither runs on for an agent that gave up.
  let metricsServer: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  try {
    metricsServer = options.metricsListen ? await serveMetrics(createAgentMetrics({ live: () => live, shipper }), options.metricsListen) : undefined;
    live = new LiveNode({
      ...(options.sampleOneIn && options.sampleOneIn > 1 ? { sampleOneIn: options.sampleOneIn } : {}),
      tunnelHopSampleOneIn: options.crossNodeSampleOneIn ?? DEFAULT_CROSS_NODE_SAMPLE,
      node: options.node,
      ...(options.windowMs !== undefined ? { windowMs: options.windowMs } : {}),
      flowIntervalMs,
      ...(options.capture ? { capture: options.capture } : {}),
      ...(options.acceptInterface ? { acceptInterface: options.acceptInterface } : {}),
      onReady: () => {
        capturing = true;
        options.onReady?.();
      },
      onNotice: (m) => options.log(m),
      onFlows: (records) => {
        for (const r of records) flows.push(wireFlow(r));
      },
      onTick: async (node) => {
        const f = await node.takeFindings();
        coversAll = f.coversAllInterfaces;
        // Candidates travel at once, each with what judging it needs; `packets` counts only this
        // tick's, so the collector adds them up by drop id (a retried batch is dropped by its sequence).
        for (const c of f.candidates) {
          send(
            batch({ vanished: [wireCandidate(c)], knowledge: wireKnowledge(knowledgeExcerpt(f.knowledge, [c])), capture_loss: wireCaptureLoss(f.captureLoss) }),
            c.fingerprints[0],
          );
          candidatesShipped++;
        }
        for (const d of f.departures) if (departures.length + arrivals.length < MAX_TUNNEL_HOPS_PER_BATCH) departures.push(d); else droppedTunnelHops++;
        for (const a of f.arrivals) if (departures.length + arrivals.length < MAX_TUNNEL_HOPS_PER_BATCH) arrivals.push(a); else droppedTunnelHops++;
        addCounters(counters, f.counters);
        coveredUntil = f.coveredUntil;
        ownAddresses = f.knowledge.ownAddresses;
        for (const span of f.captureLoss) {
          if (span.until <= lossSentUntil) continue;
          newLoss.push(span);
          lossSentUntil = span.until;
        }
        if (Date.now() - lastFlowBatchAt >= flowIntervalMs) shipFlows();
      },
    });
    await live.run(signal);
  } finally {
    if (capturing) shipFlows();
    if (droppedTunnelHops > 0) options.log(`${droppedTunnelHops} tunnel hops beyond ${MAX_TUNNEL_HOPS_PER_BATCH} per batch were not sent for stitching`);
    await shipper.stop({ flushMs: 3000 });
    metricsServer?.close();
  }
  return { packets: live.pipeline.stats.records, batches, vanishedGroups: candidatesShipped, shipper: shipper.stats };
}
