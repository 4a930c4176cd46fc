/**
 * `pathwatch replay --collector URL`: the replay's findings go into a running collector, where
 * they are stored and shown like live data, marked as coming from a replay. What is sent is what a
 * live agent sends (each node's vanish candidates with their packets' headers and the knowledge to
 * judge them, flow records), so the collector judges and explains both with the same code as the
 * replay itself; each replay is one "agent boot" with its own id, so sending the same file twice
 * stores it twice, while a retried batch is stored once.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FlowRecord } from '../../core/findings/flow-record.js';
import { wireCandidate, wireCounters, wireFlow, wireKnowledge } from '../../agent/ship/batch-builder.js';
import { knowledgeExcerpt } from '../../core/findings/knowledge-excerpt.js';
import type { NodeFindings } from '../../core/findings/node-findings.js';
import { BatchShipper } from '../../agent/ship/shipper.js';
import { wireBatch } from '../../schemas/wire-batch.js';
import { encodeBatch } from '../../schemas/wire-codec.js';
import type { WireBatch } from '../../schemas/wire-types.js';

/** Records per batch: keeps every POST far below the collector's 16 MiB body limit. */
const FLOWS_PER_BATCH = 20_000;
const VANISHED_PER_BATCH = 500;

export interface ReplayUploadOptions {
  readonly collector: string;
  readonly tokenFile?: string;
  /** PEM CA certificate(s) for an https:// collector (default: the system's trust store). */
  readonly caFile?: string;
  /** How long to keep trying to deliver (default 60 s). */
  readonly deadlineMs?: number;
  readonly log: (line: string) => void;
}

export interface ReplayUploadResult {
  readonly batches: number;
  readonly delivered: number;
}

export class ReplayUploadError extends Error {
  override name = 'ReplayUploadError';
}

export async function uploadReplay(findings: readonly NodeFindings[], flows: readonly FlowRecord[], o: ReplayUploadOptions): Promise<ReplayUploadResult> {
  const bootId = randomUUID();
  const agentId = `replay@${hostname()}`;
  const nodes = new Set<string>([...findings.map((f) => f.node), ...flows.map((f) => f.node)]);
  const batches: WireBatch[] = [];
  let sequence = 0;
  const batch = (node: string, parts: Partial<WireBatch>): WireBatch =>
    wireBatch({ agent_id: agentId, boot_id: bootId, sequence: ++sequence, node, sent_at_ms: Date.now() }, { source: 'replay', ...parts });

  for (const node of nodes) {
    const f = findings.find((x) => x.node === node);
    const candidates = f?.candidates ?? [];
    for (let i = 0; f && i < candidates.length; i += VANISHED_PER_BATCH) {
      const part = candidates.slice(i, i + VANISHED_PER_BATCH);
      batches.push(
        batch(node, {
          vanished: part.map(wireCandidate),
          knowledge: wireKnowledge(knowledgeExcerpt(f.knowledge, part)),
          covers_all_interfaces: f.coversAllInterfaces,
          ...(i === 0 ? { counters: wireCounters(f.counters) } : {}),
        }),
      );
    }
    const nodeFlows = flows.filter((f) => f.node === node);
    for (let i = 0; i < nodeFlows.length; i += FLOWS_PER_BATCH) {
      batches.push(batch(node, { flows: nodeFlows.slice(i, i + FLOWS_PER_BATCH).map(wireFlow) }));
    }
  }
  if (batches.length === 0) return { batches: 0, delivered: 0 };
  const spoolDir = mkdtempSync(join(tmpdir(), 'pathwatch-replay-spool-'));
  const shipper = new BatchShipper({
    targets: [o.collector],
    ...(o.tokenFile ? { tokenFile: o.tokenFile } : {}),
    ...(o.caFile ? { caFile: o.caFile } : {}),
    spoolDir,
    spoolMaxBytes: 1 << 30,
    timeoutMs: 30_000,
    contentEncoding: 'gzip',
    log: o.log,
  });
  try {
    for (const b of batches) shipper.enqueue(gzipSync(encodeBatch(b)), { sequence: b.sequence });
    shipper.start();
    await shipper.stop({ flushMs: o.deadlineMs ?? 60_000 });
    const delivered = shipper.stats.sent;
    if (delivered < batches.length) {
      const state = shipper.stats.targets[0];
      throw new ReplayUploadError(`the collector at ${o.collector} took ${delivered} of ${batches.length} batches${state?.lastError ? ` (${state.lastError})` : ''}`);
    }
    return { batches: batches.length, delivered };
  } finally {
    rmSync(spoolDir, { recursive: true, force: true });
  }
}
