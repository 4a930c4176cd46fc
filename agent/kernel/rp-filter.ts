/**
 * Per-interface IPv4 settings the verdicts rest on: the reverse-path filter and forwarding.
 * Reverse-path filter settings. The value in effect on an interface is the larger of
 * net.ipv4.conf.all.rp_filter and net.ipv4.conf.<iface>.rp_filter (0 off, 1 strict, 2 loose).
 * Read from /proc/sys (per network namespace).
 */
import { readFileSync } from 'node:fs';

export interface RpFilterSetting {
  readonly all: number;
  readonly iface: number;
  readonly effective: number;
}

function readValue(path: string): number | undefined {
  try {
    const v = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** IPv4 forwarding on the node and on one interface (net.ipv4.conf.{all,IFACE}.forwarding, 0 or 1). */
export interface ForwardingSetting {
  readonly all: number;
  readonly iface: number;
}

/**
 * net.ipv4.conf.all.NAME and net.ipv4.conf.IFACE.NAME, or undefined when either cannot be read (the
 * interface is gone). In /proc/sys a dot in the interface name stays a dot (only sysctl(8) names
 * use slashes).
 */
function readConf(name: string, iface: string, procSys: string): { all: number; iface: number } | undefined {
  const all = readValue(`${procSys}/net/ipv4/conf/all/${name}`);
  const own = readValue(`${procSys}/net/ipv4/conf/${iface}/${name}`);
  return all === undefined || own === undefined ? undefined : { all, iface: own };
}

/** The interface's forwarding, or undefined when it cannot be read. */
export function readForwarding(iface: string, procSys = '/proc/sys'): ForwardingSetting | undefined {
  return readConf('forwarding', iface, procSys);
}

/** The interface's reverse-path filter, or undefined when it cannot be read. */
export function readRpFilter(iface: string, procSys = '/proc/sys'): RpFilterSetting | undefined {
  const conf = readConf('rp_filter', iface, procSys);
  return conf && { ...conf, effective: Math.max(conf.all, conf.iface) };
}
