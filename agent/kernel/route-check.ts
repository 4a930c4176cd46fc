/**
 * The kernel's own answer on routes, through `ip route get` (iproute2, talking netlink):
 * - the route back to a source: which interface replies to it leave by;
 * - whether a packet from src to dst arriving on an interface would be accepted: for a packet the
 *   reverse-path filter drops, `ip route get <dst> from <src> iif <dev>` fails.
 * Arguments are validated addresses and interface names; nothing goes through a shell.
 */
import { execFile } from 'node:child_process';
import { isIP } from 'node:net';

import type { RouteEvidence } from '../../core/findings/kernel-evidence.js';

function ipRouteGet(args: string[]): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile('ip', ['route', 'get', ...args], { timeout: 3000 }, (err, stdout, stderr) => {
      resolve({ ok: !err, output: (err ? stderr || err.message : stdout).trim().split('\n')[0] ?? '' });
    });
  });
}

/** An interface name as Linux allows one, narrowed to what can be passed as an argument or a sysfs path part. */
export const IFNAME = /^[A-Za-z0-9_.:@-]{1,15}$/;

/** The interface the route to `address` leaves by, or undefined. */
export async function routeInterface(address: string): Promise<string | undefined> {
  if (isIP(address) === 0) return undefined;
  const r = await ipRouteGet([address]);
  if (!r.ok) return undefined;
  return / dev (\S+)/.exec(r.output)?.[1];
}

/** null when the kernel would route the packet; otherwise its error ("Invalid argument", ...). */
export async function checkIngressRoute(dst: string, src: string, iif: string): Promise<string | null> {
  if (isIP(dst) === 0 || isIP(src) === 0 || !IFNAME.test(iif)) return 'not checked (bad address or interface name)';
  const r = await ipRouteGet([dst, 'from', src, 'iif', iif]);
  return r.ok ? null : r.output.replace(/^RTNETLINK answers:\s*/, '');
}

interface IpRouteJson {
  readonly type?: string;
  readonly dst?: string;
  readonly dev?: string;
  readonly gateway?: string;
}

function prefixLength(dst: string): number {
  if (dst === 'default') return 0;
  const slash = dst.indexOf('/');
  return slash < 0 ? (dst.includes(':') ? 128 : 32) : Number(dst.slice(slash + 1));
}

/**
 * The main table's most specific route that `address` matches (`ip -j route show match`), whatever
 * its type: `ip route get` fails on a blackhole or unreachable route without naming it, this names
 * it. {type: 'none'} when no route matches; undefined when iproute2 cannot be asked.
 */
export function parseRouteMatch(json: string): RouteEvidence {
  const routes = JSON.parse(json) as IpRouteJson[];
  let best: IpRouteJson | undefined;
  for (const r of Array.isArray(routes) ? routes : []) {
    if (typeof r.dst !== 'string') continue;
    if (!best || prefixLength(r.dst) > prefixLength(best.dst as string)) best = r;
  }
  if (!best) return { type: 'none', dst: '', dev: null, via: null };
  return { type: best.type ?? 'unicast', dst: best.dst as string, dev: best.dev ?? null, via: best.gateway ?? null };
}

export function matchRoute(address: string): Promise<RouteEvidence | undefined> {
  const family = isIP(address);
  if (family === 0) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    execFile('ip', [family === 6 ? '-6' : '-4', '-j', 'route', 'show', 'match', address], { timeout: 3000 }, (err, stdout) => {
      if (err) return resolve(undefined);
      try {
        resolve(parseRouteMatch(stdout.trim() === '' ? '[]' : stdout));
      } catch {
        resolve(undefined);
      }
    });
  });
}
