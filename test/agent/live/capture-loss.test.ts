import { describe, expect, it } from 'vitest';
import { CaptureLossTracker } from '../../../agent/live/capture-loss.js';

describe('capture loss over time', () => {
  const tracker = new CaptureLossTracker();
  tracker.add({ ts: 1000, received: 100, dropped: 0 });
  tracker.add({ ts: 2000, received: 200, dropped: 0 });
  tracker.add({ ts: 3000, received: 300, dropped: 5 });
  tracker.add({ ts: 4000, received: 400, dropped: 5 });

  it('sees no loss in a span where the drop counter did not grow', () => {
    expect(tracker.lostDuring(1000, 2000)).toBe(0);
    expect(tracker.lostDuring(3000, 4000)).toBe(0);
  });

  it('sees the loss of a span the counter grew in, and of spans reaching past the last sample', () => {
    expect(tracker.lostDuring(2000, 3000)).toBe(5);
    expect(tracker.lostDuring(2500, 2600)).toBe(5);
    expect(tracker.lostDuring(1500, 9000)).toBe(5);
  });

  it('treats a span before the first sample as unknown, not as loss-free', () => {
    const t = new CaptureLossTracker();
    t.add({ ts: 5000, received: 10, dropped: 3 });
    expect(t.lostDuring(100, 200)).toBe(3);
    expect(t.latest).toEqual({ received: 10, dropped: 3 });
  });
});
