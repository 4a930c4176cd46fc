/**
 * When a drop event becomes an alert: by default a `reverse-path` drop of `likely` or `confirmed`
 * confidence that lost at least 3 packets within 60 s fires; it resolves after 5 quiet minutes.
 * Counting uses the collector's clock (when packets were reported), so agents' clocks do not matter.
 */
import type { DropEvent } from '../../core/explain/drop-event.js';

export interface AlertRuleConfig {
  readonly verdicts: readonly string[];
  readonly confidences: readonly string[];
  readonly minPackets: number;
  readonly windowMs: number;
  readonly resolveAfterMs: number;
  /** How often a firing alert is sent again (receivers expire alerts not re-sent). */
  readonly repeatMs: number;
}

export const DEFAULT_ALERT_RULE: AlertRuleConfig = {
  verdicts: ['reverse-path'],
  confidences: ['likely', 'confirmed'],
  minPackets: 3,
  windowMs: 60_000,
  resolveAfterMs: 300_000,
  repeatMs: 60_000,
};

export interface AlertState {
  readonly event: DropEvent;
  readonly status: 'firing' | 'resolved';
  readonly startsAtMs: number;
  /** Set when resolved. */
  readonly endsAtMs: number | undefined;
}

interface Tracked {
  event: DropEvent;
  /** (report time, packets) of recent reports within the window. */
  recent: { at: number; packets: number }[];
  lastPacketsAt: number;
  firingSince: number | undefined;
  lastSentAt: number;
}

export class AlertRules {
  private readonly tracked = new Map<string, Tracked>();

  constructor(readonly config: AlertRuleConfig = DEFAULT_ALERT_RULE) {}

  get firingCount(): number {
    let n = 0;
    for (const t of this.tracked.values()) if (t.firingSince !== undefined) n++;
    return n;
  }

  /** A drop event changed: `newPackets` were added to it at `now`. */
  observe(event: DropEvent, newPackets: number, now: number): void {
    const c = this.config;
    if (!c.verdicts.includes(event.verdict) || !c.confidences.includes(event.confidence)) {
      const t = this.tracked.get(event.id);
      if (t) t.event = event;
      return;
    }
    let t = this.tracked.get(event.id);
    if (!t) {
      t = { event, recent: [], lastPacketsAt: now, firingSince: undefined, lastSentAt: 0 };
      this.tracked.set(event.id, t);
    }
    t.event = event;
    if (newPackets > 0) {
      t.recent.push({ at: now, packets: newPackets });
      t.lastPacketsAt = now;
    }
  }

  /** Alerts to send now: newly firing, due for a repeat, or just resolved. */
  due(now: number): AlertState[] {
    const c = this.config;
    const out: AlertState[] = [];
    for (const [id, t] of this.tracked) {
      while (t.recent.length > 0 && (t.recent[0] as { at: number }).at < now - c.windowMs) t.recent.shift();
      if (t.firingSince === undefined) {
        const inWindow = t.recent.reduce((s, r) => s + r.packets, 0);
        if (inWindow >= c.minPackets) {
          t.firingSince = now;
          t.lastSentAt = now;
          out.push({ event: t.event, status: 'firing', startsAtMs: now, endsAtMs: undefined });
        } else if (t.recent.length === 0 && now - t.lastPacketsAt > c.resolveAfterMs) {
          this.tracked.delete(id);
        }
        continue;
      }
      if (now - t.lastPacketsAt >= c.resolveAfterMs) {
        out.push({ event: t.event, status: 'resolved', startsAtMs: t.firingSince, endsAtMs: now });
        this.tracked.delete(id);
      } else if (now - t.lastSentAt >= c.repeatMs) {
        t.lastSentAt = now;
        out.push({ event: t.event, status: 'firing', startsAtMs: t.firingSince, endsAtMs: undefined });
      }
    }
    return out;
  }
}
