/**
 * One agent batch, from decoded protobuf to stored rows: checked and converted into the node's
 * findings, and its candidates judged by the core (a bad batch is refused before it waits); then,
 * one batch at a time, deduplicated, explained into drop events, written, and only then
 * acknowledged; its tunnel hops and coverage go to the one cross-node stitcher. Batches wait in a
 * bounded queue; past it the caller answers "overloaded" and the agent retries later.
 */
import { ipProtoName } from '../../core/net/address.js';
import { DEFAULT_STITCHER_CONFIG, TunnelStitcher, type StitcherConfig } from '../../core/correlate/tunnel-stitcher.js';
import { explainTransitLoss } from '../../core/explain/explain-drop.js';
import type { NodeFindings } from '../../core/findings/node-findings.js';
import { judgeFindings, type JudgedCandidate, type JudgingStats } from '../../core/judge/judge-findings.js';
import type { WireBatch } from '../../schemas/wire-types.js';
import { DropAccumulator } from '../correlate/drop-accumulator.js';
import { dropEventId } from '../../core/explain/drop-event.js';
import type { BatchKey, RowSource, Storage, StoredAgentStatus, StoredDrop, StoredFlow, StoredPacket } from '../store/storage.js';
import { BatchDedup, batchKeyText } from './batch-dedup.js';
import {
  captureHealthFromWire,
  checkedAddress,
  checkKernelDrop,
  checkedName,
  findingsFromWire,
  flowFromWire,
  kernelDropTalliesFromWire,
  WireContentError,
  type KernelDropTally,
} from './from-wire.js';

/** The queue of batches waiting to be stored is full (429). */
export class IngestOverloadedError extends Error {
  override name = 'IngestOverloadedError';
}

export interface IngestResult {
  readonly outcome: 'stored' | 'duplicate';
  /** Drop events changed by this batch (new state). */
  readonly drops: readonly StoredDrop[];
  /** Ids among them seen for the first time. */
  readonly created: ReadonlySet<string>;
  /** Packets added per drop event id. */
  readonly added: ReadonlyMap<string, number>;
  readonly flows: number;
}

/** A batch checked and converted, not yet stored. */
export interface CheckedBatch {
  readonly key: BatchKey;
  readonly node: string;
  readonly source: RowSource;
  readonly flows: StoredFlow[];
  /** What the batch says its node's packets taught. */
  readonly findings: NodeFindings;
  /** Its candidates judged vanished (the others are counted in `judging`). */
  readonly vanished: JudgedCandidate[];
  readonly judging: JudgingStats;
  readonly packets: Omit<StoredPacket, 'dropId'>[];
  /** Parallel to packets: the drop id each belongs to. */
  readonly packetDropIds: string[];
  /** What the batch says about its agent; parts it leaves out keep their last known value. */
  readonly status: AgentStatusParts;
  /** Kernel drop events sent one by one (agents before issue 15; newer ones send tallies in status). */
  readonly kernelDrops: number;
  /** The node's interface addresses (with flow batches). */
  readonly addresses: string[] | undefined;
}

const MAX_SAMPLE_BYTES = 512;

/** Throws WireContentError with a one-line reason for a batch that makes no sense. */
export function checkBatch(batch: WireBatch, source: RowSource, receivedAtMs: number): CheckedBatch {
  const node = checkedName('node', batch.node);
  const agentId = checkedName('agent_id', batch.agent_id);
  const bootId = checkedName('boot_id', batch.boot_id);
  if (!Number.isSafeInteger(batch.sequence) || batch.sequence < 1) throw new WireContentError('sequence must be a positive integer');
  const findings = findingsFromWire(node, batch);
  const judged = judgeFindings(findings);
  batch.kernel_drops.forEach(checkKernelDrop);
  const packets: Omit<StoredPacket, 'dropId'>[] = [];
  const packetDropIds: string[] = [];
  // The packet samples of the candidates judged vanished: the ones that become drop events.
  const vanishedAt = new Set(judged.vanished.map((j) => j.candidate));
  batch.vanished.forEach((v, i) => {
    const bytes = v.first_bytes;
    const g = findings.candidates[i] as NodeFindings['candidates'][number];
    if (!bytes || bytes.length === 0 || !vanishedAt.has(g)) return;
    const id = g.identity;
    packetDropIds.push(dropEventId({ node, iface: g.iface, src: id.src, dst: id.dst, proto: ipProtoName(id.proto), sport: id.sport, dport: id.dport }));
    packets.push({
      node,
      iface: g.iface,
      tsMs: Math.round(v.first_bytes_ts_ms > 0 ? v.first_bytes_ts_ms : g.firstSeen),
      linkType: v.link_type & 0xffff,
      origLen: Math.max(v.first_orig_len, Math.min(bytes.length, MAX_SAMPLE_BYTES)),
      bytes: bytes.subarray(0, MAX_SAMPLE_BYTES),
    });
  });
  const status: AgentStatusParts = {
    node,
    agentId,
    bootId,
    receivedAtMs,
    capture: batch.capture ? captureHealthFromWire(batch.capture) : null,
    lossBatches: batch.loss?.batches_dropped ?? 0,
    lossBytes: batch.loss?.bytes_dropped ?? 0,
    interfaces: batch.status?.interfaces.slice(0, 4096).map((i) => ({ name: i.name.slice(0, 256), role: i.role.slice(0, 16), packets: i.packets, bytes: i.bytes })) ?? null,
    addresses: batch.status?.addresses.slice(0, 1024).map((a) => a.slice(0, 64)) ?? null,
    agentVersion: batch.status?.agent_version.slice(0, 64) ?? null,
    kernelDrops: batch.status ? kernelDropTalliesFromWire(batch.status.kernel_drops) : null,
  };
  return {
    key: { agentId, bootId, sequence: batch.sequence },
    node,
    source,
    flows: batch.flows.map((f) => flowFromWire(node, f, source)),
    findings,
    vanished: judged.vanished,
    judging: judged.stats,
    packets,
    packetDropIds,
    status,
    kernelDrops: batch.kernel_drops.length,
    addresses: batch.status?.addresses.slice(0, 1024).map((a) => checkedAddress('status address', a)),
  };
}

