/**
 * The one place replay chooses its per-packet engine: the native pipeline (native/engine, issue 14)
 * by default, or the TypeScript SightingPipeline, kept for now as the reference the native one is
 * proven identical to (test/native/pipeline-differential.test.ts) and for comparison: the option
 * `engine`, else PATHWATCH_REPLAY_ENGINE=typescript.
 */
import type { DecodeEventCounters } from '../../agent/decode/decode-events.js';
import type { FlowRecord } from '../../core/findings/flow-record.js';
import type { NodeFindings, NodeKnowledgeFacts, VanishCandidate } from '../../core/findings/node-findings.js';
import type { CaptureRecord } from '../../agent/capture/capture-record.js';
import type { InterfaceRegistry, NodeInfo } from '../../agent/flow/interface-registry.js';
import { SightingPipeline, type CaptureBinding, type PipelineStats, type SightingPipelineConfig } from '../../agent/flow/sighting-pipeline.js';
import { NativeSightingPipeline } from '../../agent/native/native-sighting-pipeline.js';
import type { CatalogFlowTable } from './flow-catalog.js';

export type ReplayEngine = 'native' | 'typescript';

/** A node's matcher as replay drives it. */
export interface ReplayMatcher {
  readonly node: NodeInfo;
  expire(watermark: number): void;
  expireAll(endTs: number): void;
  takeFindings(coveredUntil: number): NodeFindings;
  knowledgeFor(candidates: readonly VanishCandidate[]): NodeKnowledgeFacts;
}

/** What replay uses of a sighting pipeline. */
export interface ReplayPipeline {
  readonly registry: InterfaceRegistry;
  readonly matchers: readonly (ReplayMatcher | undefined)[];
  readonly flows: CatalogFlowTable & { readonly stats: { readonly flows: number; readonly records: number } };
  readonly stats: PipelineStats;
  readonly interfacePackets: Float64Array;
  readonly interfaceBytes: Float64Array;
  readonly decoder: { readonly events: DecodeEventCounters };
  onRecord(record: CaptureRecord, binding: CaptureBinding): void;
  flushFlows(onRecord?: (record: FlowRecord, slot: number) => void): void;
}

export function replayEngine(requested?: ReplayEngine): ReplayEngine {
  return requested ?? (process.env.PATHWATCH_REPLAY_ENGINE === 'typescript' ? 'typescript' : 'native');
}

export function createReplayPipeline(registry: InterfaceRegistry, config: SightingPipelineConfig, engine: ReplayEngine): ReplayPipeline {
  return engine === 'native' ? new NativeSightingPipeline(registry, config) : new SightingPipeline(registry, config);
}
