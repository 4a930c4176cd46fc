import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { currentNetnsInode } from '../../../agent/kernel/drop-monitor.js';
import { isGenericKernelReason } from '../../../core/findings/kernel-evidence.js';
import { parseDropReasons, readDropReasons } from '../../../agent/kernel/drop-reasons.js';
import { parseNetstat } from '../../../agent/kernel/netstat-counters.js';
import { readRpFilter } from '../../../agent/kernel/rp-filter.js';

// The tail of a real 6.18 format file, shortened (numbers differ between kernels: only names are stable).
const FORMAT = `print fmt: "skbaddr=%p rx_sk=%p protocol=%u location=%pS reason: %s", REC->skbaddr, REC->rx_sk, REC->protocol, REC->location, __print_symbolic(REC->reason, { 2, "NOT_SPECIFIED" }, { 3, "NO_SOCKET" }, { 12, "NETFILTER_DROP" }, { 16, "IP_RPFILTER" }, { 88, "IP_INNOROUTES" }, { 128, "MAX" })`;

// A whole format file as tracefs gives it: the fields first, then the print format, on a kernel whose
// table is shorter and numbered otherwise (made up for the test, in the kernel's layout).
const OTHER_KERNEL = `name: kfree_skb
ID: 1381
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:void * skbaddr;\toffset:8;\tsize:8;\tsigned:0;
\tfield:void * location;\toffset:16;\tsize:8;\tsigned:0;
\tfield:unsigned short protocol;\toffset:24;\tsize:2;\tsigned:0;
\tfield:enum skb_drop_reason reason;\toffset:28;\tsize:4;\tsigned:0;

print fmt: "skbaddr=%p protocol=%u location=%p reason: %s", REC->skbaddr, REC->protocol, REC->location, __print_symbolic(REC->reason, { 1, "NOT_SPECIFIED" }, { 2, "NO_SOCKET" }, { 3, "PKT_TOO_SMALL" }, { 9, "IP_RPFILTER" }, { 10, "UNICAST_IN_L2_MULTICAST" }, { 11, "MAX" })
`;

describe('kernel readers', () => {
  it('reads drop reason numbers by name from the tracepoint format', () => {
    const r = parseDropReasons(FORMAT);
    expect(r.get('IP_RPFILTER')).toBe(16);
    expect(r.get('NETFILTER_DROP')).toBe(12);
    expect(r.get('IP_INNOROUTES')).toBe(88);
    expect(r.get('NOT_SPECIFIED')).toBe(2);
    expect(r.size).toBe(6);
    expect(parseDropReasons('no symbolic table').size).toBe(0);
  });

  it('reads a whole format file of another kernel by the same names, with its own numbers', () => {
    const r = parseDropReasons(OTHER_KERNEL);
    expect(r.get('IP_RPFILTER')).toBe(9);
    expect(r.get('NOT_SPECIFIED')).toBe(1);
    // Names with digits in them, and nothing from the field list above the table.
    expect(r.get('UNICAST_IN_L2_MULTICAST')).toBe(10);
    expect([...r.keys()]).toEqual(['NOT_SPECIFIED', 'NO_SOCKET', 'PKT_TOO_SMALL', 'IP_RPFILTER', 'UNICAST_IN_L2_MULTICAST', 'MAX']);
  });

  it('reads only the reason\'s table, not another field\'s symbols before it', () => {
    const r = parseDropReasons(`print fmt: "%s %s", __print_symbolic(REC->protocol, { 2048, "IP" }), __print_symbolic(REC->reason, { 16, "IP_RPFILTER" })`);
    expect([...r]).toEqual([['IP_RPFILTER', 16]]);
  });

  it('reads the format from a file (tracefs), and says why when it cannot', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-format-'));
    try {
      const path = join(dir, 'format');
      writeFileSync(path, OTHER_KERNEL);
      expect(readDropReasons(path).get('IP_RPFILTER')).toBe(9);
      expect(() => readDropReasons(join(dir, 'missing'))).toThrow(/ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tells the reasons that say nothing (where the kernel freed the packet is then kept) from those that do', () => {
    expect(isGenericKernelReason('NOT_SPECIFIED')).toBe(true);
    // A number the format has no name for.
    expect(isGenericKernelReason('REASON_131')).toBe(true);
    expect(isGenericKernelReason('IP_RPFILTER')).toBe(false);
    expect(isGenericKernelReason('NO_SOCKET')).toBe(false);
    // A group's packets of a third or further reason, counted together.
    expect(isGenericKernelReason('OTHER')).toBe(true);
  });

  it('knows this process\'s network namespace by its inode (drops elsewhere are not reported)', () => {
    const inode = currentNetnsInode();
    expect(inode).toBeGreaterThan(0);
    expect(inode).toBe(statSync('/proc/self/ns/net').ino);
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
