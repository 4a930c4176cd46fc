/**
 * The wire codec against the contract: every message and field survives a round trip, garbage only
 * ever fails as WireDecodeError, and protoc (an independent protobuf implementation reading the same
 * .proto) agrees with our bytes in both directions, so a non-pbf collector or agent can interoperate.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeBatch,
  encodeBatch,
  loadWireSchema,
  MAX_BATCH_BYTES,
  WireDecodeError,
} from '../../schemas/wire-codec.js';
import { WireDirection, type WireBatch } from '../../schemas/wire-types.js';

const SCHEMA_PATH = loadWireSchema().schemaPath;
const PROTOC = process.env.PROTOC ?? 'protoc';
const hasProtoc = spawnSync(PROTOC, ['--version'], { stdio: 'ignore' }).error === undefined;

const V4_POD = new Uint8Array([10, 244, 1, 5]);
const V4_SVC = new Uint8Array([10, 96, 0, 10]);
const V6_POD = new Uint8Array([0xfd, 0x00, 0x10, 0xf4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x05]);
const V6_NODE = new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02]);

/** Every field of every message set to a non-default value, so each one crosses the wire. */
function fullBatch(): WireBatch {
  const hop = {
    node: 'node-a',
    iface: 'vxlan.calico',
    role: 'tunnel',
    direction: WireDirection.DIRECTION_IN,
    direction_source: 'pcap-direction',
    ts_ms: 1718000000123.625,
    encap: 'vxlan',
    outer_src: '192.168.10.2',
    outer_dst: 'fd00::2',
    vni: 4096,
    ttl: 63,
    length: 1450,
  };
  return {
    agent_id: 'machine-id-0123456789abcdef',
    boot_id: 'boot-7f3a',
    sequence: 7,
    node: 'node-a',
    sent_at_ms: 1718000000999,
    source: 'replay',
    flows: [
      {
        iface: 'eth0',
        direction: WireDirection.DIRECTION_IN,
        src: V4_POD,
        dst: V4_SVC,
        proto: 6,
        sport: 43512,
        dport: 80,
        encap: 'vxlan',
        outer_src: V6_NODE,
        outer_dst: V6_POD,
        vni: -1,
        packets: 5_000_000_001,
        bytes: 2 ** 40 + 3,
        first_seen_ms: 1718000000000.5,
        last_seen_ms: 1718000000999.25,
      },
      {
        iface: 'cali1234',
        direction: WireDirection.DIRECTION_OUT,
        src: V6_POD,
        dst: V6_NODE,
        proto: 58,
        sport: 1,
        dport: 2,
        encap: 'none',
        outer_src: new Uint8Array([1]),
        outer_dst: new Uint8Array([2]),
        vni: 7,
        packets: 1,
        bytes: 1,
        first_seen_ms: 0.125,
        last_seen_ms: 0.25,
      },
    ],
    vanished: [
      {
        iface: 'vxlan.calico',
        role: 'tunnel',
        src: '10.244.1.5',
        dst: 'fd00:10f4::105',
        proto: 1,
        sport: -1,
        dport: -1,
        packets: 3,
        first_seen_ms: 1718000000100.75,
        last_seen_ms: 1718000000200.5,
        fingerprints: ['fp-1', 'fp-2'],
        path: [hop, { ...hop, iface: 'cali1234', role: 'pod', direction: WireDirection.DIRECTION_OUT, vni: -1 }],
        expected_exit: 'cali1234',
        reverse_exits: ['eth0', 'vxlan.calico'],
        kernel: {
          drop_reasons: { IP_RPFILTER: 3, NETFILTER_DROP: 1 },
          has_rp_filter: true,
          rp_filter_all: 1,
          rp_filter_iface: 2,
          rp_filter_effective: 2,
          rp_filter_counter_delta: -1,
          route_back_iface: 'eth1',
          route_check_error: 'RTNETLINK answers: Network is unreachable',
          drop_locations: { NOT_SPECIFIED: 'ip_rcv_finish_core+0x1a', REASON_99: '0xffffffff81b2c3d4' },
          has_forwarding: true,
          // Any uint32 crosses the wire (the collector reads non-zero as on); two values tell the fields apart.
          forwarding_all: 1,
          forwarding_iface: 3,
          route_type: 'blackhole',
          route_dst: '10.244.1.0/26',
          route_dev: 'vxlan.calico',
          route_via: 'fd00::3',
          netfilter_rules: [
            // The rule's text as iptables-save prints it: quotes, slashes and all.
            { table: 'raw', chain: 'cali-PREROUTING', rule: '-A cali-PREROUTING -m comment --comment "cali:PWuxTAIaFCtsg5Qa" -m mark --mark 0x40000/0x40000 -m rpfilter --validmark --invert -j DROP', packets: 2 ** 40 + 5 },
            { table: 'filter', chain: 'FORWARD', rule: '-A FORWARD -d 10.244.1.5/32 -j REJECT --reject-with icmp-port-unreachable', packets: 1 },
          ],
          conntrack_invalid_delta: 2 ** 33 + 1,
          mtu_exit_iface: 'tunl0',
          mtu_exit: 1480,
          mtu_underlay_iface: 'eth0',
          mtu_underlay: 9001,
          mtu_packet_length: 1500,
          mtu_dont_fragment: 2,
          mtu_frag_fails_delta: 7,
          neighbour_address: '10.244.1.5',
          neighbour_dev: 'cali1234',
          neighbour_state: 'FAILED',
          neighbour_carrier: 1,
        },
        first_bytes: new Uint8Array([0x45, 0x00, 0x00, 0x54, 0xff, 0x00]),
        link_type: 1,
        first_orig_len: 1514,
        first_bytes_ts_ms: 1718000000100.25,
        direction_uncertain: true,
        arrival_mac_src: '02:00:00:00:01:01',
        arrival_mac_dst: 'ee:ee:ee:ee:ee:ee',
      },
    ],
    kernel_drops: [
      { reason: 'IP_RPFILTER', ifindex: 4, src: '10.244.1.5', dst: '10.96.0.10', proto: 17, sport: 5353, dport: 53, ts_ms: 1718000000150.5 },
    ],
    cross_node: [
      {
        fingerprint: 'fp-9',
        departure: true,
        outer_peer: '192.168.10.3',
        ts_ms: 1718000000160.125,
        path: [hop],
        src: '10.244.1.5',
        dst: '10.244.2.9',
        proto: 6,
        sport: -1,
        dport: 8080,
      },
    ],
    capture: {
      received: 123456789012,
      dropped_by_kernel: 5,
      dropped_by_interface: 6,
      ebpf_monitor: true,
      ebpf_unavailable_reason: 'bpftrace not found',
      truncated_unjudged: 2,
      ebpf_events_lost: 2 ** 40 + 1,
    },
    loss: { batches_dropped: 4, bytes_dropped: 65536 },
    status: {
      interfaces: [{ name: 'tunl0', role: 'tunnel', packets: 12, bytes: 1200 }],
      addresses: ['192.168.77.12', 'fd00::2'],
      agent_version: '0.1.0',
      kernel_drops: [
        { reason: 'IP_RPFILTER', iface: 'tunl0', drops: 5_000_000_001, matched: 3 },
        { reason: 'NOT_SPECIFIED', iface: '', drops: 7, matched: 1 },
      ],
    },
    knowledge: {
      own_addresses: ['192.168.77.12'],
      locations: [{ address: '10.244.1.5', iface: 'cali1234' }],
      exits: [{ src: '10.244.1.5', dst: '100.64.0.1', ifaces: ['eth0', 'vxlan.calico'] }],
      own_macs: [{ iface: 'eth0', mac: '02:00:00:00:02:01' }],
    },
    counters: {
      packets: 11,
      sightings: 22,
      forwarded: 3,
      originated: 4,
      direction_unknown: 5,
      not_unicast: 6,
      truncated_unjudged: 7,
      capture_ended_unjudged: 8,
      local: 9,
      vanish_candidates: 10,
      vanished_groups_overflow: 1,
    },
    capture_loss: [{ from_ms: 1718000000000.5, until_ms: 1718000000500.25, packets: 17 }],
    covered_until_ms: 1718000000750.125,
    covers_all_interfaces: true,
  };
}

