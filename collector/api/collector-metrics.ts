/**
 * The collector's Prometheus metrics (`GET /metrics`), read from its parts when scraped.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { scrapedMetrics } from '../../agent/util/scraped-metrics.js';
import type { AlertRules } from '../alert/alert-rules.js';
import type { AlertSender } from '../alert/alert-senders.js';
import type { BatchIngest } from '../ingest/batch-ingest.js';
import type { DropEventHub } from './drop-event-hub.js';

export interface CollectorMetricsSources {
  readonly ingest: BatchIngest;
  readonly hub: DropEventHub;
  readonly alerts: AlertRules;
  readonly sender: AlertSender | undefined;
  /** Ingest answers by status class, counted by the server. */
  readonly answers: Readonly<Record<string, number>>;
  readonly storageUp: () => boolean;
}

export function createCollectorMetrics(s: CollectorMetricsSources): Registry {
  const registry = new Registry();
  const { counter, gauge } = scrapedMetrics(registry);
  counter('pathwatch_collector_batches_stored_total', 'Agent batches stored.', () => s.ingest.stats.stored);
  counter('pathwatch_collector_batches_duplicate_total', 'Retried batches recognised and not stored again.', () => s.ingest.stats.duplicates);
  counter('pathwatch_collector_batches_overloaded_total', 'Batches refused because the storage queue was full (429).', () => s.ingest.stats.refusedOverloaded);
  counter('pathwatch_collector_batches_failed_total', 'Batches whose storage failed (503).', () => s.ingest.stats.failed);
  counter('pathwatch_collector_flows_total', 'Flow records stored.', () => s.ingest.stats.flows);
  counter('pathwatch_collector_vanished_groups_total', 'Vanished packet groups received.', () => s.ingest.stats.vanishedGroups);
  counter('pathwatch_collector_kernel_drops_total', 'Kernel drop events received one by one (older agents sent them; newer ones send tallies in their status).', () => s.ingest.stats.kernelDrops);
  // What the candidates agents ship (packets that arrived and were not seen leaving) were judged to be.
  counter('pathwatch_collector_candidate_packets_vanished_total', 'Candidate packets judged vanished (drop events).', () => s.ingest.stats.vanishedPackets);
  counter('pathwatch_collector_candidate_packets_unobserved_total', 'Candidate packets not judgeable: exit not captured, direction unknown, or the capture itself lost packets then.', () => s.ingest.stats.unobservedPackets);
  counter('pathwatch_collector_candidate_packets_local_total', 'Candidate packets to or from the node itself.', () => s.ingest.stats.localPackets);
  counter('pathwatch_collector_candidate_packets_left_total', 'Candidate packets that, after all, left the node.', () => s.ingest.stats.leftPackets);
  counter('pathwatch_collector_cross_node_departures_total', 'Sampled encapsulated departures reported by agents.', () => s.ingest.stitcher.stats.departures);
  counter('pathwatch_collector_cross_node_matched_total', 'Sampled packets seen leaving one node and arriving at the next.', () => s.ingest.stitcher.stats.matched);
  counter('pathwatch_collector_cross_node_lost_total', 'Sampled packets that left a node through the tunnel and never arrived at the next.', () => s.ingest.stitcher.stats.lost);
  counter('pathwatch_collector_cross_node_unobserved_total', 'Sampled departures not judged: the destination captured with loss, or is not watched.', () => s.ingest.stitcher.stats.unobserved + s.ingest.stitcher.stats.unwatched);
  gauge('pathwatch_collector_ingest_queue', 'Batches waiting for storage.', () => s.ingest.queueLength);
  gauge('pathwatch_collector_storage_up', '1 when the last storage operation succeeded.', () => (s.storageUp() ? 1 : 0));
  gauge('pathwatch_collector_event_clients', 'Connected server-sent-event clients.', () => s.hub.clientCount);
  gauge('pathwatch_collector_alerts_firing', 'Alerts firing now.', () => s.alerts.firingCount);
  counter('pathwatch_collector_alert_notifications_total', 'Alert notifications delivered.', () => s.sender?.stats.sent ?? 0);
  counter('pathwatch_collector_alert_failures_total', 'Alert notifications that failed.', () => s.sender?.stats.failed ?? 0);
  nodeKernelDropGauge(registry, s.ingest, 'pathwatch_collector_node_kernel_drops', "The kernel's drops on each node since its agent started, per reason (from the node's latest status).", 'drops');
  nodeKernelDropGauge(registry, s.ingest, 'pathwatch_collector_node_kernel_drops_matched', 'Of those, drops matched by fingerprint to packets of a vanished group, per reason.', 'matched');
  new Counter({
    name: 'pathwatch_collector_ingest_answers_total',
    help: 'Ingest answers by HTTP status.',
    labelNames: ['status'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [status, n] of Object.entries(s.answers)) this.inc({ status }, n);
    },
  });
  return registry;
}

/**
 * A node's kernel drop tallies summed over its interfaces, per reason. No interface label: a node has
 * an interface per pod, and (node, reason) alone is already up to some 120 series per node. Agents
 * send running totals since they started, so this is a gauge (an agent's restart starts it again).
 * Read from the statuses this collector received since it started: after its own restart a node
 * shows up again with its agent's next flow batch.
 */
function nodeKernelDropGauge(registry: Registry, ingest: BatchIngest, name: string, help: string, field: 'drops' | 'matched'): void {
  new Gauge({
    name,
    help,
    labelNames: ['node', 'reason'],
    registers: [registry],
    collect() {
      // Nodes and reasons that went away (an agent restarted, its tallies started again) are not kept.
      this.reset();
      for (const [node, status] of ingest.latestStatusByNode()) {
        const byReason = new Map<string, number>();
        for (const t of status.kernelDrops ?? []) byReason.set(t.reason, (byReason.get(t.reason) ?? 0) + t[field]);
        for (const [reason, n] of byReason) this.set({ node, reason }, n);
      }
    },
  });
}
