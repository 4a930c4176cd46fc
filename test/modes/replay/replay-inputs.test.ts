/**
 * How replay reads what it is given (issue 13): which captures cover every interface, what it warns
 * about, and which packets it calls malformed rather than cut by the snap length.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL } from '../../../agent/decode/link-types.js';
import { parseReplayInputSpec } from '../../../modes/replay/replay-input.js';
import { renderReplayReport } from '../../../modes/replay/replay-report.js';
import { runReplay } from '../../../modes/replay/replay-runner.js';
import { sll } from '../../agent/decode/decode-test-helpers.js';
import { bytesOf, ethernet, ipv4, pcapFile, pcapngFile, udp } from '../../support/packet-builder.js';

const dir = mkdtempSync(join(tmpdir(), 'pw-inputs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const T_NS = 1_790_000_000_000_000_000;

describe('replay inputs', () => {
  it('a Linux SLL v1 capture is one interface (it carries no index): named as given, no drops judged', async () => {
    // 200 inbound UDP packets on a PPP link, never seen leaving: with one interface nothing can be missing.
    const packets = Array.from({ length: 200 }, (_, i) => ({
      tsNs: T_NS + i * 5_000_000,
      frame: sll(0x0800, 0, ipv4({ src: '198.51.100.7', dst: '203.0.113.9', proto: 17, id: i }, udp({ sport: 5004, dport: 5004 }, bytesOf(`rtp ${i} ......`)))),
    }));
    const file = join(dir, 'ppp.pcap');
    writeFileSync(file, pcapFile(LINKTYPE_LINUX_SLL, packets));
    const r = await runReplay({ inputs: [parseReplayInputSpec(`ppp0=${file}`)] });
    expect(r.drops).toEqual([]);
    expect(r.stats.nodes).toHaveLength(1);
    expect(r.stats.nodes[0]).toMatchObject({ node: 'local', coversAllInterfaces: false, interfaces: [{ name: 'ppp0', role: 'uplink' }] });
    // Unnamed, it is named after the file, not `any`.
    const unnamed = await runReplay({ inputs: [parseReplayInputSpec(file)] });
    expect(unnamed.stats.nodes[0]?.interfaces.map((i) => i.name)).toEqual(['ppp']);
  });

  it('a packet that left and then came back (a peer echoing it byte for byte) was sent, not forwarded', async () => {
    // The host sends RTP out of eth0; its peer echoes each packet: addresses swapped, IP id, length
    // and payload the same, so the same fingerprint, one millisecond later.
    const host = '192.0.2.10';
    const peer = '198.51.100.20';
    const mac = { host: [2, 0, 0, 0, 0, 10], peer: [2, 0, 0, 0, 0, 20] };
    const packets = Array.from({ length: 50 }, (_, i) => {
      const payload = bytesOf(`rtp frame ${String(i).padStart(4, '0')} ....`);
      const out = ethernet({ src: mac.host, dst: mac.peer }, ipv4({ src: host, dst: peer, proto: 17, id: 7000 + i, ttl: 64 }, udp({ sport: 16384, dport: 16384 }, payload)));
      const back = ethernet({ src: mac.peer, dst: mac.host }, ipv4({ src: peer, dst: host, proto: 17, id: 7000 + i, ttl: 57 }, udp({ sport: 16384, dport: 16384 }, payload)));
      const t = T_NS + i * 20_000_000;
      return [
        { iface: 0, tsNs: t, frame: out, inbound: false },
        { iface: 0, tsNs: t + 1_000_000, frame: back, inbound: true },
      ];
    }).flat();
    const file = join(dir, 'echo.pcapng');
    writeFileSync(file, pcapngFile([{ name: 'eth0', linkType: LINKTYPE_ETHERNET }], packets));
    const r = await runReplay({ inputs: [parseReplayInputSpec(file)] });
    expect(r.stats.nodes[0]).toMatchObject({ forwarded: 0, originated: 50 });
    expect(r.drops).toEqual([]);
  });

  it('warns about packets of link types it does not decode, in the JSON and the report', async () => {
    const file = join(dir, 'nflog.pcap');
    writeFileSync(file, pcapFile(239, Array.from({ length: 10 }, (_, i) => ({ tsNs: T_NS + i * 1e6, frame: new Uint8Array(40).fill(i) }))));
    const r = await runReplay({ inputs: [parseReplayInputSpec(file)] });
    expect(r.stats.warnings).toEqual([`${file}: 10 packet(s) of link type 239 (NFLOG), which pathwatch does not decode: counted, not analysed`]);
    expect(renderReplayReport(r.drops, r.stats)).toContain(`warning: ${file}: 10 packet(s) of link type 239 (NFLOG)`);
  });

  it('a packet whose lengths run past a frame captured whole is malformed, not cut by the snap length', async () => {
    // IPv4 total length 65028 in a 1530-byte frame, captured whole (caplen = length on the wire).
    const lying = ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, id: 1 }, udp({ sport: 1, dport: 2 }, new Uint8Array(1488)));
    lying[2] = 0xfe;
    lying[3] = 0x04;
    const honest = ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, id: 2 }, udp({ sport: 1, dport: 2 }, new Uint8Array(1488)));
    const whole = ethernet({}, lying);
    const file = join(dir, 'lengths.pcap');
    // The second packet is cut by the snap length: 96 of its 1530 bytes captured.
    const header = (caplen: number, origlen: number, i: number): Uint8Array => {
      const h = new Uint8Array(16);
      const v = new DataView(h.buffer);
      v.setUint32(0, 1_790_000_000 + i, true);
      v.setUint32(8, caplen, true);
      v.setUint32(12, origlen, true);
      return h;
    };
    const cut = ethernet({}, honest);
    const pcap = pcapFile(LINKTYPE_ETHERNET, []);
    writeFileSync(file, Buffer.concat([pcap, header(whole.length, whole.length, 0), whole, header(96, cut.length, 1), cut.subarray(0, 96)]));
    const r = await runReplay({ inputs: [parseReplayInputSpec(file)] });
    expect([r.stats.malformed, r.stats.truncated]).toEqual([1, 1]);
  });

  it('says what was and was not checked when nothing vanished, and names each count', async () => {
    // eth0 and a pod veth captured without directions: 2 packets are seen going through (hop order
    // gives their direction, and eth0's MAC); 20 more arrive on eth0 only (that MAC says so) for an
    // address whose interface was not captured.
    const through = (i: number) => ipv4({ src: '100.64.0.1', dst: '10.91.0.2', proto: 17, id: 100 + i }, udp({ sport: 9, dport: 9 }, bytesOf(`through ${i}`)));
    const only = (i: number) => ipv4({ src: '203.0.113.5', dst: '203.0.113.6', proto: 17, id: 200 + i }, udp({ sport: 7, dport: 7 }, bytesOf(`only ${i} ...`)));
    // The captures run on for a second after the last of them (a packet through at 3 s).
    const at = (i: number): number => (i === 0 ? T_NS : T_NS + 3e9);
    const eth0 = [...[0, 1].map((i) => ({ tsNs: at(i), frame: ethernet({}, through(i)) })), ...Array.from({ length: 20 }, (_, i) => ({ tsNs: T_NS + 1e8 + i * 1e8, frame: ethernet({}, only(i)) }))].sort((x, y) => x.tsNs - y.tsNs);
    const veth = [0, 1].map((i) => ({ tsNs: at(i) + 20_000, frame: ethernet({}, through(i)) }));
    const a = join(dir, 'eth0.pcap');
    const b = join(dir, 'cali1.pcap');
    writeFileSync(a, pcapFile(LINKTYPE_ETHERNET, eth0));
    writeFileSync(b, pcapFile(LINKTYPE_ETHERNET, veth));
    const r = await runReplay({ inputs: [a, b].map((p) => parseReplayInputSpec(p)) });
    const report = renderReplayReport(r.drops, r.stats);
    expect(report).not.toContain('every packet that entered a node was seen leaving it');
    expect(report).toContain('No vanished packets among those that could be checked: 2 of 22 distinct packets were seen coming in and going out; 20 could not be checked');
    expect(report).toMatch(/not checked: 20 whose exit interface was not captured, 0 of unknown direction/);
    expect(report).toMatch(/^pathwatch replay: 24 capture records \(24 IP\) from 2 input\(s\), 1 node\(s\), \d+ flow records$/m);
    expect(report).toContain('22 distinct packets (24 sightings)');
  });
});
