/**
 * Live drop events: each candidate an agent ships (with only its packets since the last tick) is
 * judged and explained by the same core as replay, then merged into the drop event of its id by
 * the one merge rule (core/merge/merge-drop.ts). The state lives in the store; a
 * bounded cache holds the states written lately, and the ids of a batch it does not hold are read
 * in one go before the batch is applied (one read per id would keep the ingest queue busy for tens
 * of seconds with a batch of thousands of new groups). Changes are prepared, written, and only then
 * committed to the cache, so a failed write leaves nothing half-applied.
 */
import { explainVanished, type ExplainedDrop } from '../../core/explain/explain-drop.js';
import type { JudgedCandidate } from '../../core/judge/judge-findings.js';
import { mergeDropEvents } from '../../core/merge/merge-drop.js';
import { storedHop } from '../ingest/from-wire.js';
import type { RowSource, StoredDrop } from '../store/storage.js';

const CACHE_LIMIT = 50_000;

export interface PreparedDrops {
  /** The new state of every drop event the batch touched, in the order first touched. */
  readonly drops: StoredDrop[];
  /** Ids of drop events seen for the first time. */
  readonly created: ReadonlySet<string>;
  /** Packets this batch added, per drop event id. */
  readonly added: ReadonlyMap<string, number>;
  /** Makes the prepared state current (call after the store accepted it). */
  commit(): void;
}

export class DropAccumulator {
  private readonly cache = new Map<string, StoredDrop>();

  /** `loadMany`: the stored state of each id that has one (Storage.getDrops); absent ids are new. */
  constructor(
    private readonly loadMany: (ids: readonly string[]) => Promise<ReadonlyMap<string, StoredDrop>>,
    private readonly now: () => number = Date.now,
  ) {}

  /** `batch`: the batch's key (agent|boot|sequence), recorded in each drop state it adds to. */
  prepare(vanished: readonly JudgedCandidate[], source: RowSource, batch: string): Promise<PreparedDrops> {
    return this.prepareExplained(vanished.map((j) => explainVanished(j)), source, batch);
  }

  /** Adds drop events explained already (transit losses found by stitching). */
  async prepareExplained(list: readonly ExplainedDrop[], source: RowSource, batch = ''): Promise<PreparedDrops> {
    const pending = new Map<string, StoredDrop>();
    const created = new Set<string>();
    const added = new Map<string, number>();
    const alreadyApplied = new Set<string>();
    // The stored state of every id the cache does not hold, in one read (the cache only changes on
    // commit, so what it holds now is what the loop below sees).
    const unseen = new Set<string>();
    for (const explained of list) if (!this.cache.has(explained.event.id)) unseen.add(explained.event.id);
    const loaded = unseen.size === 0 ? new Map<string, StoredDrop>() : await this.loadMany([...unseen]);
    for (const explained of list) {
      const id = explained.event.id;
      if (alreadyApplied.has(id)) continue;
      const inThisBatch = pending.get(id);
      const prev = inThisBatch ?? this.cache.get(id) ?? loaded.get(id);
      const now = this.now();
      if (!prev) {
        created.add(id);
        added.set(id, (added.get(id) ?? 0) + explained.event.packets);
        pending.set(id, { event: explained.event, path: explained.path.map(storedHop), source, updatedAtMs: now, lastBatch: batch });
        continue;
      }
      // The stored state already holds this batch: its write was cut after the drop rows and the
      // agent retried it. Its packets are counted once.
      if (!inThisBatch && batch !== '' && prev.lastBatch === batch) {
        alreadyApplied.add(id);
        added.set(id, 0);
        pending.set(id, prev);
        continue;
      }
      added.set(id, (added.get(id) ?? 0) + explained.event.packets);
      pending.set(id, {
        event: mergeDropEvents(prev.event, explained.event),
        path: prev.path.length > 0 ? prev.path : explained.path.map(storedHop),
        source: prev.source,
        // Versions must grow even when the wall clock does not (or steps back).
        updatedAtMs: Math.max(now, prev.updatedAtMs + 1),
        lastBatch: batch,
      });
    }
    return {
      drops: [...pending.values()],
      created,
      added,
      commit: () => {
        for (const [id, drop] of pending) {
          this.cache.delete(id);
          this.cache.set(id, drop);
        }
        while (this.cache.size > CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value as string);
      },
    };
  }
}
