/**
 * tracefs, where the kernel describes its tracepoints (and the numbers of skb drop reasons, which
 * differ between kernel versions). Inside `ip netns exec` /sys is remounted and tracefs is often not
 * mounted: mount it, as the agent must work there.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const TRACEFS = '/sys/kernel/tracing';

/** Mounts tracefs when its events are not visible; returns an error text, or null when it is there. */
export function ensureTracefs(): string | null {
  if (existsSync(`${TRACEFS}/events`)) return null;
  try {
    execFileSync('mount', ['-t', 'tracefs', 'nodev', TRACEFS], { stdio: 'pipe', timeout: 5000 });
  } catch (e) {
    const msg = e instanceof Error ? (e as { stderr?: Buffer }).stderr?.toString().trim() || e.message : String(e);
    return `cannot mount tracefs on ${TRACEFS}: ${msg.split('\n')[0]}`;
  }
  return existsSync(`${TRACEFS}/events`) ? null : `tracefs mounted on ${TRACEFS} shows no events`;
}
