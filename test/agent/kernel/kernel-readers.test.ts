import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bpftraceProgram, FORWARDING_DROP_REASONS } from '../../../agent/kernel/drop-monitor.js';
import { parseDropReasons } from '../../../agent/kernel/drop-reasons.js';
import { parseNetstat } from '../../../agent/kernel/netstat-counters.js';
import { readRpFilter } from '../../../agent/kernel/rp-filter.js';

// The tail of a real 6.18 format file (numbers differ between kernels: only names are stable).
const FORMAT = `print fmt: "skbaddr=%p rx_sk=%p protocol=%u location=%pS reason: %s", REC->skbaddr, REC->rx_sk, REC->protocol, REC->location, __print_symbolic(REC->reason, { 2, "NOT_SPECIFIED" }, { 3, "NO_SOCKET" }, { 12, "NETFILTER_DROP" }, { 16, "IP_RPFILTER" }, { 88, "IP_INNOROUTES" }, { 128, "MAX" })`;

describe('kernel readers', () => {
  it('reads drop reason numbers by name from the tracepoint format', () => {
    const r = parseDropReasons(FORMAT);
    expect(r.get('IP_RPFILTER')).toBe(16);
    expect(r.get('NETFILTER_DROP')).toBe(12);
    expect(r.get('IP_INNOROUTES')).toBe(88);
    expect(parseDropReasons('no symbolic table').size).toBe(0);
  });

  it('builds a bpftrace filter from the numbers this kernel uses, for this namespace only', () => {
    const program = bpftraceProgram(parseDropReasons(FORMAT), 4026532001);
    expect(program).toContain('args->reason == 16');
    expect(program).toContain('args->reason == 12');
    expect(program).toContain('ns.inum == 4026532001');
    expect(program).not.toContain('args->reason == 3');
    expect(FORWARDING_DROP_REASONS).toContain('IP_RPFILTER');
  });

  it('parses /proc/net/netstat pairs of lines into prefixed counters', () => {
    const text = 'TcpExt: SyncookiesSent IPReversePathFilter\nTcpExt: 0 42\nIpExt: InNoRoutes\nIpExt: 7\n';
    const m = parseNetstat(text);
    expect(m.get('TcpExtIPReversePathFilter')).toBe(42);
    expect(m.get('IpExtInNoRoutes')).toBe(7);
  });

  it('takes the larger of all and the interface as the rp_filter in effect', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-proc-'));
    try {
      for (const [iface, v] of [['all', '1'], ['vxlan.calico', '0'], ['tunl0', '2']]) {
        mkdirSync(join(dir, 'net/ipv4/conf', iface as string), { recursive: true });
        writeFileSync(join(dir, 'net/ipv4/conf', iface as string, 'rp_filter'), `${v}\n`);
      }
      expect(readRpFilter('vxlan.calico', dir)).toEqual({ all: 1, iface: 0, effective: 1 });
      expect(readRpFilter('tunl0', dir)).toEqual({ all: 1, iface: 2, effective: 2 });
      expect(readRpFilter('gone0', dir)).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
