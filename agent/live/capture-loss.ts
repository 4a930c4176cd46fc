/**
 * The capture's own counters over time (tcpdump's "received by filter" and "dropped by kernel",
 * sampled while it runs). Packets the kernel dropped before we read them make any gap around that
 * time ours, not the network's: such gaps are never drop events. Each growth of the drop counter
 * becomes a loss span (from the sample before to the sample that saw it), which findings carry.
 */
import type { CaptureLossSpan } from '../../core/findings/node-findings.js';

export interface CaptureSample {
  readonly ts: number;
  readonly received: number;
  readonly dropped: number;
}

/** Loss spans kept (recent ones; older gaps were judged long ago). */
const MAX_SPANS = 256;

export class CaptureLossTracker {
  private readonly samples: CaptureSample[] = [];
  private readonly spans: CaptureLossSpan[] = [];

  /** `startedAt`: when the capture started (a loss before the first sample dates from then). */
  constructor(
    private readonly maxSamples = 4096,
    private readonly startedAt = Date.now(),
  ) {}

  add(sample: CaptureSample): void {
    const prev = this.samples[this.samples.length - 1];
    const grew = sample.dropped - (prev?.dropped ?? 0);
    if (grew > 0) {
      if (this.spans.length >= MAX_SPANS) this.spans.shift();
      this.spans.push({ from: prev?.ts ?? this.startedAt, until: sample.ts, packets: grew });
    }
    if (this.samples.length >= this.maxSamples) this.samples.splice(0, this.maxSamples / 2);
    this.samples.push(sample);
  }

  /** Loss spans that end at or after `since` (ms), oldest first. */
  spansSince(since: number): CaptureLossSpan[] {
    return this.spans.filter((s) => s.until >= since);
  }

  get latest(): { received: number; dropped: number } {
    const last = this.samples[this.samples.length - 1];
    return { received: last?.received ?? 0, dropped: last?.dropped ?? 0 };
  }
}
