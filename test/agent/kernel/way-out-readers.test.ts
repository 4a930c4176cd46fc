/**
 * The readers behind the conntrack, MTU and neighbour evidence (issue 16), on text as the kernel
 * and iproute2 print it, and on packet bytes as captured.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConntrackStat } from '../../../agent/kernel/conntrack-stats.js';
import { parseNeighbourState, readCarrier, readMtu } from '../../../agent/kernel/neighbour-check.js';
import { ipv4SizeOf } from '../../../agent/kernel/packet-size.js';

// Two CPUs, as /proc/net/stat/nf_conntrack prints them (kernel 6.x): hexadecimal per CPU.
const STAT = `entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart
00000003  00000000 00000000 00000000 0000000a 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000  00000000 00000000 00000000 00000001
00000003  00000000 00000000 00000000 00000005 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000  00000000 00000000 00000000 00000000
`;

describe('conntrack statistics', () => {
  it('sums a column over every CPU, in hexadecimal', () => {
    expect(parseConntrackStat(STAT, 'invalid')).toBe(15);
    expect(parseConntrackStat(STAT, 'search_restart')).toBe(1);
  });
  it('is unknown for a missing column or a garbled line', () => {
    expect(parseConntrackStat(STAT, 'nonsense')).toBeUndefined();
    expect(parseConntrackStat('entries invalid\n00000001 zz\n', 'invalid')).toBeUndefined();
    expect(parseConntrackStat('', 'invalid')).toBeUndefined();
  });
});

describe('neighbour entries (ip -j neigh show to ADDR dev DEV)', () => {
  it('reads the state of the entry for the address, none without one', () => {
    expect(parseNeighbourState('[{"dst":"10.91.1.130","dev":"cali1","state":["FAILED"]}]', '10.91.1.130')).toBe('FAILED');
    expect(parseNeighbourState('[{"dst":"10.91.1.130","dev":"cali1","lladdr":"02:00:00:00:00:01","state":["REACHABLE"]}]', '10.91.1.130')).toBe('REACHABLE');
    expect(parseNeighbourState('[]', '10.91.1.130')).toBe('none');
    expect(parseNeighbourState('', '10.91.1.130')).toBe('none');
    // A state that is not an iproute2 name is not passed on.
    expect(parseNeighbourState('[{"dst":"10.91.1.130","state":["bad; reboot"]}]', '10.91.1.130')).toBe('NONE');
  });
});

describe('link facts from sysfs', () => {
  const sys = mkdtempSync(join(tmpdir(), 'pathwatch-sysfs-'));
  const dev = (name: string, files: Record<string, string>): void => {
    mkdirSync(join(sys, name), { recursive: true });
    for (const [f, v] of Object.entries(files)) writeFileSync(join(sys, name, f), `${v}\n`);
  };
  dev('cali1', { carrier: '0', mtu: '1500', operstate: 'lowerlayerdown' });
  dev('tunl0', { carrier: '1', mtu: '1480', operstate: 'unknown' });
  // The kernel refuses to read `carrier` of an interface that is down: no file here.
  dev('down0', { operstate: 'down', mtu: '1500' });
  it('carrier, from carrier or else an operstate of down; MTU', () => {
    expect(readCarrier('cali1', sys)).toBe(false);
    expect(readCarrier('tunl0', sys)).toBe(true);
    expect(readCarrier('down0', sys)).toBe(false);
    expect(readCarrier('gone0', sys)).toBeNull();
    expect(readMtu('tunl0', sys)).toBe(1480);
    expect(readMtu('gone0', sys)).toBeNull();
    // A name that is not an interface name is not looked up (no path outside sysfs).
    expect(readMtu('../tunl0', sys)).toBeNull();
  });
});

describe('a vanished packet’s size and DF bit from its bytes', () => {
  /** An IPv4 header of `length` bytes total, DF set or not, protocol `proto`. */
  const ipv4 = (length: number, df: boolean, proto = 6): number[] => [0x45, 0, length >> 8, length & 0xff, 0, 1, df ? 0x40 : 0, 0, 64, proto, 0, 0, 100, 64, 0, 1, 10, 91, 1, 130];
  const ethernet = (etherType = [0x08, 0x00]): number[] => [...Array(12).fill(2), ...etherType];
  const sample = (bytes: number[], linkType: number) => ({ bytes: Uint8Array.from(bytes), linkType, origLen: bytes.length, ts: 0 });

  it('reads Ethernet (with a VLAN tag), Linux cooked v1 and v2, and raw IP', () => {
    expect(ipv4SizeOf(sample([...ethernet(), ...ipv4(1500, true)], 1))).toEqual({ length: 1500, dontFragment: true });
    expect(ipv4SizeOf(sample([...ethernet([0x81, 0x00]), 0, 5, 0x08, 0x00, ...ipv4(1400, false)], 1))).toEqual({ length: 1400, dontFragment: false });
    expect(ipv4SizeOf(sample([...Array(14).fill(0), 0x08, 0x00, ...ipv4(576, true)], 113))).toEqual({ length: 576, dontFragment: true });
    expect(ipv4SizeOf(sample([0x08, 0x00, ...Array(18).fill(0), ...ipv4(1480, true)], 276))).toEqual({ length: 1480, dontFragment: true });
    expect(ipv4SizeOf(sample(ipv4(84, false, 1), 101))).toEqual({ length: 84, dontFragment: false });
  });

  it('reads the inner packet of IPIP and VXLAN (what the node forwards after decapsulating)', () => {
    expect(ipv4SizeOf(sample([...ethernet(), ...ipv4(1520, false, 4), ...ipv4(1500, true)], 1))).toEqual({ length: 1500, dontFragment: true });
    const udp = [0x12, 0x34, 0x12, 0xb5, 0x05, 0xd2, 0, 0];
    const vxlan = [0x08, 0, 0, 0, 0, 0x10, 0, 0];
    expect(ipv4SizeOf(sample([...ethernet(), ...ipv4(1550, false, 17), ...udp, ...vxlan, ...ethernet(), ...ipv4(1500, true)], 1))).toEqual({ length: 1500, dontFragment: true });
  });

  it('is null for IPv6, an unknown link type, and bytes too short for a header', () => {
    expect(ipv4SizeOf(sample([...ethernet([0x86, 0xdd]), ...Array(40).fill(0)], 1))).toBeNull();
    expect(ipv4SizeOf(sample(ipv4(84, true), 147))).toBeNull();
    expect(ipv4SizeOf(sample([...ethernet(), 0x45, 0, 5], 1))).toBeNull();
  });
});
