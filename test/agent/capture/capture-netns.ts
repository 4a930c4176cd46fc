/**
 * Two network namespaces joined by a veth, made for the live capture tests: `a` (10.251.0.1 on
 * `pwlca`) and `b` (10.251.0.2 on `pwlcb`), a permanent neighbour entry each way (no ARP), and
 * senders that run inside `a` and only ever address `b`. Nothing here touches this machine's own
 * namespace; destroy() deletes both namespaces.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { pythonExecutable } from '../../../lab/exec.js';

export const ADDR_A = '10.251.0.1';
export const ADDR_B = '10.251.0.2';
export const IF_A = 'pwlca';
export const IF_B = 'pwlcb';

/** Linux packet types (SLL2's pkttype): received for this host, and sent by it. */
export const PACKET_HOST = 0;
export const PACKET_OUTGOING = 4;

export interface NamespacePair {
  readonly a: string;
  readonly b: string;
  /** /run/netns paths, for LiveCaptureOptions.netns. */
  readonly aPath: string;
  readonly bPath: string;
  /** Interface indexes of the veth ends, each in its own namespace. */
  readonly ifindexA: number;
  readonly ifindexB: number;
  destroy(): void;
}

function ip(args: readonly string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
}

function link(ns: string, dev: string): { ifindex: number; address: string } {
  const parsed = JSON.parse(ip(['-n', ns, '-j', 'link', 'show', 'dev', dev])) as Array<{ ifindex: number; address: string }>;
  const first = parsed[0];
  if (!first) throw new Error(`no ${dev} in ${ns}`);
  return first;
}

export function makeNamespacePair(prefix: string): NamespacePair {
  const tag = randomBytes(3).toString('hex');
  const a = `${prefix}${tag}a`;
  const b = `${prefix}${tag}b`;
  const made: string[] = [];
  const destroy = (): void => {
    for (const ns of made) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 10_000 });
      } catch {
        // gone already
      }
    }
    made.length = 0;
  };
  try {
    for (const ns of [a, b]) {
      ip(['netns', 'add', ns]);
      made.push(ns);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    ip(['-n', a, 'link', 'add', IF_A, 'type', 'veth', 'peer', 'name', IF_B, 'netns', b]);
    ip(['-n', a, 'addr', 'add', `${ADDR_A}/30`, 'dev', IF_A]);
    ip(['-n', b, 'addr', 'add', `${ADDR_B}/30`, 'dev', IF_B]);
    ip(['-n', a, 'link', 'set', IF_A, 'up']);
    ip(['-n', b, 'link', 'set', IF_B, 'up']);
    const la = link(a, IF_A);
    const lb = link(b, IF_B);
    ip(['-n', a, 'neigh', 'replace', ADDR_B, 'lladdr', lb.address, 'dev', IF_A, 'nud', 'permanent']);
    ip(['-n', b, 'neigh', 'replace', ADDR_A, 'lladdr', la.address, 'dev', IF_B, 'nud', 'permanent']);
    return { a, b, aPath: `/run/netns/${a}`, bPath: `/run/netns/${b}`, ifindexA: la.ifindex, ifindexB: lb.ifindex, destroy };
  } catch (e) {
    destroy();
    throw e;
  }
}

/** Sends `count` UDP datagrams (payload `pathwatch <i>`) from namespace `ns` to ADDR_B:port. */
export function sendUdp(ns: string, port: number, count: number): void {
  const script = `
const s = require('node:dgram').createSocket('udp4');
let i = 0;
const next = () => {
  if (i === ${count}) { s.close(); return; }
  s.send('pathwatch ' + i++, ${port}, '${ADDR_B}', next);
};
next();`;
  execFileSync('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: 'pipe', timeout: 30_000 });
}

/** Sends `count` ICMP echo requests from namespace `ns` to ADDR_B (raw socket), waiting for each reply. */
export function sendPings(ns: string, count: number): void {
  const script = `
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(1.0)
for seq in range(${count}):
    body = struct.pack('!BBHHH', 8, 0, 0, 4242, seq) + b'pathwatch-capture'
    padded = body + b'\\0' * (len(body) % 2)
    c = sum(struct.unpack('!%dH' % (len(padded) // 2), padded))
    c = (c >> 16) + (c & 0xffff); c = ~(c + (c >> 16)) & 0xffff
    s.sendto(body[:2] + struct.pack('!H', c) + body[4:], ('${ADDR_B}', 0))
    s.recv(1500)
`;
  execFileSync('ip', ['netns', 'exec', ns, pythonExecutable(), '-c', script], { stdio: 'pipe', timeout: 30_000 });
}
