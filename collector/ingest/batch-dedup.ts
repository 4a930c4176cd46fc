/**
 * Agents retry a batch until it is acknowledged, so the same (agent id, boot id, sequence) can
 * arrive twice: after a lost answer, or while the first copy is still being stored. Recent keys
 * are remembered here; older ones are asked of the store, which records every stored key.
 */
import type { BatchKey } from '../store/storage.js';

const RECENT_LIMIT = 200_000;

export function batchKeyText(k: BatchKey): string {
  return `${k.agentId}\u0000${k.bootId}\u0000${k.sequence}`;
}

export class BatchDedup {
  private readonly recent = new Set<string>();
  private readonly inFlight = new Map<string, Promise<unknown>>();

  constructor(private readonly storedBefore: (key: BatchKey) => Promise<boolean>) {}

  /** The store of a copy of this batch still in progress, if any (wait for it, then ask again). */
  inProgress(key: BatchKey): Promise<unknown> | undefined {
    return this.inFlight.get(batchKeyText(key));
  }

  async seen(key: BatchKey): Promise<boolean> {
    return this.recent.has(batchKeyText(key)) || (await this.storedBefore(key));
  }

  /** Runs `store` for a batch not seen before, remembering the key once it succeeded. */
  async storing<T>(key: BatchKey, store: () => Promise<T>): Promise<T> {
    const text = batchKeyText(key);
    const run = store();
    this.inFlight.set(text, run);
    try {
      const result = await run;
      this.recent.add(text);
      if (this.recent.size > RECENT_LIMIT) this.recent.delete(this.recent.values().next().value as string);
      return result;
    } finally {
      this.inFlight.delete(text);
    }
  }
}
