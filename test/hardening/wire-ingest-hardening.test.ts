/**
 * The collector's ingest path below HTTP under hostile input: schemas/wire-codec.ts decodeBatch
 * (protobuf bytes to a WireBatch), then collector/ingest/batch-ingest.ts checkBatch (a WireBatch to
 * rows). Complements test/schemas/wire-codec.test.ts (random and corrupted bytes fail only with
 * WireDecodeError) with the whole path and its resource use:
 *  - arbitrary bytes, mutations of real batches (made with test/support/wire-batches.ts), absurd
 *    length prefixes and varints, and generated batches with hostile strings and numbers fail only
 *    with WireDecodeError (decode) or WireContentError (check);
 *  - every call returns within a time budget;
 *  - a length prefix claiming gigabytes allocates nothing for it, and memory stays within a small
 *    multiple of the input.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBatch, encodeBatch, MAX_BATCH_BYTES, WireDecodeError } from '../../schemas/wire-codec.js';
import { WireDirection, type WireBatch, type WireFlowRecord, type WireKernelDropTally, type WireKernelEvidence, type WireNetfilterRuleGrowth } from '../../schemas/wire-types.js';
import { checkBatch } from '../../collector/ingest/batch-ingest.js';
import { WireContentError } from '../../collector/ingest/from-wire.js';
import { T0, batch, hop, rpfVanished } from '../support/wire-batches.js';
import { arrayBufferGrowth, collectGarbage, timeOf, withinBudget } from './support/budget.js';

const BUDGET_MS = 50;

function flow(o: Partial<WireFlowRecord> = {}): WireFlowRecord {
  return {
    iface: 'eth0',
    direction: WireDirection.DIRECTION_IN,
    src: new Uint8Array([100, 64, 0, 1]),
    dst: new Uint8Array([10, 91, 1, 130]),
    proto: 6,
    sport: 40000,
    dport: 80,
    encap: 'ipip',
    outer_src: new Uint8Array([192, 168, 77, 11]),
    outer_dst: new Uint8Array([192, 168, 77, 12]),
    vni: -1,
    packets: 3,
    bytes: 180,
    first_seen_ms: T0,
    last_seen_ms: T0 + 5,
    ...o,
  };
}

const CALICO_RPF_RULE = '-A cali-PREROUTING -m comment --comment "cali:fSSbGND7dgyemWU7" -m mark --mark 0x40000/0x40000 -m rpfilter --validmark --invert -j DROP';

/** A netfilter drop's kernel evidence as an agent of issue 16 sends it, with `o` over it. */
function netfilterKernel(o: Partial<WireKernelEvidence> = {}): WireKernelEvidence {
  return {
    ...rpfVanished().kernel!,
    drop_reasons: { NETFILTER_DROP: 3 },
    has_rp_filter: true,
    rp_filter_all: 0,
    rp_filter_iface: 0,
    rp_filter_effective: 0,
    route_type: 'blackhole',
    route_dst: '10.91.1.128/26',
    route_dev: '',
    route_via: '',
    netfilter_rules: [
      { table: 'raw', chain: 'cali-PREROUTING', rule: CALICO_RPF_RULE, packets: 3 },
      { table: 'filter', chain: 'FORWARD', rule: '-A FORWARD -m conntrack --ctstate INVALID -j DROP', packets: 1 },
    ],
    ...o,
  };
}

/** A batch with every message kind, as agents send them. */
const FULL: WireBatch = batch({
  sequence: 7,
  flows: [flow(), flow({ src: new Uint8Array(16).fill(0x20), dst: new Uint8Array(16).fill(1), proto: 17 })],
  vanished: [
    rpfVanished(),
    rpfVanished({ proto: 6, sport: 80, dport: 42458, kernel: undefined, first_bytes: undefined }),
    rpfVanished({ proto: 17, sport: 53, dport: 5353, kernel: { ...rpfVanished().kernel!, drop_reasons: { NOT_SPECIFIED: 3 }, drop_locations: { NOT_SPECIFIED: 'ip_rcv_finish_core+0x1a' } } }),
    // Netfilter's drop, with the rules that grew, on a node whose route to the pod is a blackhole.
    rpfVanished({ proto: 6, sport: 40001, dport: 8080, kernel: netfilterKernel() }),
  ],
  kernel_drops: [{ reason: 'IP_RPFILTER', ifindex: 3, src: '100.64.0.1', dst: '10.91.1.130', proto: 1, sport: 0, dport: 0, ts_ms: T0 }],
  cross_node: [
    { fingerprint: '1f2e3d4c5b6a79', departure: true, outer_peer: '192.168.77.12', ts_ms: T0, path: [hop({ iface: 'eth0', direction: WireDirection.DIRECTION_OUT, ts_ms: T0 })], src: '10.91.0.2', dst: '10.91.1.130', proto: 6, sport: 1, dport: 2 },
    { fingerprint: 'abc', departure: false, outer_peer: '', ts_ms: T0, path: [], src: '', dst: '', proto: 0, sport: 0, dport: 0 },
  ],
  capture: { received: 10, dropped_by_kernel: 1, dropped_by_interface: 0, ebpf_monitor: true, ebpf_unavailable_reason: '', truncated_unjudged: 0, ebpf_events_lost: 2 },
  loss: { batches_dropped: 1, bytes_dropped: 100 },
  status: {
    interfaces: [{ name: 'tunl0', role: 'tunnel', packets: 9, bytes: 900 }],
    addresses: ['192.168.77.12', 'fe80::1'],
    agent_version: '0.1.0',
    kernel_drops: [{ reason: 'IP_RPFILTER', iface: 'tunl0', drops: 5, matched: 3 }, { reason: 'NOT_SPECIFIED', iface: '', drops: 1, matched: 0 }],
  },
});
const FULL_BYTES = encodeBatch(FULL);