export interface AgentStatusParts {
  readonly node: string;
  readonly agentId: string;
  readonly bootId: string;
  readonly receivedAtMs: number;
  readonly capture: WireBatch['capture'] | null;
  /** Batches (and bytes) the agent's spools dropped since it started: a running total. */
  readonly lossBatches: number;
  readonly lossBytes: number;
  /** Sent with flow batches only: null in the others. */
  readonly interfaces: { name: string; role: string; packets: number; bytes: number }[] | null;
  readonly addresses: string[] | null;
  readonly agentVersion: string | null;
  /** The kernel's drops per reason and interface since the agent started; with flow batches only. */
  readonly kernelDrops: readonly KernelDropTally[] | null;
}

/**
 * The agent's status as `/api/v1/nodes` shows it: interfaces, addresses and kernel drop tallies from
 * its last batch that had them (agents send them every flow interval), spool losses as the highest
 * running total of the boot.
 */
export function mergeAgentStatus(prev: AgentStatusParts | undefined, next: AgentStatusParts): AgentStatusParts {
  const sameBoot = prev !== undefined && prev.agentId === next.agentId && prev.bootId === next.bootId;
  return {
    ...next,
    // Agents send running totals per boot; batches can arrive out of order (spool, retries).
    lossBatches: Math.max(next.lossBatches, sameBoot ? prev.lossBatches : 0),
    lossBytes: Math.max(next.lossBytes, sameBoot ? prev.lossBytes : 0),
    interfaces: next.interfaces ?? prev?.interfaces ?? null,
    addresses: next.addresses ?? prev?.addresses ?? null,
    agentVersion: next.agentVersion ?? prev?.agentVersion ?? null,
    kernelDrops: next.kernelDrops ?? prev?.kernelDrops ?? null,
  };
}

function storedStatus(s: AgentStatusParts): StoredAgentStatus {
  const statusJson = JSON.stringify({
    capture: s.capture,
    loss: { batches_dropped: s.lossBatches, bytes_dropped: s.lossBytes },
    interfaces: s.interfaces,
    addresses: s.addresses,
    agentVersion: s.agentVersion,
    kernelDrops: s.kernelDrops,
  });
  return { node: s.node, agentId: s.agentId, bootId: s.bootId, lastBatchMs: s.receivedAtMs, statusJson };
}

export interface BatchIngestOptions {
  /** Batches allowed to wait for storage before new ones are refused (default 64). */
  readonly maxQueued?: number;
  /**
   * Records (flows, vanished groups, packet samples, cross-node hops) allowed to wait for storage
   * (default 400,000, some 400 MB of heap): 64 batches of the largest size would hold ~11 GB. A
   * batch larger than this on its own is still taken when nothing waits, or it could never be stored.
   */
  readonly maxQueuedRecords?: number;
  readonly now?: () => number;
  readonly stitcher?: StitcherConfig;
}

export class BatchIngest {
  private tail: Promise<unknown> = Promise.resolve();
  private queued = 0;
  private queuedRecords = 0;
  private readonly maxQueuedRecords: number;
  private readonly accumulator: DropAccumulator;
  private readonly dedup: BatchDedup;
  private readonly maxQueued: number;
  private readonly now: () => number;
  readonly stitcher: TunnelStitcher;
  private readonly agentStatus = new Map<string, AgentStatusParts>();
  readonly stats = {
    stored: 0,
    duplicates: 0,
    refusedOverloaded: 0,
    failed: 0,
    flows: 0,
    vanishedGroups: 0,
    kernelDrops: 0,
    /** Candidate packets by what they were judged to be. */
    vanishedPackets: 0,
    unobservedPackets: 0,
    localPackets: 0,
    leftPackets: 0,
  };

