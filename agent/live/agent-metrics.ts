/**
 * The agent's Prometheus metrics (prom-client), read from the live node and the shipper when
 * scraped: nothing is counted twice on the packet path. Names follow Prometheus conventions with
 * the `pathwatch_agent_` prefix; no addresses or pod names become labels.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Registry } from 'prom-client';
import { scrapedMetrics } from '../util/scraped-metrics.js';
import { DECODE_EVENT_NAMES } from '../decode/decode-events.js';
import type { BatchShipper } from '../ship/shipper.js';
import type { LiveNode } from './live-node.js';

export interface AgentMetricsSources {
  readonly live: () => LiveNode | undefined;
  readonly shipper: BatchShipper;
}

export function createAgentMetrics(sources: AgentMetricsSources): Registry {
  const registry = new Registry();
  const live = sources.live;
  const { counter, gauge } = scrapedMetrics(registry);
  counter('pathwatch_agent_packets_total', 'Packets read from the capture.', () => live()?.pipeline.stats.records ?? 0);
  counter('pathwatch_agent_bytes_total', 'Bytes (on the wire) of the packets read.', () => live()?.pipeline.stats.bytes ?? 0);
  for (const [name, help, field] of [
    ['pathwatch_agent_class_packets_total', 'Packets read, by interface class (tunnel, pod, uplink, loopback, other).', 'packets'],
    ['pathwatch_agent_class_bytes_total', 'Bytes (on the wire) read, by interface class.', 'bytes'],
  ] as const) {
    new Counter({
      name,
      help,
      labelNames: ['class'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [role, sums] of live()?.pipeline.countsByRole() ?? []) this.inc({ class: role }, sums[field]);
      },
    });
  }
  // One capture handle on Linux `any` serves every interface, so the kernel reports its loss for
  // all of them together: the collector treats a loss as node-wide, which is the safe reading.
  counter('pathwatch_agent_capture_kernel_dropped_total', 'Packets the kernel dropped before the capture read them (our own loss).', () => live()?.captureCounters.dropped ?? 0);
  new Counter({
    name: 'pathwatch_agent_decode_events_total',
    help: 'Decoder anomalies by name (decoder.ipv4.truncated, ...).',
    labelNames: ['event'],
    registers: [registry],
    collect() {
      this.reset();
      const counts = live()?.pipeline.decoder.events.counts;
      if (!counts) return;
      DECODE_EVENT_NAMES.forEach((name, i) => {
        const n = counts[i] ?? 0;
        if (n > 0) this.inc({ event: name }, n);
      });
    },
  });
  counter('pathwatch_agent_vanish_candidate_packets_total', 'Packets that arrived and were not seen leaving (sent to the collector to judge).', () => live()?.totals.vanishCandidates ?? 0);
  gauge('pathwatch_agent_ebpf_monitor_up', '1 when the eBPF drop-reason monitor runs.', () => (live()?.kernel.monitoring ? 1 : 0));
  counter('pathwatch_agent_ebpf_events_lost_total', "Kernel drop events the monitor's ring buffer had no room for.", () => live()?.kernelEventsLost ?? 0);
  // Per reason and device: the interfaces are the node's own (bounded, KernelDropTallies), never addresses.
  for (const [name, help, field] of [
    ['pathwatch_agent_kernel_drops_total', 'Packets the kernel dropped (skb:kfree_skb with a reason), whether or not a capture saw them.', 'drops'],
    ['pathwatch_agent_kernel_drops_matched_total', 'Of those, packets matched by fingerprint to a vanished group.', 'matched'],
  ] as const) {
    new Counter({
      name,
      help,
      labelNames: ['reason', 'iface'],
      registers: [registry],
      collect() {
        this.reset();
        for (const t of live()?.kernelDropTallies() ?? []) if (t[field] > 0) this.inc({ reason: t.reason, iface: t.iface }, t[field]);
      },
    });
  }
  const ship = () => sources.shipper.stats;
  counter('pathwatch_agent_batches_sent_total', 'Batches delivered to a collector.', () => ship().sent);
  counter('pathwatch_agent_batch_retries_total', 'Delivery attempts that failed and were scheduled again.', () => ship().retried);
  counter('pathwatch_agent_batches_rejected_total', 'Batches a collector rejected as bad (dropped).', () => ship().droppedBadRequest);
  counter('pathwatch_agent_batches_lost_total', 'Batches the spool had to drop (full or unwritable).', () => ship().lostBatches);
  gauge('pathwatch_agent_spool_batches', 'Batches waiting in the spool.', () => ship().spooledBatches);
  gauge('pathwatch_agent_spool_bytes', 'Bytes waiting in the spool.', () => ship().spooledBytes);
  return registry;
}

/** Serves GET /metrics on HOST:PORT; resolves with the server once listening. */
export function serveMetrics(registry: Registry, address: string): Promise<Server> {
  const m = /^(.*):(\d+)$/.exec(address);
  if (!m) return Promise.reject(new Error(`--metrics-listen takes HOST:PORT, not "${address}"`));
  const host = (m[1] as string).replace(/^\[(.*)\]$/, '$1');
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"metrics unavailable"}'),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', (e) => reject(new Error(`cannot listen on ${address} for metrics: ${e.message}`)));
    server.listen(Number(m[2]), host, () => resolve(server));
  });
}
