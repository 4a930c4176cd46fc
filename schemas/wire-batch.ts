/**
 * A batch with every field the codec reads back set to its default, so that code building batches
 * (the agent, `replay --collector`, tests, benchmarks) names only what it sends.
 */
import type { WireBatch } from './wire-types.js';

/** The batch's identity (agent, boot, sequence), its node and send time. */
export type WireBatchHead = Pick<WireBatch, 'agent_id' | 'boot_id' | 'sequence' | 'node' | 'sent_at_ms'>;

export function wireBatch(head: WireBatchHead, parts: Partial<Omit<WireBatch, keyof WireBatchHead>> = {}): WireBatch {
  return {
    ...head,
    source: '',
    flows: [],
    vanished: [],
    kernel_drops: [],
    cross_node: [],
    capture_loss: [],
    covered_until_ms: 0,
    covers_all_interfaces: false,
    ...parts,
  };
}