  constructor(
    private readonly storage: Storage,
    options: BatchIngestOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.maxQueued = options.maxQueued ?? 64;
    this.maxQueuedRecords = options.maxQueuedRecords ?? 400_000;
    this.accumulator = new DropAccumulator((ids) => storage.getDrops(ids), this.now);
    this.dedup = new BatchDedup((key) => storage.hasBatch(key));
    this.stitcher = new TunnelStitcher(options.stitcher ?? DEFAULT_STITCHER_CONFIG);
  }

  /**
   * Judges the cross-node departures held long enough and stores the transit losses as drop
   * events (through the same queue as batches). Resolves with what it stored.
   */
  expireTransit(): Promise<IngestResult> {
    const run = this.tail.then(async (): Promise<IngestResult> => {
      const lost = this.stitcher.expire(this.now());
      if (lost.length === 0) return { outcome: 'stored', drops: [], created: new Set(), added: new Map(), flows: 0 };
      const prepared = await this.accumulator.prepareExplained(lost.map(explainTransitLoss), 'live');
      await this.storage.write({ flows: [], drops: prepared.drops, packets: [] });
      prepared.commit();
      return { outcome: 'stored', drops: prepared.drops, created: prepared.created, added: prepared.added, flows: 0 };
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  /**
   * Each node's status from the agent that reported for it last, as received since this collector
   * started (what the per-node metrics read: the store's copy is a query away, and a scrape must not
   * wait on storage).
   */
  latestStatusByNode(): Map<string, AgentStatusParts> {
    const byNode = new Map<string, AgentStatusParts>();
    for (const status of this.agentStatus.values()) {
      const held = byNode.get(status.node);
      if (!held || status.receivedAtMs > held.receivedAtMs) byNode.set(status.node, status);
    }
    return byNode;
  }

  get queueLength(): number {
    return this.queued;
  }

  /** Stores a checked batch once; rejects with IngestOverloadedError when the queue is full. */
  submit(batch: CheckedBatch): Promise<IngestResult> {
    const records = batch.flows.length + batch.findings.candidates.length + batch.packets.length + batch.findings.departures.length + batch.findings.arrivals.length;
    if (this.full || (this.queued > 0 && this.queuedRecords + records > this.maxQueuedRecords)) {
      this.stats.refusedOverloaded++;
      return Promise.reject(new IngestOverloadedError(`${this.queued} batches (${this.queuedRecords} records) are waiting for storage`));
    }
    this.queued++;
    this.queuedRecords += records;
    const run = this.tail.then(() => this.process(batch));
    this.tail = run.catch(() => undefined);
    return run.finally(() => {
      this.queued--;
      this.queuedRecords -= records;
    });
  }

  /** No batch can be taken now (checked before a body is decoded, to spare the work). */
  get full(): boolean {
    return this.queued >= this.maxQueued || this.queuedRecords >= this.maxQueuedRecords;
  }

  private async process(b: CheckedBatch): Promise<IngestResult> {
    if (await this.dedup.seen(b.key)) {
      this.stats.duplicates++;
      return { outcome: 'duplicate', drops: [], created: new Set(), added: new Map(), flows: 0 };
    }
    try {
      return await this.dedup.storing(b.key, async () => {
        const prepared = await this.accumulator.prepare(b.vanished, b.source, batchKeyText(b.key));
        const status = mergeAgentStatus(this.agentStatus.get(b.key.agentId), b.status);
        const packets: StoredPacket[] = b.packets.map((p, i) => ({ ...p, dropId: b.packetDropIds[i] as string }));
        await this.storage.write({
          batch: { ...b.key, node: b.node, receivedAtMs: this.now() },
          flows: b.flows,
          drops: prepared.drops,
          packets,
          agentStatus: storedStatus(status),
        });
        prepared.commit();
        this.agentStatus.set(b.key.agentId, status);
        if (b.addresses && b.addresses.length > 0) this.stitcher.setAddresses(b.node, b.addresses);
        this.stitcher.add(b.findings, this.now());
        this.stats.stored++;
        this.stats.flows += b.flows.length;
        this.stats.vanishedGroups += b.vanished.length;
        this.stats.kernelDrops += b.kernelDrops;
        this.stats.vanishedPackets += b.judging.vanishedPackets;
        this.stats.unobservedPackets += b.judging.unobservedPackets;
        this.stats.localPackets += b.judging.localPackets;
        this.stats.leftPackets += b.judging.leftPackets;
        return { outcome: 'stored' as const, drops: prepared.drops, created: prepared.created, added: prepared.added, flows: b.flows.length };
      });
    } catch (e) {
      this.stats.failed++;
      throw e;
    }
  }
}
