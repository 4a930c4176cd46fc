import { describe, expect, it } from 'vitest';
import { CaptureLossTracker } from '../../../agent/live/capture-loss.js';
import { NodeFacts } from '../../../core/judge/node-facts.js';
import { findings } from '../../support/findings.js';

describe('capture loss over time, as spans the judge reads', () => {
  const tracker = new CaptureLossTracker(4096, 0);
  tracker.add({ ts: 1000, received: 100, dropped: 0 });
  tracker.add({ ts: 2000, received: 200, dropped: 0 });
  tracker.add({ ts: 3000, received: 300, dropped: 5 });
  tracker.add({ ts: 4000, received: 400, dropped: 5 });

  it('makes a span of each growth of the drop counter, from the sample before to the one that saw it', () => {
    expect(tracker.spansSince(0)).toEqual([{ from: 2000, until: 3000, packets: 5 }]);
    expect(tracker.spansSince(3500)).toEqual([]);
    expect(tracker.latest).toEqual({ received: 400, dropped: 5 });
  });

  it('dates a loss seen at the first sample from the start of the capture: unknown is not loss-free', () => {
    const t = new CaptureLossTracker(4096, 100);
    t.add({ ts: 5000, received: 10, dropped: 3 });
    expect(t.spansSince(0)).toEqual([{ from: 100, until: 5000, packets: 3 }]);
  });

  it('the judge sees a candidate near a span as our own loss, one seconds away as not', () => {
    const facts = new NodeFacts(findings({ captureLoss: tracker.spansSince(0) }));
    expect(facts.lostCaptureDuring(2500, 2600)).toBe(true);
    expect(facts.lostCaptureDuring(3900, 3950)).toBe(true); // within the one-second margin
    expect(facts.lostCaptureDuring(5000, 5100)).toBe(false);
    expect(facts.lostCaptureDuring(500, 900)).toBe(false);
  });
});
