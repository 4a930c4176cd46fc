/**
 * Prometheus metrics whose values are read from their source when scraped (prom-client's collect
 * hook), so nothing on a hot path counts twice. Used by the agent and the collector alike.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface ScrapedMetrics {
  /** A counter that reports `read()`, a running total kept elsewhere. */
  counter(name: string, help: string, read: () => number): void;
  /** A gauge that reports `read()`. */
  gauge(name: string, help: string, read: () => number): void;
}

export function scrapedMetrics(registry: Registry): ScrapedMetrics {
  return {
    counter(name, help, read) {
      new Counter({
        name,
        help,
        registers: [registry],
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    },
    gauge(name, help, read) {
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(read());
        },
      });
    },
  };
}
