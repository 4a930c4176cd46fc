/**
 * How long to wait before trying a collector again.
 *
 * Exponential backoff with full jitter (a uniformly random delay below the exponential ceiling): when
 * a collector comes back, hundreds of agents with spooled data must not all retry in the same
 * instant. A collector that says when to come back (Retry-After on 429/503) is believed, within a
 * cap, so a wrong or hostile header cannot park an agent's delivery for hours.
 */

export interface BackoffPolicy {
  /** Ceiling of the first retry's delay. */
  readonly baseMs: number;
  /** Ceiling never exceeds this. */
  readonly maxMs: number;
  /** A Retry-After longer than this is shortened to it. */
  readonly maxRetryAfterMs: number;
  /** Uniform in [0, 1); a seam for tests. */
  readonly random: () => number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = {
  baseMs: 200,
  maxMs: 30_000,
  maxRetryAfterMs: 300_000,
  random: Math.random,
};

export function backoffPolicy(overrides: Partial<BackoffPolicy> = {}): BackoffPolicy {
  const policy = { ...DEFAULT_BACKOFF, ...overrides };
  if (!(policy.baseMs > 0) || !(policy.maxMs >= policy.baseMs) || !(policy.maxRetryAfterMs >= 0)) {
    throw new RangeError(`bad backoff policy: base ${policy.baseMs} ms, max ${policy.maxMs} ms, Retry-After cap ${policy.maxRetryAfterMs} ms`);
  }
  return policy;
}

/** Delay before retry number attempt (0 for the first retry): uniform in [0, min(max, base * 2^attempt)). */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  const exponent = Math.min(Math.max(0, Math.floor(attempt)), 40); // 2^40 * base is past any max
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
  return Math.floor(policy.random() * ceiling);
}

/**
 * A Retry-After header in milliseconds from now: delay-seconds ("120") or an HTTP date; undefined
 * when absent or unparseable (the caller then falls back to its own backoff).
 */
export function parseRetryAfter(value: string | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP date always has a weekday or month name; Date.parse alone would accept "1.5".
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** The delay before the next try: the collector's Retry-After (capped) if it gave one, else backoff. */
export function retryDelayMs(attempt: number, retryAfterMs: number | undefined, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxRetryAfterMs);
  return backoffDelayMs(attempt, policy);
}
