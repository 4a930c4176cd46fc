/**
 * `--window MS`, the correlation window, as replay, watch and agent take it: a number of
 * milliseconds above 0 (a packet's hops are never all at the same instant) and at most ten minutes.
 */
import { UsageError } from './cli-error.js';

export const MAX_WINDOW_MS = 600_000;

/** The window in milliseconds, or undefined when the option was not given; one-line UsageError otherwise. */
export function parseWindowOption(command: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(ms > 0) || ms > MAX_WINDOW_MS) {
    throw new UsageError(`${command}: --window must be a number of milliseconds above 0 and at most ${MAX_WINDOW_MS}, not "${text}"`);
  }
  return ms;
}