/** decodeBatch then checkBatch; what was thrown, if anything, and how long it took. */
function ingest(bytes: Uint8Array): { thrown: unknown; ms: number } {
  let thrown: unknown;
  const ms = withinBudget(BUDGET_MS, () => {
    thrown = undefined;
    try {
      checkBatch(decodeBatch(bytes), 'live', T0);
    } catch (e) {
      thrown = e;
    }
  });
  return { thrown, ms };
}

function expectOnlyDocumentedErrors(bytes: Uint8Array, what: string): void {
  const { thrown, ms } = ingest(bytes);
  if (thrown !== undefined) {
    if (!(thrown instanceof WireDecodeError) && !(thrown instanceof WireContentError)) {
      expect.fail(`${what}: threw ${String((thrown as Error)?.stack ?? thrown)} for ${Buffer.from(bytes).toString('hex').slice(0, 400)}`);
    }
    expect((thrown as Error).message).not.toMatch(/\n/);
  }
  if (ms > BUDGET_MS) expect.fail(`${what}: ${ms.toFixed(1)} ms (budget ${BUDGET_MS}) for ${bytes.length} bytes`);
}

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

/** Byte offsets where a length-delimited field's length varint starts (walking the top-level message). */
function lengthPrefixes(b: Uint8Array): number[] {
  const out: number[] = [];
  const walk = (start: number, end: number, depth: number): void => {
    let p = start;
    while (p < end) {
      let key = 0;
      let shift = 0;
      for (;;) {
        if (p >= end) return;
        const byte = b[p++]!;
        key += (byte & 0x7f) * 2 ** shift;
        shift += 7;
        if (byte < 0x80) break;
      }
      const type = key % 8;
      if (type === 0) {
        while (p < end && b[p]! >= 0x80) p++;
        p++;
      } else if (type === 1) p += 8;
      else if (type === 5) p += 4;
      else if (type === 2) {
        out.push(p);
        let len = 0;
        shift = 0;
        for (;;) {
          if (p >= end) return;
          const byte = b[p++]!;
          len += (byte & 0x7f) * 2 ** shift;
          shift += 7;
          if (byte < 0x80) break;
        }
        // Nested messages are walked too (strings and bytes just look like short messages, or fail).
        if (depth < 4 && p + len <= end) walk(p, p + len, depth + 1);
        p += len;
      } else return;
    }
  };
  walk(0, b.length, 0);
  return out;
}

/** Replaces the varint at `at` with `value` (as a varint, so lengths can grow to 10 bytes). */
function withVarintAt(b: Uint8Array, at: number, value: number): Uint8Array {
  let end = at;
  while (end < b.length && b[end]! >= 0x80) end++;
  end++;
  const v = varint(value);
  const out = new Uint8Array(b.length - (end - at) + v.length);
  out.set(b.subarray(0, at), 0);
  out.set(v, at);
  out.set(b.subarray(end), at + v.length);
  return out;
}

const ABSURD_VARINTS = [0, 1, 127, 128, 0x3fff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 2 ** 32 + 1, 2 ** 40, 2 ** 53 - 1, 2 ** 63];


