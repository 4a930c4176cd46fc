/**
 * The way out to a destination, as far as the link: the neighbour (ARP) entry of the next hop
 * (`ip -j neigh show to ADDR dev DEV`), whether the interface has a carrier, and its MTU (sysfs of
 * the agent's network namespace). Arguments are validated; nothing goes through a shell.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { IFNAME } from './route-check.js';

interface IpNeighJson {
  readonly dst?: string;
  readonly dev?: string;
  readonly state?: readonly string[];
}

/** The entry's state (REACHABLE, STALE, INCOMPLETE, FAILED, PERMANENT, ...), or `none` when there is no entry. */
export function parseNeighbourState(json: string, address: string): string {
  const entries = JSON.parse(json === '' ? '[]' : json) as IpNeighJson[];
  const entry = Array.isArray(entries) ? entries.find((e) => e.dst === address) : undefined;
  const state = entry?.state?.find((s) => typeof s === 'string' && /^[A-Z_]{1,16}$/.test(s));
  return entry === undefined ? 'none' : state ?? 'NONE';
}

/** The next hop's neighbour state, or undefined when iproute2 cannot be asked. */
export function neighbourState(address: string, dev: string): Promise<string | undefined> {
  const family = isIP(address);
  if (family === 0 || !IFNAME.test(dev)) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    execFile('ip', [family === 6 ? '-6' : '-4', '-j', 'neigh', 'show', 'to', address, 'dev', dev], { timeout: 3000 }, (err, stdout) => {
      if (err) return resolve(undefined);
      try {
        resolve(parseNeighbourState(stdout.trim(), address));
      } catch {
        resolve(undefined);
      }
    });
  });
}

function readSysfs(dev: string, name: string, sysClassNet: string): string | undefined {
  if (!IFNAME.test(dev)) return undefined;
  try {
    return readFileSync(`${sysClassNet}/${dev}/${name}`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * Whether the interface has a carrier. The kernel refuses to read `carrier` of an interface that is
 * administratively down: that is no carrier too.
 */
export function readCarrier(dev: string, sysClassNet = '/sys/class/net'): boolean | null {
  const carrier = readSysfs(dev, 'carrier', sysClassNet);
  if (carrier === '1') return true;
  if (carrier === '0') return false;
  return readSysfs(dev, 'operstate', sysClassNet) === 'down' ? false : null;
}

export function readMtu(dev: string, sysClassNet = '/sys/class/net'): number | null {
  const mtu = Number(readSysfs(dev, 'mtu', sysClassNet));
  return Number.isInteger(mtu) && mtu > 0 ? mtu : null;
}

/** The interface of the default route (the uplink: the underlay of the node's tunnels), or undefined. */
export function defaultRouteInterface(): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('ip', ['-4', '-j', 'route', 'show', 'default'], { timeout: 3000 }, (err, stdout) => {
      if (err) return resolve(undefined);
      try {
        const routes = JSON.parse(stdout.trim() === '' ? '[]' : stdout) as Array<{ dev?: unknown }>;
        const dev = Array.isArray(routes) ? routes.find((r) => typeof r.dev === 'string')?.dev : undefined;
        resolve(typeof dev === 'string' && IFNAME.test(dev) ? dev : undefined);
      } catch {
        resolve(undefined);
      }
    });
  });
}
