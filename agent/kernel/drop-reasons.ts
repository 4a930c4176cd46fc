/**
 * skb drop reasons by name, read from the kfree_skb tracepoint's format: the numbers change between
 * kernels (SKB_DROP_REASON_IP_RPFILTER is 16 on 6.18, other values elsewhere), the names do not.
 */
import { readFileSync } from 'node:fs';
import { TRACEFS } from './tracefs.js';

export const KFREE_SKB_FORMAT = `${TRACEFS}/events/skb/kfree_skb/format`;

/** Parses `__print_symbolic(REC->reason, { 2, "NOT_SPECIFIED" }, ...)` into name -> number. */
export function parseDropReasons(format: string): Map<string, number> {
  const out = new Map<string, number>();
  const symbolic = format.indexOf('__print_symbolic(REC->reason');
  if (symbolic < 0) return out;
  const re = /\{\s*(\d+)\s*,\s*"([A-Z0-9_]+)"\s*\}/g;
  re.lastIndex = symbolic;
  for (let m = re.exec(format); m !== null; m = re.exec(format)) out.set(m[2] as string, Number(m[1]));
  return out;
}

export function readDropReasons(path = KFREE_SKB_FORMAT): Map<string, number> {
  return parseDropReasons(readFileSync(path, 'utf8'));
}
