/**
 * The pre-decode message count that bounds a body's heap cost: it must count exactly what the
 * decoder builds (or a real batch could be refused, or a hostile one slip through), stop early past
 * its limit, and never throw on bytes that make no sense.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBatch, encodeBatch, loadWireSchema } from '../../schemas/wire-codec.js';
import { countMessages, nestedMessageFields } from '../../schemas/wire-message-count.js';
import { WireDirection } from '../../schemas/wire-types.js';
import { NO_WAY_OUT_EVIDENCE, T0, batch, hop, rpfVanished } from '../support/wire-batches.js';

const schemaParser: string = 'protocol-buffers-schema';
const { parse } = (await import(schemaParser)) as { parse: (source: Buffer) => { messages: Parameters<typeof nestedMessageFields>[0] } };
const layout = nestedMessageFields(parse(readFileSync(loadWireSchema().schemaPath)).messages);

/** Messages in a decoded batch: every object but the bytes, with each map entry (drop_reasons, drop_locations) one message. */
function decodedMessages(value: unknown, key = ''): number {
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + decodedMessages(v), 0);
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return 0;
  if (key === 'drop_reasons' || key === 'drop_locations') return Object.keys(value).length;
  return 1 + Object.entries(value).reduce((n: number, [k, v]) => n + decodedMessages(v, k), 0);
}

const SAMPLE = batch({
  sequence: 3,
  vanished: [rpfVanished(), rpfVanished({ kernel: { drop_reasons: { IP_RPFILTER: 2, NO_SOCKET: 1 }, has_rp_filter: true, rp_filter_all: 1, rp_filter_iface: 1, rp_filter_effective: 1, rp_filter_counter_delta: 3, route_back_iface: 'eth0', route_check_error: '', drop_locations: { NOT_SPECIFIED: 'ip_rcv_finish_core+0x1a', REASON_99: '0xffffffff81b2c3d4' }, has_forwarding: true, forwarding_all: 1, forwarding_iface: 0, route_type: 'blackhole', route_dst: '10.91.1.128/26', route_dev: '', route_via: '', netfilter_rules: [{ table: 'raw', chain: 'cali-PREROUTING', rule: '-A cali-PREROUTING -m rpfilter --invert -j DROP', packets: 3 }, { table: 'filter', chain: 'FORWARD', rule: '-A FORWARD -j DROP', packets: 1 }], ...NO_WAY_OUT_EVIDENCE } })],
  kernel_drops: [{ reason: 'IP_RPFILTER', ifindex: 3, src: '100.64.0.1', dst: '10.91.1.130', proto: 1, sport: 0, dport: 0, ts_ms: T0 }],
  cross_node: [{ fingerprint: 'abc', departure: true, outer_peer: '192.168.77.12', ts_ms: T0, path: [hop({ iface: 'eth0', direction: WireDirection.DIRECTION_OUT, ts_ms: T0 })], src: '', dst: '', proto: 0, sport: 0, dport: 0 }],
  status: { interfaces: [{ name: 'tunl0', role: 'tunnel', packets: 9, bytes: 900 }, { name: 'eth0', role: 'uplink', packets: 1, bytes: 60 }], addresses: ['192.168.77.12'], agent_version: '0.1.0', kernel_drops: [{ reason: 'IP_RPFILTER', iface: 'tunl0', drops: 5, matched: 3 }, { reason: 'NOT_SPECIFIED', iface: '', drops: 2, matched: 0 }] },
  capture: { received: 10, dropped_by_kernel: 1, dropped_by_interface: 0, ebpf_monitor: true, ebpf_unavailable_reason: '', truncated_unjudged: 0, ebpf_events_lost: 4 },
  loss: { batches_dropped: 1, bytes_dropped: 100 },
});

describe('countMessages', () => {
  it('counts exactly the messages the decoder builds, map entries included', () => {
    const bytes = encodeBatch(SAMPLE);
    const expected = decodedMessages(decodeBatch(bytes));
    expect(expected).toBeGreaterThan(10);
    expect(countMessages(bytes, 'Batch', layout, 1e9)).toBe(expected);
  });

  it('counts empty messages, and stops just past its limit', () => {
    const head = encodeBatch(batch({ sequence: 1, knowledge: undefined }));
    const b = new Uint8Array(head.length + 2 * 1000);
    b.set(head, 0);
    for (let i = 0; i < 1000; i++) b[head.length + 2 * i] = 0x3a;
    expect(countMessages(b, 'Batch', layout, 1e9)).toBe(1001);
    expect(countMessages(b, 'Batch', layout, 100)).toBe(101);
  });

  it('never throws, and never counts more than one message per 2 bytes plus the top, on arbitrary or mutated bytes', () => {
    const good = encodeBatch(SAMPLE);
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 512 }), fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })).map(([at, v]) => good.map((x, i) => (i === at ? v : x)))), (bytes) => {
        const n = countMessages(bytes, 'Batch', layout, 1e9);
        expect(n).toBeGreaterThanOrEqual(1);
        expect(n).toBeLessThanOrEqual(1 + bytes.length / 2);
      }),
      { numRuns: 3000 },
    );
  });
});