function isDefault(value: unknown): boolean {
  if (value === undefined || value === '' || value === 0 || value === false) return true;
  if (value instanceof Uint8Array || Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && value !== null && Object.keys(value).length === 0;
}

/** Decoding either succeeds with an identified batch or fails as WireDecodeError, nothing else. */
function decodesOrRejects(bytes: Uint8Array): 'decoded' | 'rejected' {
  try {
    const batch = decodeBatch(bytes);
    expect(batch.agent_id).not.toBe('');
    expect(batch.sequence).toBeGreaterThan(0);
    return 'decoded';
  } catch (err) {
    expect(err).toBeInstanceOf(WireDecodeError);
    expect((err as Error).message).not.toMatch(/\n/);
    return 'rejected';
  }
}

/** Skips when protoc is absent, except in CI, where a missing protoc must fail the run. */
function requireProtoc(skip: (note: string) => never): string {
  if (hasProtoc) return PROTOC;
  if (process.env.CI === 'true') throw new Error('protoc is required in CI (CI=true) but was not found on PATH');
  skip('protoc not installed (apt install protobuf-compiler): interop with an independent decoder skipped');
}

function protoc(bin: string, mode: 'decode' | 'encode', input: Uint8Array | string): Buffer {
  const r = spawnSync(bin, [`--${mode}=pathwatch.v1.Batch`, `--proto_path=${dirname(SCHEMA_PATH)}`, 'pathwatch.proto'], {
    input,
  });
  if (r.error) throw r.error;
  expect(r.status, `protoc --${mode}: ${r.stderr.toString()}`).toBe(0);
  return r.stdout;
}

describe('wire codec', () => {
  it('round-trips a batch with every message and field set', () => {
    const batch = fullBatch();
    const bytes = encodeBatch(batch);
    expect(bytes.byteLength).toBe(bytes.buffer.byteLength);
    expect(decodeBatch(bytes)).toEqual(batch);
  });

  it('has types that mirror the schema: the fixture sets exactly the fields each message declares', async () => {
    const parser: string = 'protocol-buffers-schema';
    const { parse } = (await import(parser)) as { parse: (src: Buffer) => { messages: { name: string; fields: { name: string }[] }[] } };
    const b = fullBatch();
    const vanished = b.vanished[0]!;
    const samples: Record<string, object | undefined> = {
      Batch: b,
      FlowRecord: b.flows[0],
      Hop: vanished.path[0],
      VanishedGroup: vanished,
      KernelEvidence: vanished.kernel,
      NetfilterRuleGrowth: vanished.kernel?.netfilter_rules[0],
      KernelDrop: b.kernel_drops[0],
      CrossNodeHop: b.cross_node[0],
      CaptureHealth: b.capture,
      LossReport: b.loss,
      NodeStatus: b.status,
      InterfaceStatus: b.status?.interfaces[0],
      KernelDropTally: b.status?.kernel_drops[0],
      NodeKnowledge: b.knowledge,
      AddressLocation: b.knowledge?.locations[0],
      PairExits: b.knowledge?.exits[0],
      InterfaceMac: b.knowledge?.own_macs[0],
      NodeCounters: b.counters,
      CaptureLossSpan: b.capture_loss[0],
    };
    const messages = parse(readFileSync(SCHEMA_PATH)).messages;
    expect(messages.map((m) => m.name).sort()).toEqual(Object.keys(samples).sort());
    for (const m of messages) {
      const sample = samples[m.name]!;
      expect(Object.keys(sample).sort(), m.name).toEqual(m.fields.map((f) => f.name).sort());
      for (const [field, value] of Object.entries(sample)) expect(isDefault(value), `${m.name}.${field} is set`).toBe(false);
    }
  });

  it('leaves defaults off the wire and reads them back as defaults', () => {
    const bytes = encodeBatch({ agent_id: 'a', boot_id: '', sequence: 1, node: '', sent_at_ms: 0, source: '', flows: [], vanished: [], kernel_drops: [], cross_node: [], capture_loss: [], covered_until_ms: 0, covers_all_interfaces: false });
    expect(bytes.byteLength).toBe(5);
    expect(decodeBatch(bytes)).toEqual({
      agent_id: 'a', boot_id: '', sequence: 1, node: '', sent_at_ms: 0, flows: [], vanished: [], kernel_drops: [], cross_node: [],
      capture: undefined, loss: undefined, status: undefined, source: '',
      knowledge: undefined, counters: undefined, capture_loss: [], covered_until_ms: 0, covers_all_interfaces: false,
    });
  });

  it('does not let decoded bytes alias the caller buffer', () => {
    const bytes = encodeBatch(fullBatch());
    const decoded = decodeBatch(bytes);
    bytes.fill(0);
    expect(decoded.flows[0]!.src).toEqual(V4_POD);
  });

  it('refuses to encode a batch without its identity', () => {
    expect(() => encodeBatch({ ...fullBatch(), agent_id: '' })).toThrow(RangeError);
    expect(() => encodeBatch({ ...fullBatch(), sequence: 0 })).toThrow(RangeError);
  });

  it('rejects input without an identity, over the size limit, or malformed in the middle', () => {
    expect(() => decodeBatch(new Uint8Array(0))).toThrow(/no agent_id/);
    // agent_id "a" only: sequence missing.
    expect(() => decodeBatch(new Uint8Array([0x0a, 0x01, 0x61]))).toThrow(/sequence 0/);
    expect(() => decodeBatch(new Uint8Array(MAX_BATCH_BYTES + 1))).toThrow(WireDecodeError);
    const good = encodeBatch(fullBatch());
    // A field number 0 before the real fields: pbf alone would stop there and return defaults.
    expect(() => decodeBatch(new Uint8Array([0x00, ...good]))).toThrow(/field number 0/);
    // agent_id claims 200 bytes: past the end of the input.
    expect(() => decodeBatch(new Uint8Array([0x0a, 0xc8, 0x01, 0x61, 0x18, 0x01]))).toThrow(WireDecodeError);
  });

  it('rejects truncated batches only with WireDecodeError, and always when cut inside a message', () => {
    const bytes = encodeBatch(fullBatch());
    const outcomes = new Set<string>();
    for (let cut = 0; cut < bytes.byteLength; cut++) outcomes.add(decodesOrRejects(bytes.subarray(0, cut)));
    // Some cuts fall on a field boundary and are valid shorter batches; the last byte never is.
    expect(outcomes).toEqual(new Set(['decoded', 'rejected']));
    expect(() => decodeBatch(bytes.subarray(0, bytes.byteLength - 1))).toThrow(WireDecodeError);
  });

  it('fails random bytes only with WireDecodeError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => void decodesOrRejects(bytes)), { numRuns: 200 });
  });

  it('fails corrupted batches only with WireDecodeError', () => {
    const good = encodeBatch(fullBatch());
    const edit = fc.record({ at: fc.nat({ max: good.byteLength - 1 }), value: fc.integer({ min: 0, max: 255 }) });
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 8 }), (edits) => {
        const bytes = good.slice();
        for (const { at, value } of edits) bytes[at] = value;
        decodesOrRejects(bytes);
      }),
      { numRuns: 200 },
    );
  });

  it('throws a plain Error (not WireDecodeError) for a missing schema file', () => {
    expect(() => loadWireSchema('/nonexistent/pathwatch.proto')).toThrow(/cannot compile/);
    expect(() => loadWireSchema('/nonexistent/pathwatch.proto')).not.toThrow(WireDecodeError);
  });
});

