/**
 * The route a destination matches (agent/kernel/route-check.ts) and forwarding on the arrival
 * interface (agent/kernel/rp-filter.ts): the two settings besides rp_filter that decide whether a
 * node forwards a packet. parseRouteMatch reads `ip -j route show match` output captured from
 * iproute2 6.1; matchRoute asks the real `ip`, in a throwaway namespace with real blackhole,
 * unreachable and prohibit routes; readForwarding reads a fake /proc/sys tree.
 *
 * The namespace tests need root and iproute2: skipped with the reason elsewhere.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { matchRoute, parseRouteMatch } from '../../../agent/kernel/route-check.js';
import { readForwarding } from '../../../agent/kernel/rp-filter.js';
import { ipns, sendUdp } from './kernel-netns.js';

// `ip -4 -j route show match ADDRESS` on a node with a default route, Calico's blackhole for its
// block 10.91.1.0/24, an unreachable /25 inside it, a pod's /32 and a connected /24 (iproute2 6.1).
const DEFAULT = '{"dst":"default","gateway":"192.0.2.254","dev":"d0","flags":[]}';
const BLACKHOLE = '{"type":"blackhole","dst":"10.91.1.0/24","protocol":"bird","flags":[]}';
const UNREACHABLE = '{"type":"unreachable","dst":"10.91.1.128/25","flags":[]}';
const POD = '{"dst":"10.92.0.5","dev":"cali0a1b2c3d4e5","scope":"link","flags":[]}';
const CONNECTED = '{"dst":"192.0.2.0/24","dev":"d0","protocol":"kernel","scope":"link","prefsrc":"192.0.2.1","flags":[]}';

describe('parseRouteMatch', () => {
  it('picks the longest prefix: the unreachable /25 inside the blackhole /24, in any order', () => {
    const expected = { type: 'unreachable', dst: '10.91.1.128/25', dev: null, via: null };
    expect(parseRouteMatch(`[${DEFAULT},${BLACKHOLE},${UNREACHABLE}]`)).toEqual(expected);
    expect(parseRouteMatch(`[${UNREACHABLE},${BLACKHOLE},${DEFAULT}]`)).toEqual(expected);
    expect(parseRouteMatch(`[${DEFAULT},${BLACKHOLE}]\n`)).toEqual({ type: 'blackhole', dst: '10.91.1.0/24', dev: null, via: null });
  });

  it('reads a unicast route (no type in the JSON) with its gateway and device', () => {
    expect(parseRouteMatch(`[${DEFAULT}]`)).toEqual({ type: 'unicast', dst: 'default', dev: 'd0', via: '192.0.2.254' });
    // A host route is printed without /32 and beats the default.
    expect(parseRouteMatch(`[${DEFAULT},${POD}]`)).toEqual({ type: 'unicast', dst: '10.92.0.5', dev: 'cali0a1b2c3d4e5', via: null });
    expect(parseRouteMatch(`[${DEFAULT},${CONNECTED}]`)).toEqual({ type: 'unicast', dst: '192.0.2.0/24', dev: 'd0', via: null });
  });

  it('reads IPv6 routes too (a host route is a /128)', () => {
    // `ip -6 -j route show match fd00:91:1::130`: IPv6 prints a discard route on lo.
    const v6 = '[{"dst":"fd00:91:1::130","dev":"d1","metric":1024,"flags":[],"pref":"medium"},{"type":"blackhole","dst":"fd00:91:1::/64","dev":"lo","metric":1024,"flags":[],"pref":"medium"},{"dst":"default","gateway":"fd00::fe","dev":"d0","metric":1024,"flags":[],"pref":"medium"}]';
    expect(parseRouteMatch(v6)).toEqual({ type: 'unicast', dst: 'fd00:91:1::130', dev: 'd1', via: null });
    expect(parseRouteMatch(v6.replace(/\{"dst":"fd00:91:1::130"[^}]*\},/, ''))).toEqual({ type: 'blackhole', dst: 'fd00:91:1::/64', dev: 'lo', via: null });
  });

  it('says none when no route matches, and skips entries without a destination', () => {
    expect(parseRouteMatch('[]')).toEqual({ type: 'none', dst: '', dev: null, via: null });
    expect(parseRouteMatch('[{"type":"blackhole"}]')).toEqual({ type: 'none', dst: '', dev: null, via: null });
    expect(parseRouteMatch('{}')).toEqual({ type: 'none', dst: '', dev: null, via: null });
    expect(() => parseRouteMatch('not json')).toThrow(SyntaxError);
  });
});

/** Runs `body` with an `ip` first on PATH that is `script` (a /bin/sh script), then restores PATH. */
async function withIp<T>(script: string, body: () => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'pw-ip-'));
  const saved = process.env['PATH'];
  try {
    writeFileSync(join(dir, 'ip'), `#!/bin/sh\n${script}\n`);
    chmodSync(join(dir, 'ip'), 0o755);
    process.env['PATH'] = `${dir}:${saved ?? ''}`;
    return await body();
  } finally {
    process.env['PATH'] = saved;
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('matchRoute', () => {
  it('asks `ip -4 -j route show match` (or -6) for the address, and nothing for a non-address', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-ip-args-'));
    try {
      const log = join(dir, 'args');
      const r = await withIp(`echo "$@" >> ${log}\necho '[${BLACKHOLE}]'`, async () => [await matchRoute('10.91.1.5'), await matchRoute('fd00::1'), await matchRoute('not-an-address')]);
      expect(r).toEqual([{ type: 'blackhole', dst: '10.91.1.0/24', dev: null, via: null }, { type: 'blackhole', dst: '10.91.1.0/24', dev: null, via: null }, undefined]);
      expect(execFileSync('cat', [log], { encoding: 'utf8' })).toBe('-4 -j route show match 10.91.1.5\n-6 -j route show match fd00::1\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is undefined when ip fails or answers something that is not JSON, none when it answers nothing', async () => {
    expect(await withIp('echo "Error: any valid prefix is expected" >&2; exit 1', () => matchRoute('10.91.1.5'))).toBeUndefined();
    expect(await withIp('echo "10.91.1.0/24 blackhole"', () => matchRoute('10.91.1.5'))).toBeUndefined();
    expect(await withIp('exit 0', () => matchRoute('10.91.1.5'))).toEqual({ type: 'none', dst: '', dev: null, via: null });
  });
});

describe('readForwarding', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("reads all's and the interface's forwarding from /proc/sys (the interface's directory keeps its dot)", () => {
    dir = mkdtempSync(join(tmpdir(), 'pw-proc-'));
    for (const [iface, v] of [['all', '1'], ['tunl0', '0'], ['vxlan.calico', '1'], ['eth0', 'garbage']]) {
      mkdirSync(join(dir, 'net/ipv4/conf', iface as string), { recursive: true });
      writeFileSync(join(dir, 'net/ipv4/conf', iface as string, 'forwarding'), `${v}\n`);
    }
    expect(readForwarding('tunl0', dir)).toEqual({ all: 1, iface: 0 });
    expect(readForwarding('vxlan.calico', dir)).toEqual({ all: 1, iface: 1 });
    // The interface is gone, or its value makes no sense: unknown, not off.
    expect(readForwarding('gone0', dir)).toBeUndefined();
    expect(readForwarding('eth0', dir)).toBeUndefined();
    rmSync(join(dir, 'net/ipv4/conf/all'), { recursive: true });
    expect(readForwarding('tunl0', dir)).toBeUndefined();
  });
});

/** Why the namespace tests cannot run here, or null. */
function namespacesUnavailable(): string | null {
  if (process.platform !== 'linux') return `needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  if (spawnSync('ip', ['-V'], { stdio: 'ignore' }).status !== 0) return 'iproute2 (ip) is not installed';
  return null;
}

const unavailable = namespacesUnavailable();
if (unavailable !== null) process.stderr.write(`test/agent/kernel/route-match: skipping the namespace tests: ${unavailable}\n`);

describe.skipIf(unavailable !== null)('against the kernel, in a throwaway namespace', () => {
  const tag = randomBytes(3).toString('hex');
  const ns = `pwroute${tag}`;
  const made: string[] = [];
  const ip = (...args: string[]): void => void execFileSync('ip', args, { stdio: 'pipe', timeout: 10_000 });

  beforeAll(() => {
    ip('netns', 'add', ns);
    made.push(ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    // A veth pair inside the namespace stands for the uplink (d0) and a pod's interface (d1).
    ip('-n', ns, 'link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1');
    for (const dev of ['d0', 'd1']) ip('-n', ns, 'link', 'set', dev, 'up');
    ip('-n', ns, 'addr', 'add', '192.0.2.1/24', 'dev', 'd0');
    ip('-n', ns, 'route', 'add', 'default', 'via', '192.0.2.254', 'dev', 'd0');
    ip('-n', ns, 'route', 'add', 'blackhole', '10.91.1.0/24', 'proto', 'bird');
    ip('-n', ns, 'route', 'add', 'unreachable', '10.91.1.128/25');
    ip('-n', ns, 'route', 'add', '10.91.1.130/32', 'dev', 'd1', 'scope', 'link');
    ip('-n', ns, 'route', 'add', 'prohibit', '10.93.0.0/16');
    ip('-n', ns, '-6', 'route', 'add', 'blackhole', 'fd00:91:1::/64');
  });

  afterAll(() => {
    for (const n of made) spawnSync('ip', ['netns', 'del', n], { stdio: 'ignore', timeout: 10_000 });
  });

  /** matchRoute as the agent runs it inside the node's namespace: the real ip, told the namespace. */
  const realIp = unavailable === null ? execFileSync('sh', ['-c', 'command -v ip'], { encoding: 'utf8' }).trim() : 'ip';
  const inNs = <T>(body: () => Promise<T>): Promise<T> => withIp(`exec "${realIp}" -n ${ns} "$@"`, body);

  it('names the blackhole and unreachable routes that `ip route get` only fails on, the longest prefix first', async () => {
    const got = await inNs(async () => ({
      inBlackhole: await matchRoute('10.91.1.5'),
      inUnreachable: await matchRoute('10.91.1.200'),
      pod: await matchRoute('10.91.1.130'),
      prohibited: await matchRoute('10.93.7.7'),
      elsewhere: await matchRoute('198.51.100.7'),
      v6: await matchRoute('fd00:91:1::5'),
    }));
    expect(got).toEqual({
      inBlackhole: { type: 'blackhole', dst: '10.91.1.0/24', dev: null, via: null },
      inUnreachable: { type: 'unreachable', dst: '10.91.1.128/25', dev: null, via: null },
      pod: { type: 'unicast', dst: '10.91.1.130', dev: 'd1', via: null },
      prohibited: { type: 'prohibit', dst: '10.93.0.0/16', dev: null, via: null },
      elsewhere: { type: 'unicast', dst: 'default', dev: 'd0', via: '192.0.2.254' },
      // IPv6 keeps its discard routes on lo.
      v6: { type: 'blackhole', dst: 'fd00:91:1::/64', dev: 'lo', via: null },
    });
    // What `ip route get` says of the same address: an error that names no route.
    const get = spawnSync('ip', ['-n', ns, 'route', 'get', '10.91.1.5'], { encoding: 'utf8' });
    expect(get.status).not.toBe(0);
    expect(get.stderr).not.toContain('10.91.1.0/24');
  });

  it('says none when no route at all matches', async () => {
    ip('-n', ns, 'route', 'del', 'default');
    try {
      expect(await inNs(() => matchRoute('198.51.100.7'))).toEqual({ type: 'none', dst: '', dev: null, via: null });
    } finally {
      ip('-n', ns, 'route', 'add', 'default', 'via', '192.0.2.254', 'dev', 'd0');
    }
  });

  // Why forwarding-disabled reads the arrival interface's value and not all's: IPv4 forwards what
  // arrives on an interface whose own forwarding is 1, whatever net.ipv4.conf.all.forwarding says
  // now (writing all sets every interface; reading it later says nothing about each).
  it("forwards by the arrival interface's own setting, not all's", () => {
    const a = `pwfwd${tag}a`;
    const r = `pwfwd${tag}r`;
    const b = `pwfwd${tag}b`;
    for (const n of [a, r, b]) {
      ip('netns', 'add', n);
      made.push(n);
      ip('-n', n, 'link', 'set', 'lo', 'up');
    }
    ip('-n', a, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'ra', 'netns', r);
    ip('-n', b, 'link', 'add', 'vb', 'type', 'veth', 'peer', 'name', 'rb', 'netns', r);
    for (const [n, dev, addr, gw] of [[a, 'va', '10.1.0.2/24', '10.1.0.1'], [b, 'vb', '10.2.0.2/24', '10.2.0.1']] as const) {
      ip('-n', n, 'addr', 'add', addr, 'dev', dev);
      ip('-n', n, 'link', 'set', dev, 'up');
      ip('-n', n, 'route', 'add', 'default', 'via', gw);
    }
    ip('-n', r, 'addr', 'add', '10.1.0.1/24', 'dev', 'ra');
    ip('-n', r, 'addr', 'add', '10.2.0.1/24', 'dev', 'rb');
    for (const dev of ['ra', 'rb']) ip('-n', r, 'link', 'set', dev, 'up');
    /** A counter of /proc/net/snmp in namespace `n` (`Udp: ... NoPorts`, `Ip: ... InAddrErrors`). */
    const snmp = (n: string, group: string, name: string): number => {
      const lines = execFileSync('ip', ['netns', 'exec', n, 'cat', '/proc/net/snmp'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith(`${group}:`));
      const names = (lines[0] as string).split(/\s+/);
      return Number((lines[1] as string).split(/\s+/)[names.indexOf(name)]);
    };
    /**
     * Of 5 datagrams sent from a through r to a closed port of b: how many reached b (Udp NoPorts
     * there), and how many r refused to forward (Ip InAddrErrors: the kernel's IP_INADDRERRORS).
     */
    const through = (settings: string[]): { delivered: number; refused: number } => {
      for (const s of settings) ipns(r, ['sysctl', '-qw', s]);
      const before = { delivered: snmp(b, 'Udp', 'NoPorts'), refused: snmp(r, 'Ip', 'InAddrErrors') };
      sendUdp(a, '10.1.0.2', '10.2.0.2', 9, 5);
      // r resolves b's address first (packets wait in its neighbour queue meanwhile): let that settle.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
      return { delivered: snmp(b, 'Udp', 'NoPorts') - before.delivered, refused: snmp(r, 'Ip', 'InAddrErrors') - before.refused };
    };
    expect(through(['net.ipv4.conf.all.forwarding=1'])).toEqual({ delivered: 5, refused: 0 });
    expect(through(['net.ipv4.conf.all.forwarding=0'])).toEqual({ delivered: 0, refused: 5 });
    // (b's port-unreachable errors back to a arrive on rb, whose forwarding is still 0: r refuses those.)
    expect(through(['net.ipv4.conf.ra.forwarding=1']).delivered).toBe(5);
    expect(through(['net.ipv4.conf.all.forwarding=1', 'net.ipv4.conf.ra.forwarding=0'])).toEqual({ delivered: 0, refused: 5 });
    expect(execFileSync('ip', ['netns', 'exec', r, 'sysctl', '-n', 'net.ipv4.conf.all.forwarding', 'net.ipv4.conf.rb.forwarding'], { encoding: 'utf8' }).split('\n').slice(0, 2)).toEqual(['1', '1']);
  });
});