/** An agent's way-out evidence: too big for tunl0 (MTU 1480 over eth0's 1500), and the pod's neighbour FAILED with no carrier. */
const WAY_OUT: Partial<WireKernelEvidence> = {
  mtu_exit_iface: 'tunl0', mtu_exit: 1480, mtu_underlay_iface: 'eth0', mtu_underlay: 1500, mtu_packet_length: 1500, mtu_dont_fragment: 2, mtu_frag_fails_delta: 2,
  neighbour_address: '10.91.1.130', neighbour_dev: 'cali0a1b2c3d4e5', neighbour_state: 'FAILED', neighbour_carrier: 1,
};
describe('protobuf ingest (decodeBatch, then checkBatch)', () => {
  it('the batch the mutations start from is accepted', () => {
    expect(() => checkBatch(decodeBatch(FULL_BYTES), 'live', T0)).not.toThrow();
    expect(lengthPrefixes(FULL_BYTES).length).toBeGreaterThan(40);
  });

  it('arbitrary bytes, and arbitrary bytes after a valid identity', () => {
    const identity = encodeBatch(batch({ sequence: 1 }));
    fc.assert(
      fc.property(fc.boolean(), fc.uint8Array({ maxLength: 2000 }), (prefixed, tail) => {
        const bytes = prefixed ? new Uint8Array([...identity, ...tail]) : tail;
        expectOnlyDocumentedErrors(bytes, 'arbitrary');
      }),
      { numRuns: 2000 },
    );
  });

  it('mutated batches: flipped bytes, cuts, inserted garbage', () => {
    const edit = fc.oneof(
      fc.record({ op: fc.constant('flip' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ op: fc.constant('cut' as const), at: fc.nat() }),
      fc.record({ op: fc.constant('insert' as const), at: fc.nat(), garbage: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
    );
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 6 }), (edits) => {
        let b = FULL_BYTES;
        for (const e of edits) {
          const at = e.at % (b.length + 1);
          if (e.op === 'flip') {
            b = b.slice();
            if (at < b.length) b[at] = b[at]! ^ e.mask;
          } else if (e.op === 'cut') b = b.slice(0, at);
          else b = new Uint8Array([...b.subarray(0, at), ...e.garbage, ...b.subarray(at)]);
        }
        expectOnlyDocumentedErrors(b, 'mutated');
      }),
      { numRuns: 3000 },
    );
  });

  it('every length prefix set to absurd values (up to 2^63): refused without allocating what it claims', () => {
    const prefixes = lengthPrefixes(FULL_BYTES);
    for (const at of prefixes) {
      collectGarbage();
      for (const value of ABSURD_VARINTS) {
        const b = withVarintAt(FULL_BYTES, at, value);
        const growth = arrayBufferGrowth(() => expectOnlyDocumentedErrors(b, `length at ${at} = ${value}`), false);
        if (growth.thrown !== undefined) throw growth.thrown;
        // The decoder copies the input once; nothing near what a length claims.
        expect(growth.bytes, `length at ${at} = ${value}`).toBeLessThan(1024 * 1024);
      }
    }
  });

  it('fields of every wire type with absurd values, and unknown fields, at the top and nested', () => {
    const field = fc.tuple(fc.integer({ min: 0, max: 600 }), fc.integer({ min: 0, max: 7 }), fc.constantFrom(...ABSURD_VARINTS), fc.uint8Array({ maxLength: 12 }));
    fc.assert(
      fc.property(fc.array(field, { minLength: 1, maxLength: 6 }), fc.nat(), ([...fields], where) => {
        const extra: number[] = [];
        for (const [num, type, value, rest] of fields) extra.push(...varint(num * 8 + type), ...varint(value), ...rest);
        const prefixes = lengthPrefixes(FULL_BYTES);
        // Either appended at the top level, or spliced right after a nested message's length.
        const at = where % 2 === 0 ? FULL_BYTES.length : prefixes[where % prefixes.length]! + 1;
        const b = new Uint8Array([...FULL_BYTES.subarray(0, at), ...extra, ...FULL_BYTES.subarray(at)]);
        expectOnlyDocumentedErrors(b, 'extra fields');
      }),
      { numRuns: 2000 },
    );
  });

  it('valid batches with a few fields made hostile are accepted or refused with WireContentError', () => {
    // Overrides of a few fields of valid records, so that the checks after the first one are reached
    // (a record made wholly of random values fails its first check, or cannot even be encoded).
    const text = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.string({ unit: 'grapheme', maxLength: 20 }),
      // (An IPv6 zone such as fe80::1%eth0 is left out: the known bug below.)
      fc.constantFrom('', ' ', "'; DROP TABLE drops; --", '\\', '"', '\u0000', '\n', '../../etc/passwd', '%s%n', '\u202e', '😀', 'a'.repeat(257), '1.2.3.4', '::ffff:1.2.3.4', '10.0.0.256', '::', '0.0.0.0', 'IP_RPFILTER', '__proto__', 'constructor'),
    );
    const int = fc.oneof(fc.integer(), fc.constantFrom(-1, 0, 1, 255, 256, 65535, 65536, 2 ** 31, 2 ** 32, 2 ** 53 - 1, -(2 ** 31)));
    const time = fc.oneof(fc.double({ noNaN: true }), fc.constantFrom(0, -1, T0, 946_684_799_999, 7_258_118_400_001, 8.64e15, 2 ** 53, Number.MAX_VALUE, -Infinity, Infinity, Number.NaN));
    const bytes = fc.oneof(fc.uint8Array({ maxLength: 20 }), fc.constant(new Uint8Array(4)), fc.constant(new Uint8Array(16)));
    /** One to three of the record's fields, made hostile. */
    const few = <T extends Record<string, unknown>>(spec: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<Partial<T>> =>
      fc.tuple(fc.record(spec), fc.shuffledSubarray(Object.keys(spec), { minLength: 1, maxLength: 3 })).map(([r, keys]) => Object.fromEntries(keys.map((k) => [k, r[k]])) as Partial<T>);
    const hostileHop = few({ node: text, iface: text, role: text, direction: fc.constantFrom(0, 1, 2, 7).map((d) => d as WireDirection), direction_source: text, ts_ms: time, encap: text, outer_src: text, outer_dst: text, vni: int, ttl: int, length: int });
    const hostileRule = few({ table: text, chain: text, rule: fc.oneof(text, fc.constantFrom(CALICO_RPF_RULE, 'x'.repeat(1025), `${CALICO_RPF_RULE}\n-A FORWARD -j ACCEPT`)), packets: fc.oneof(int, fc.constantFrom(2 ** 63)) });
    const hostileKernel = few({
      drop_reasons: fc.dictionary(text, int, { maxKeys: 3 }), drop_locations: fc.dictionary(text, text, { maxKeys: 3 }), has_rp_filter: fc.boolean(), rp_filter_all: int, rp_filter_iface: int, rp_filter_effective: int, rp_filter_counter_delta: int, route_back_iface: text, route_check_error: text,
      has_forwarding: fc.boolean(), forwarding_all: int, forwarding_iface: int, route_type: text, route_dst: text, route_dev: text, route_via: text,
      netfilter_rules: fc.oneof(fc.array(hostileRule.map((r) => ({ ...netfilterKernel().netfilter_rules[0]!, ...r })), { maxLength: 3 }), fc.nat({ max: 40 }).map((n) => Array.from({ length: n }, () => netfilterKernel().netfilter_rules[0]!))),
    });
    const vanishedOverride = few({
      iface: text, role: text, src: text, dst: text, proto: int, sport: int, dport: int, packets: int, first_seen_ms: time, last_seen_ms: time,
      fingerprints: fc.array(text, { maxLength: 3 }), path: fc.array(hostileHop.map((h) => hop({ iface: 'eth0', direction: WireDirection.DIRECTION_IN, ts_ms: T0, ...h })), { maxLength: 3 }),
      expected_exit: text, reverse_exits: fc.array(text, { maxLength: 3 }), kernel: hostileKernel.map((k) => ({ ...rpfVanished().kernel!, ...k })),
      link_type: int, first_orig_len: int, first_bytes_ts_ms: time, first_bytes: fc.uint8Array({ maxLength: 600 }),
    });
    const flowOverride = few({ iface: text, direction: fc.constantFrom(0, 1, 2, 9).map((d) => d as WireDirection), src: bytes, dst: bytes, proto: int, sport: int, dport: int, encap: text, outer_src: bytes, outer_dst: bytes, vni: int, packets: int, bytes: int, first_seen_ms: time, last_seen_ms: time });
    const crossOverride = few({ fingerprint: text, departure: fc.boolean(), outer_peer: text, ts_ms: time, src: text, dst: text, proto: int, sport: int, dport: int });
    const statusOverride = few({ interfaces: fc.array(fc.record({ name: text, role: text, packets: int, bytes: int }), { maxLength: 3 }), addresses: fc.array(text, { maxLength: 3 }), agent_version: text, kernel_drops: fc.array(fc.record({ reason: text, iface: text, drops: int, matched: int }), { maxLength: 3 }) });
    const topOverride = fc.option(few({ node: text, agent_id: text, boot_id: text, source: text, sequence: int, sent_at_ms: time }), { nil: {} });
    let reachedChecks = 0;
    let accepted = 0;
    fc.assert(
      fc.property(topOverride, fc.array(vanishedOverride, { maxLength: 2 }), fc.array(flowOverride, { maxLength: 2 }), fc.array(crossOverride, { maxLength: 2 }), fc.option(statusOverride), (top, vanished, flows, cross, status) => {
        let bytesOut: Uint8Array;
        try {
          bytesOut = encodeBatch({
            ...FULL,
            ...top,
            vanished: vanished.map((v) => ({ ...rpfVanished(), ...v })),
            flows: flows.map((f) => flow(f)),
            cross_node: cross.map((c) => ({ ...FULL.cross_node[0]!, ...c })),
            ...(status ? { status: { ...FULL.status!, ...status } } : {}),
          } as WireBatch);
        } catch {
          // Values the encoder cannot represent (NaN in an integer field, no agent_id) are the sender's problem.
          return;
        }
        reachedChecks++;
        const { thrown } = ingest(bytesOut);
        if (thrown === undefined) accepted++;
        expectOnlyDocumentedErrors(bytesOut, 'generated');
      }),
      { numRuns: 2000 },
    );
    // The generator must often reach checkBatch (about half the runs do), and sometimes get through it.
    expect(reachedChecks, `${reachedChecks} encoded, ${accepted} accepted`).toBeGreaterThan(600);
    expect(accepted, `${reachedChecks} encoded, ${accepted} accepted`).toBeGreaterThan(20);
  });

  // node's isIP() accepts an IPv6 address with a zone (fe80::1%eth0), which URL cannot canonicalise
  // and no stored address has: found by this suite as a 500; now refused like any bad address.
  it('an IPv6 address with a zone in any address field is a WireContentError', () => {
    const zone = 'fe80::1%eth0';
    const variants: WireBatch[] = [
      { ...batch({ sequence: 1 }), vanished: [rpfVanished({ src: zone })] },
      { ...batch({ sequence: 1 }), vanished: [rpfVanished({ path: [hop({ iface: 'eth0', direction: WireDirection.DIRECTION_IN, ts_ms: T0, outer_src: zone })] })] },
      { ...batch({ sequence: 1 }), status: { interfaces: [], addresses: [zone], agent_version: '', kernel_drops: [] } },
      { ...batch({ sequence: 1 }), cross_node: [{ ...FULL.cross_node[0]!, src: zone }] },
    ];
    for (const b of variants) {
      const { thrown } = ingest(encodeBatch(b));
      expect(thrown).toBeInstanceOf(WireContentError);
    }
  });

  it('kernel drop events are checked like every other record', () => {
    const good = FULL.kernel_drops[0]!;
    const bad: Partial<typeof good>[] = [
      { reason: '' },
      { reason: 'ip_rpfilter' },
      { reason: 'X'.repeat(65) },
      { reason: 'A B' },
      { ifindex: -1 },
      { ifindex: 2 ** 33 },
      { src: 'not-an-address' },
      { dst: 'fe80::1%eth0' },
      { proto: 256 },
      { sport: 70_000 },
      { dport: -2 },
      { ts_ms: 0 },
    ];
    expect(ingest(encodeBatch({ ...batch({ sequence: 1 }), kernel_drops: [good, { ...good, src: '', dst: '' }] })).thrown).toBeUndefined();
    for (const change of bad) {
      const { thrown } = ingest(encodeBatch({ ...batch({ sequence: 1 }), kernel_drops: [good, { ...good, ...change }] }));
      expect(thrown, JSON.stringify(change)).toBeInstanceOf(WireContentError);
    }
  });

  it('kernel drop locations are checked like the drop reasons: kernel names, bounded printable text, bounded count', () => {
    const withLocations = (drop_locations: Record<string, string>): Uint8Array =>
      encodeBatch(batch({ sequence: 1, vanished: [rpfVanished({ kernel: { ...rpfVanished().kernel!, drop_reasons: { NOT_SPECIFIED: 3 }, drop_locations } })] }));
    const checked = checkBatch(decodeBatch(withLocations({ NOT_SPECIFIED: 'ip_rcv_finish_core+0x1a', REASON_99: '0xffffffff81b2c3d4' })), 'live', T0);
    expect(checked.findings.candidates[0]?.kernel?.dropLocations).toEqual({ NOT_SPECIFIED: 'ip_rcv_finish_core+0x1a', REASON_99: '0xffffffff81b2c3d4' });
    // None sent (agents before issue 15, or specific reasons only): no locations at all.
    expect(checkBatch(decodeBatch(withLocations({})), 'live', T0).findings.candidates[0]?.kernel).not.toHaveProperty('dropLocations');
    const bad: [Record<string, string>, RegExp][] = [
      [{ not_specified: 'x+0x1' }, /keyed by kernel reason names/],
      [{ ['X'.repeat(65)]: 'x+0x1' }, /keyed by kernel reason names/],
      [{ NOT_SPECIFIED: '' }, /1-256 printable characters/],
      [{ NOT_SPECIFIED: 'a'.repeat(257) }, /1-256 printable characters/],
      [{ NOT_SPECIFIED: 'ip_rcv\n<script>' }, /1-256 printable characters/],
      [{ NOT_SPECIFIED: 'nul\u0000' }, /1-256 printable characters/],
      [Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`REASON_${i}`, 'x+0x1'])), /at most 256/],
    ];
    for (const [locations, message] of bad) {
      const { thrown } = ingest(withLocations(locations));
      expect(thrown, JSON.stringify(locations).slice(0, 80)).toBeInstanceOf(WireContentError);
      expect((thrown as Error).message).toMatch(message);
      expect((thrown as Error).message).not.toMatch(/\n/);
    }
    // The reasons themselves are bounded in number the same way.
    const reasons = Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`SOME_KERNEL_REASON_${i}`, 1]));
    const tooMany = encodeBatch(batch({ sequence: 1, vanished: [rpfVanished({ kernel: { ...rpfVanished().kernel!, drop_reasons: reasons } })] }));
    expect((ingest(tooMany).thrown as Error).message).toBe('kernel drop reasons: at most 256');
  });

  it('the forwarding, the matched route and the netfilter rules are read back as the agent sent them', () => {
    const withKernel = (kernel: WireKernelEvidence): Uint8Array => encodeBatch(batch({ sequence: 1, vanished: [rpfVanished({ kernel })] }));
    const k = checkBatch(decodeBatch(withKernel(netfilterKernel({ has_forwarding: true, forwarding_all: 1, forwarding_iface: 0 }))), 'live', T0).findings.candidates[0]?.kernel;
    expect(k).toMatchObject({
      forwarding: { all: 1, iface: 0 },
      route: { type: 'blackhole', dst: '10.91.1.128/26', dev: null, via: null },
      netfilterRules: [
        { table: 'raw', chain: 'cali-PREROUTING', rule: CALICO_RPF_RULE, packets: 3 },
        { table: 'filter', chain: 'FORWARD', rule: '-A FORWARD -m conntrack --ctstate INVALID -j DROP', packets: 1 },
      ],
    });
    // Forwarding is on or off: any other number is on. A unicast route keeps its device and gateway.
    const odd = checkBatch(decodeBatch(withKernel(netfilterKernel({ forwarding_all: 7, forwarding_iface: 2 ** 32 - 1, route_type: 'unicast', route_dst: 'default', route_dev: 'eth0', route_via: '192.168.77.1' }))), 'live', T0).findings.candidates[0]?.kernel;
    expect(odd).toMatchObject({ forwarding: { all: 1, iface: 1 }, route: { type: 'unicast', dst: 'default', dev: 'eth0', via: '192.168.77.1' } });
    // None of them sent (an agent before issue 16): none read.
    const old = checkBatch(decodeBatch(withKernel(netfilterKernel({ has_forwarding: false, route_type: '', route_dst: '', netfilter_rules: [] }))), 'live', T0).findings.candidates[0]?.kernel;
    expect(old).not.toHaveProperty('forwarding');
    expect(old).not.toHaveProperty('route');
    expect(old).not.toHaveProperty('netfilterRules');
  });

  it('conntrack, MTU and neighbour evidence is read as sent, and unknowns stay unknown', () => {
    const withKernel = (kernel: WireKernelEvidence): Uint8Array => encodeBatch(batch({ sequence: 1, vanished: [rpfVanished({ kernel })] }));
    const k = checkBatch(decodeBatch(withKernel(netfilterKernel({ ...WAY_OUT, conntrack_invalid_delta: 6 }))), 'live', T0).findings.candidates[0]?.kernel;
    expect(k).toMatchObject({
      conntrackInvalidDelta: 6,
      mtu: { exitIface: 'tunl0', exitMtu: 1480, underlayIface: 'eth0', underlayMtu: 1500, packetLength: 1500, dontFragment: true, fragFailsDelta: 2 },
      neighbour: { address: '10.91.1.130', dev: 'cali0a1b2c3d4e5', state: 'FAILED', carrier: false },
    });
    const unknown = checkBatch(decodeBatch(withKernel(netfilterKernel({ ...WAY_OUT, mtu_underlay_iface: '', mtu_packet_length: 0, mtu_dont_fragment: 0, mtu_frag_fails_delta: -1, neighbour_carrier: 0 }))), 'live', T0).findings.candidates[0]?.kernel;
    expect(unknown?.mtu).toEqual({ exitIface: 'tunl0', exitMtu: 1480, underlayIface: null, underlayMtu: null, packetLength: null, dontFragment: null, fragFailsDelta: null });
    expect(unknown?.neighbour?.carrier).toBeNull();
    expect(unknown).not.toHaveProperty('conntrackInvalidDelta');
  });

  it('hostile rules, routes and rule counts are refused with a one-line WireContentError', () => {
    const rule = (o: Partial<WireNetfilterRuleGrowth>): WireNetfilterRuleGrowth => ({ ...netfilterKernel().netfilter_rules[0]!, ...o });
    const bad: [Partial<WireKernelEvidence>, RegExp][] = [
      [{ netfilter_rules: [rule({ rule: '-A FORWARD '.padEnd(1025, 'x') })] }, /^netfilter rule must be 1-1024 printable characters$/],
      [{ netfilter_rules: [rule({ rule: `${CALICO_RPF_RULE}\niptables -F` })] }, /^netfilter rule must be 1-1024 printable characters$/],
      [{ netfilter_rules: [rule({ rule: '-A FORWARD -j DROP\r' })] }, /^netfilter rule must be 1-1024 printable characters$/],
      [{ netfilter_rules: [rule({ rule: '-A FORWARD \u001b[2J-j DROP' })] }, /^netfilter rule must be 1-1024 printable characters$/],
      [{ netfilter_rules: [rule({ rule: '' })] }, /^netfilter rule must be 1-1024 printable characters$/],
      [{ netfilter_rules: [rule({ table: '' })] }, /^netfilter rule table must be raw, mangle, filter, nat or security$/],
      [{ netfilter_rules: [rule({ table: 'raw\nfilter' })] }, /^netfilter rule table must be raw, mangle, filter, nat or security$/],
      [{ netfilter_rules: [rule({ table: 'raw;reboot' })] }, /^netfilter rule table must be raw, mangle, filter, nat or security$/],
      [{ netfilter_rules: [rule({ chain: 'c'.repeat(65) })] }, /^netfilter rule chain must be 1-64 of A-Z a-z 0-9 _ \. : \+ -$/],
      [{ netfilter_rules: [rule({ chain: 'FORWARD\u0000' })] }, /^netfilter rule chain must be 1-64 of A-Z a-z 0-9 _ \. : \+ -$/],
      [{ netfilter_rules: [rule({ chain: 'FORWARD $(reboot)' })] }, /^netfilter rule chain must be 1-64 of A-Z a-z 0-9 _ \. : \+ -$/],
      // Pasted into a shell by whoever reads the remedy: no second command can ride along.
      [{ netfilter_rules: [rule({ rule: '-A FORWARD -j DROP; reboot' })] }, /^netfilter rule must be an iptables-save rule \(-A CHAIN \.\.\.\) without shell metacharacters$/],
      [{ netfilter_rules: [rule({ rule: '-A FORWARD -m comment --comment "$(reboot)" -j DROP' })] }, /^netfilter rule must be an iptables-save rule \(-A CHAIN \.\.\.\) without shell metacharacters$/],
      [{ netfilter_rules: [rule({ rule: 'reboot -A FORWARD -j DROP' })] }, /^netfilter rule must be an iptables-save rule \(-A CHAIN \.\.\.\) without shell metacharacters$/],
      [{ netfilter_rules: [rule({ packets: 2 ** 53 })] }, /^netfilter rule packets must be a non-negative integer$/],
      [{ netfilter_rules: [rule({ packets: 2 ** 63 })] }, /^netfilter rule packets must be a non-negative integer$/],
      [{ netfilter_rules: [rule({ packets: -1 })] }, /^netfilter rule packets must be a non-negative integer$/],
      [{ netfilter_rules: Array.from({ length: 17 }, (_, i) => rule({ packets: i })) }, /^kernel netfilter rules: at most 16$/],
      [{ route_dev: 'eth0\nroot' }, /^route dev must be 1-256 printable characters$/],
      [{ route_dev: 'd'.repeat(257) }, /^route dev must be 1-256 printable characters$/],
      [{ route_dev: '\u007f' }, /^route dev must be 1-256 printable characters$/],
      [{ route_type: 'blackhole\t' }, /^route type must be 1-16 printable characters$/],
      [{ route_type: 'b'.repeat(17) }, /^route type must be 1-16 printable characters$/],
      [{ route_dst: '10.0.0.0/8'.padEnd(65, '0') }, /^route dst must be 1-64 printable characters$/],
      [{ route_via: '192.168.77.1\n' }, /^route via must be 1-64 printable characters$/],
      // Interface names that go into a remedy's command line: shell-inert words only.
      [{ ...WAY_OUT, mtu_exit_iface: 'tunl0;reboot' }, /^mtu_exit_iface must be an interface name/],
      [{ ...WAY_OUT, mtu_exit_iface: 'x'.repeat(16) }, /^mtu_exit_iface must be an interface name/],
      [{ ...WAY_OUT, mtu_underlay_iface: '$(reboot)' }, /^mtu_underlay_iface must be an interface name/],
      [{ ...WAY_OUT, neighbour_dev: 'cali1 `id`' }, /^neighbour_dev must be an interface name/],
      [{ ...WAY_OUT, mtu_exit: 0 }, /^mtu_exit must be an MTU \(68-65535\)$/],
      [{ ...WAY_OUT, mtu_underlay: 65536 }, /^mtu_underlay must be an MTU \(68-65535\)$/],
      [{ ...WAY_OUT, mtu_packet_length: 70000 }, /^mtu_packet_length must be an IPv4 total length/],
      [{ ...WAY_OUT, mtu_dont_fragment: 3 }, /^mtu_dont_fragment must be 0, 1 or 2$/],
      [{ ...WAY_OUT, neighbour_state: 'FAILED; reboot' }, /^neighbour_state must be an iproute2 state name/],
      [{ ...WAY_OUT, neighbour_address: 'not-an-address' }, /^neighbour_address must be an IP address$/],
      [{ ...WAY_OUT, neighbour_carrier: 3 }, /^neighbour_carrier must be 0, 1 or 2$/],
      [{ ...WAY_OUT, conntrack_invalid_delta: 2 ** 53 }, /^conntrack_invalid_delta must be a non-negative integer$/],
    ];
    for (const [change, message] of bad) {
      const { thrown } = ingest(encodeBatch(batch({ sequence: 1, vanished: [rpfVanished({ kernel: netfilterKernel(change) })] })));
      expect(thrown, JSON.stringify(change).slice(0, 120)).toBeInstanceOf(WireContentError);
      expect((thrown as Error).message).toMatch(message);
    }
    // 16 rules are fine (the agent sends at most 8).
    const sixteen = netfilterKernel({ netfilter_rules: Array.from({ length: 16 }, (_, i) => rule({ packets: i })) });
    expect(ingest(encodeBatch(batch({ sequence: 1, vanished: [rpfVanished({ kernel: sixteen })] }))).thrown).toBeUndefined();
  });

  it("the node's kernel drop tallies are checked: kernel reasons, counts, names cut, at most 4096 kept", () => {
    const withTallies = (kernel_drops: WireKernelDropTally[]): Uint8Array => encodeBatch(batch({ sequence: 1, status: { ...FULL.status!, kernel_drops } }));
    const good: WireKernelDropTally = { reason: 'IP_RPFILTER', iface: 'tunl0', drops: 5, matched: 3 };
    const long = 'x'.repeat(1000);
    const checked = checkBatch(decodeBatch(withTallies([good, { ...good, iface: '' }, { ...good, iface: long }])), 'live', T0);
    expect(checked.status.kernelDrops).toEqual([good, { ...good, iface: '' }, { ...good, iface: long.slice(0, 256) }]);
    // A status without tallies (an older agent) is an empty list; a batch without status keeps none.
    expect(checkBatch(decodeBatch(withTallies([])), 'live', T0).status.kernelDrops).toEqual([]);
    expect(checkBatch(decodeBatch(encodeBatch(batch({ sequence: 1 }))), 'live', T0).status.kernelDrops).toBeNull();
    const many = Array.from({ length: 5000 }, (_, i) => ({ ...good, iface: `cali${i}` }));
    expect(checkBatch(decodeBatch(withTallies(many)), 'live', T0).status.kernelDrops).toHaveLength(4096);
    const bad: [Partial<WireKernelDropTally>, RegExp][] = [
      [{ reason: '' }, /reasons must be kernel names/],
      [{ reason: 'ip_rpfilter' }, /reasons must be kernel names/],
      [{ reason: 'IP RPFILTER' }, /reasons must be kernel names/],
      [{ reason: 'R'.repeat(65) }, /reasons must be kernel names/],
      [{ drops: -1 }, /drops must be a non-negative integer/],
      [{ drops: 2 ** 53 }, /drops must be a non-negative integer/],
      [{ matched: 2 ** 63 }, /matched must be a non-negative integer/],
    ];
    for (const [change, message] of bad) {
      const { thrown } = ingest(withTallies([good, { ...good, ...change }]));
      expect(thrown, JSON.stringify(change)).toBeInstanceOf(WireContentError);
      expect((thrown as Error).message).toMatch(message);
    }
  });

  it("the capture's lost kernel drop events must be a count", () => {
    const withLost = (ebpf_events_lost: number): Uint8Array => encodeBatch(batch({ sequence: 1, capture: { ...FULL.capture!, ebpf_events_lost } }));
    expect(checkBatch(decodeBatch(withLost(12)), 'live', T0).status.capture?.ebpf_events_lost).toBe(12);
    for (const lost of [-1, 2 ** 53, 2 ** 63]) {
      const { thrown } = ingest(withLost(lost));
      expect(thrown, String(lost)).toBeInstanceOf(WireContentError);
      expect((thrown as Error).message).toBe('capture ebpf_events_lost must be a non-negative integer');
    }
  });

  it('a body over the limit is refused before it is decoded', () => {
    const big = new Uint8Array(MAX_BATCH_BYTES + 1);
    const ms = timeOf(() => expect(() => decodeBatch(big)).toThrow(WireDecodeError));
    expect(ms).toBeLessThan(BUDGET_MS);
  });

  it('memory stays within a small multiple of the input for realistic batches (20,000 flows, 5,000 vanished groups)', () => {
    const many = encodeBatch(batch({ sequence: 3, flows: Array.from({ length: 20_000 }, (_, i) => flow({ sport: i % 65536 })), vanished: Array.from({ length: 5_000 }, (_, i) => rpfVanished({ sport: i, proto: 6, dport: 80 })) }));
    collectGarbage();
    const before = process.memoryUsage().heapUsed;
    const t0 = Date.now();
    const decoded = decodeBatch(many);
    const checked = checkBatch(decoded, 'live', T0);
    const grown = process.memoryUsage().heapUsed - before;
    expect(checked.flows).toHaveLength(20_000);
    expect(Date.now() - t0).toBeLessThan(5_000);
    // About 1 KB of objects per record (decoded and checked forms); this is the measured baseline.
    expect(grown / (25_000 * 1024), `${grown} bytes of heap for ${many.length} bytes of input`).toBeLessThan(8);
  });

  // Every 2 bytes `3a 00` (field 7, length 0) would decode to a whole VanishedGroup object (~290 bytes
  // of heap) before checkBatch refuses the first of them: ~145 bytes of heap per input byte, 2.3 GB at
  // the collector's 16 MiB limit (found by this suite). A walk over the bytes now counts the records
  // first (no allocation) and refuses more than one per 16 input bytes before decoding anything.
  it('empty repeated messages cannot amplify a body in heap beyond 32x', () => {
    const head = encodeBatch(batch({ sequence: 1 }));
    const n = 512 * 1024;
    const b = new Uint8Array(head.length + 2 * n);
    b.set(head, 0);
    for (let i = 0; i < n; i++) b[head.length + 2 * i] = 0x3a;
    collectGarbage();
    const before = process.memoryUsage().heapUsed;
    let peak = 0;
    try {
      const decoded = decodeBatch(b);
      peak = process.memoryUsage().heapUsed - before;
      checkBatch(decoded, 'live', T0);
    } catch (e) {
      if (!(e instanceof WireDecodeError) && !(e instanceof WireContentError)) throw e;
    }
    expect(peak / b.length, `${peak} bytes of heap for a ${b.length}-byte body`).toBeLessThan(32);
  });
});
