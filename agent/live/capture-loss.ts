/**
 * The capture's own counters over time (tcpdump's "received by filter" and "dropped by kernel",
 * sampled while it runs). Packets the kernel dropped before we read them make any gap around that
 * time ours, not the network's: such gaps are never drop events.
 */
export interface CaptureSample {
  readonly ts: number;
  readonly received: number;
  readonly dropped: number;
}

export class CaptureLossTracker {
  private readonly samples: CaptureSample[] = [];

  constructor(private readonly maxSamples = 4096) {}

  add(sample: CaptureSample): void {
    if (this.samples.length >= this.maxSamples) this.samples.splice(0, this.maxSamples / 2);
    this.samples.push(sample);
  }

  get latest(): { received: number; dropped: number } {
    const last = this.samples[this.samples.length - 1];
    return { received: last?.received ?? 0, dropped: last?.dropped ?? 0 };
  }

  /**
   * Packets lost between `from` and `to` (ms): the growth of the drop counter from the last sample
   * at or before `from` to the first sample at or after `to` (the latest one while `to` is in the
   * future). Without a sample before `from`, counting starts from zero: unknown is not "no loss".
   */
  lostDuring(from: number, to: number): number {
    let before = 0;
    let after: number | undefined;
    for (const s of this.samples) {
      if (s.ts <= from) before = s.dropped;
      if (after === undefined && s.ts >= to) after = s.dropped;
    }
    return Math.max(0, (after ?? this.latest.dropped) - before);
  }
}
