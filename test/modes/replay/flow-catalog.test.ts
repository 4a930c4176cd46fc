/**
 * Replay's flows over the whole input (issue 13): one entry per interface, encapsulation chain and
 * innermost 5-tuple however many intervals and files carry it, and JSON written exactly as
 * JSON.stringify would write it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LINKTYPE_ETHERNET } from '../../../agent/decode/link-types.js';
import { replayFlowJson, type ReplayFlow } from '../../../modes/replay/flow-catalog.js';
import { parseReplayInputSpec } from '../../../modes/replay/replay-input.js';
import { runReplay } from '../../../modes/replay/replay-runner.js';
import { bytesOf, ethernet, ipv4, pcapFile, udp, vxlan } from '../../support/packet-builder.js';

const dir = mkdtempSync(join(tmpdir(), 'pw-flows-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const T_NS = 1_790_000_000_000_000_000;

function datagram(i: number, sport: number): Uint8Array {
  return ethernet({}, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, id: i }, udp({ sport, dport: 53 }, bytesOf(`query ${i}`))));
}

describe('replay flows', () => {
  it('sum a flow over every interval and file it spans, with first and last seen over all of them', async () => {
    // 40 datagrams of one flow, one every 250 ms (10 s: five 2 s intervals), and 5 of another.
    const packets = Array.from({ length: 40 }, (_, i) => ({ tsNs: T_NS + i * 250_000_000, frame: datagram(i, 5000) }));
    packets.push(...Array.from({ length: 5 }, (_, i) => ({ tsNs: T_NS + i * 1_000_000, frame: datagram(100 + i, 6000) })));
    packets.sort((a, b) => a.tsNs - b.tsNs);
    const whole = join(dir, 'whole.pcap');
    writeFileSync(whole, pcapFile(LINKTYPE_ETHERNET, packets));
    const r = await runReplay({ inputs: [parseReplayInputSpec(`eth0=${whole}`)] });
    expect(r.stats.flowRecords).toBeGreaterThan(5); // one per 2 s interval of the long flow, one of the short
    const [long, short] = r.flows;
    expect(r.flows).toHaveLength(2);
    expect(long).toMatchObject({ node: 'local', iface: 'eth0', src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', sport: 5000, dport: 53, encap: [], packets: 40 });
    expect(long?.firstSeen).toBe(new Date(T_NS / 1e6).toISOString());
    expect(long?.lastSeen).toBe(new Date(T_NS / 1e6 + 39 * 250).toISOString());
    expect(short).toMatchObject({ sport: 6000, packets: 5 });
    // The same packets in two files of the same interface: the same flows.
    const first = join(dir, 'first.pcap');
    const second = join(dir, 'second.pcap');
    writeFileSync(first, pcapFile(LINKTYPE_ETHERNET, packets.slice(0, 20)));
    writeFileSync(second, pcapFile(LINKTYPE_ETHERNET, packets.slice(20)));
    const split = await runReplay({ inputs: [parseReplayInputSpec(`eth0=${second}`), parseReplayInputSpec(`eth0=${first}`)] });
    expect(split.flows).toEqual(r.flows);
  });

  it('key a tunnelled flow by its tunnel: the same inner packets in two VNIs are two flows', async () => {
    const inner = (i: number) => ethernet({}, ipv4({ src: '10.244.1.5', dst: '10.244.2.7', proto: 17, id: i }, udp({ sport: 4000, dport: 53 }, bytesOf(`q${i}`))));
    const outer = (vni: number, i: number) => ethernet({}, ipv4({ src: '192.168.0.1', dst: '192.168.0.2', proto: 17, id: i }, udp({ sport: 40000, dport: 4789 }, vxlan(vni, inner(i)))));
    const file = join(dir, 'vxlan.pcap');
    writeFileSync(file, pcapFile(LINKTYPE_ETHERNET, [1, 2, 3].map((i) => ({ tsNs: T_NS + i * 1_000_000, frame: outer(i === 3 ? 7 : 4096, i) }))));
    const r = await runReplay({ inputs: [parseReplayInputSpec(`eth0=${file}`)] });
    expect(r.flows.map((f) => [f.encap, f.packets])).toEqual([
      [[{ kind: 'vxlan', src: '192.168.0.1', dst: '192.168.0.2', vni: 4096 }], 2],
      [[{ kind: 'vxlan', src: '192.168.0.1', dst: '192.168.0.2', vni: 7 }], 1],
    ]);
    expect(r.stats.encapsulations).toEqual([{ chain: 'vxlan', packets: 3 }]);
  });

  it('write each flow exactly as JSON.stringify does, names with quotes and non-ASCII included', () => {
    const flows: ReplayFlow[] = [
      { node: 'n"1\\', iface: 'eth0\u00e9', src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', sport: 1, dport: 2, encap: [], packets: 3, bytes: 4.5e9, firstSeen: '2026-01-01T00:00:00.000Z', lastSeen: '2026-01-01T00:00:01.000Z' },
      { node: 'n', iface: 'i', src: 'fd00::1', dst: 'fd00::2', proto: '89', sport: null, dport: null, encap: [{ kind: 'ipip', src: '1.1.1.1', dst: '2.2.2.2', vni: null }, { kind: 'gre', src: '3.3.3.3', dst: '4.4.4.4', vni: -5 + 5 }], packets: 1, bytes: 0, firstSeen: 'a', lastSeen: 'b' },
      { node: 'n', iface: 'i', src: null, dst: null, proto: null, sport: null, dport: null, encap: [{ kind: 'gre', src: '3.3.3.3', dst: '4.4.4.4', vni: 17 }], undecoded: 'ppp-protocol-0xc021', packets: 1, bytes: 94, firstSeen: 'a', lastSeen: 'b' },
    ];
    for (const f of flows) expect(replayFlowJson(f)).toBe(JSON.stringify(f));
  });
});