describe('interop with protoc (an independent protobuf implementation)', () => {
  it('protoc decodes our bytes to the same values', ({ skip }) => {
    const bin = requireProtoc(skip);
    const text = protoc(bin, 'decode', encodeBatch(fullBatch())).toString('utf8');
    expect(text).toMatch(/^agent_id: "machine-id-0123456789abcdef"$/m);
    expect(text).toMatch(/^sequence: 7$/m);
    expect(text).toMatch(/^sent_at_ms: 1718000000999$/m);
    expect(text).toMatch(/^ {2}dport: 80$/m);
    expect(text).toMatch(/^ {2}vni: -1$/m);
    expect(text).toMatch(/^ {2}packets: 5000000001$/m);
    expect(text).toMatch(/^ {2}direction: DIRECTION_IN$/m);
    expect(text).toContain('src: "\\n\\364\\001\\005"');
    expect(text).toContain('outer_dst: "\\375\\000\\020\\364\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\001\\005"');
    expect(text).toMatch(/drop_reasons \{\s+key: "IP_RPFILTER"\s+value: 3\s+\}/);
    expect(text).toMatch(/^ {4}drop_locations \{\n {6}key: "NOT_SPECIFIED"\n {6}value: "ip_rcv_finish_core\+0x1a"\n {4}\}$/m);
    expect(text).toMatch(/^ {2}ebpf_events_lost: 1099511627777$/m);
    expect(text).toMatch(/^ {2}kernel_drops \{\n {4}reason: "IP_RPFILTER"\n {4}iface: "tunl0"\n {4}drops: 5000000001\n {4}matched: 3\n {2}\}$/m);
    expect(text).toMatch(/^ {4}rp_filter_counter_delta: -1$/m);
    expect(text).toMatch(/^ {4}has_forwarding: true\n {4}forwarding_all: 1\n {4}forwarding_iface: 3$/m);
    expect(text).toMatch(/^ {4}route_type: "blackhole"\n {4}route_dst: "10.244.1.0\/26"\n {4}route_dev: "vxlan.calico"\n {4}route_via: "fd00::3"$/m);
    expect(text).toContain(
      [
        '    netfilter_rules {',
        '      table: "raw"',
        '      chain: "cali-PREROUTING"',
        '      rule: "-A cali-PREROUTING -m comment --comment \\"cali:PWuxTAIaFCtsg5Qa\\" -m mark --mark 0x40000/0x40000 -m rpfilter --validmark --invert -j DROP"',
        '      packets: 1099511627781',
        '    }',
      ].join('\n'),
    );
    expect(text).toMatch(/^ {4}netfilter_rules \{\n {6}table: "filter"\n {6}chain: "FORWARD"\n {6}rule: "-A FORWARD -d 10.244.1.5\/32 -j REJECT --reject-with icmp-port-unreachable"\n {6}packets: 1\n {4}\}$/m);
    expect(text).toContain('first_seen_ms: 1718000000000.5');
    // No field protoc does not know by number: the field numbers agree.
    expect(text).not.toMatch(/^\s*\d+[:{ ]/m);
  });

  it('our codec decodes what protoc encodes from text format', ({ skip }) => {
    const bin = requireProtoc(skip);
    const text = `
      agent_id: "agent-from-protoc"
      boot_id: "boot-2"
      sequence: 9
      sent_at_ms: 1718000000999
      flows {
        iface: "eth0" direction: DIRECTION_OUT proto: 17 sport: 4789 dport: 53 vni: -1
        src: "\\300\\250\\001\\002"
        dst: "\\375\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\001"
        packets: 5000000001 first_seen_ms: 12.5 last_seen_ms: 13.75
      }
      vanished {
        iface: "vxlan.calico" sport: -1 dport: -1 fingerprints: "fp-1" fingerprints: "fp-2"
        path { node: "node-b" iface: "vxlan.calico" direction: DIRECTION_IN ts_ms: 0.75 vni: 4096 }
        kernel {
          drop_reasons { key: "IP_RPFILTER" value: 3 }
          drop_reasons { key: "NETFILTER_DROP" value: 1 }
          has_rp_filter: true rp_filter_counter_delta: -1
          drop_locations { key: "NOT_SPECIFIED" value: "ip_rcv_finish_core+0x1a" }
          has_forwarding: true forwarding_all: 1 forwarding_iface: 0
          route_type: "unreachable" route_dst: "10.244.1.128/25"
          netfilter_rules { table: "raw" chain: "cali-PREROUTING" rule: "-A cali-PREROUTING -m comment --comment \\"cali:PWuxTAIaFCtsg5Qa\\" -m rpfilter --invert -j DROP" packets: 5000000001 }
          netfilter_rules { table: "filter" chain: "FORWARD" rule: "-A FORWARD -j DROP" }
        }
      }
      capture { received: 100 ebpf_monitor: true ebpf_events_lost: 6 }
      loss { batches_dropped: 2 }
      status { agent_version: "0.2.0" kernel_drops { reason: "IP_RPFILTER" iface: "tunl0" drops: 5000000001 matched: 5 } kernel_drops { reason: "NOT_SPECIFIED" drops: 2 } }
    `;
    const batch = decodeBatch(new Uint8Array(protoc(bin, 'encode', text)));
    expect(batch).toMatchObject({
      agent_id: 'agent-from-protoc',
      boot_id: 'boot-2',
      sequence: 9,
      sent_at_ms: 1718000000999,
      flows: [
        {
          iface: 'eth0', direction: WireDirection.DIRECTION_OUT, proto: 17, sport: 4789, dport: 53, vni: -1,
          src: new Uint8Array([192, 168, 1, 2]),
          dst: new Uint8Array([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
          packets: 5_000_000_001, first_seen_ms: 12.5, last_seen_ms: 13.75,
        },
      ],
      vanished: [
        {
          iface: 'vxlan.calico', sport: -1, dport: -1, fingerprints: ['fp-1', 'fp-2'],
          path: [{ node: 'node-b', iface: 'vxlan.calico', direction: WireDirection.DIRECTION_IN, ts_ms: 0.75, vni: 4096 }],
          kernel: {
            drop_reasons: { IP_RPFILTER: 3, NETFILTER_DROP: 1 }, has_rp_filter: true, rp_filter_counter_delta: -1, drop_locations: { NOT_SPECIFIED: 'ip_rcv_finish_core+0x1a' },
            // Unset fields of the new ones read back as their defaults: forwarding_iface 0, no dev or via, packets 0.
            has_forwarding: true, forwarding_all: 1, forwarding_iface: 0,
            route_type: 'unreachable', route_dst: '10.244.1.128/25', route_dev: '', route_via: '',
            netfilter_rules: [
              { table: 'raw', chain: 'cali-PREROUTING', rule: '-A cali-PREROUTING -m comment --comment "cali:PWuxTAIaFCtsg5Qa" -m rpfilter --invert -j DROP', packets: 5_000_000_001 },
              { table: 'filter', chain: 'FORWARD', rule: '-A FORWARD -j DROP', packets: 0 },
            ],
          },
        },
      ],
      capture: { received: 100, ebpf_monitor: true, ebpf_events_lost: 6 },
      loss: { batches_dropped: 2, bytes_dropped: 0 },
      status: {
        agent_version: '0.2.0',
        kernel_drops: [
          { reason: 'IP_RPFILTER', iface: 'tunl0', drops: 5_000_000_001, matched: 5 },
          { reason: 'NOT_SPECIFIED', iface: '', drops: 2, matched: 0 },
        ],
      },
    });
    expect(batch.kernel_drops).toEqual([]);
  });

  it('reads what agents before issue 15 send: per-event kernel drops, and no locations, tallies or lost events', ({ skip }) => {
    const bin = requireProtoc(skip);
    const text = `
      agent_id: "old-agent" sequence: 3
      vanished { iface: "tunl0" kernel { drop_reasons { key: "IP_RPFILTER" value: 2 } } }
      kernel_drops { reason: "IP_RPFILTER" ifindex: 4 src: "100.64.0.1" dst: "10.91.1.130" proto: 1 ts_ms: 1718000000150.5 }
      capture { received: 100 ebpf_monitor: true }
      status { interfaces { name: "tunl0" role: "tunnel" } agent_version: "0.1.0" }
    `;
    const batch = decodeBatch(new Uint8Array(protoc(bin, 'encode', text)));
    expect(batch.vanished[0]?.kernel).toMatchObject({ drop_reasons: { IP_RPFILTER: 2 }, drop_locations: {} });
    // Nor (before issue 16) forwarding, the matched route or netfilter rules: all defaults.
    expect(batch.vanished[0]?.kernel).toMatchObject({ has_forwarding: false, forwarding_all: 0, forwarding_iface: 0, route_type: '', route_dst: '', route_dev: '', route_via: '', netfilter_rules: [] });
    // Nor conntrack, MTU or neighbour evidence: the defaults read as unknown.
    expect(batch.vanished[0]?.kernel).toMatchObject({ conntrack_invalid_delta: 0, mtu_exit_iface: '', mtu_dont_fragment: 0, mtu_frag_fails_delta: 0, neighbour_state: '', neighbour_carrier: 0 });
    expect(batch.kernel_drops).toEqual([{ reason: 'IP_RPFILTER', ifindex: 4, src: '100.64.0.1', dst: '10.91.1.130', proto: 1, sport: 0, dport: 0, ts_ms: 1718000000150.5 }]);
    expect(batch.capture?.ebpf_events_lost).toBe(0);
    expect(batch.status?.kernel_drops).toEqual([]);
  });
});
