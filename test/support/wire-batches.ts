/** Agent batches for collector tests, built as agents build them (wire shapes). */
import { gzipSync } from 'node:zlib';
import { wireBatch } from '../../schemas/wire-batch.js';
import { encodeBatch } from '../../schemas/wire-codec.js';
import { WireDirection, type WireBatch, type WireHop, type WireVanishedGroup } from '../../schemas/wire-types.js';

export const T0 = Date.parse('2026-11-26T10:00:00.000Z');

/** Kernel evidence with nothing conntrack, the MTU or the neighbour would say (-1: unknown). */
export const NO_WAY_OUT_EVIDENCE = {
  conntrack_invalid_delta: -1,
  mtu_exit_iface: '',
  mtu_exit: 0,
  mtu_underlay_iface: '',
  mtu_underlay: 0,
  mtu_packet_length: 0,
  mtu_dont_fragment: 0,
  mtu_frag_fails_delta: -1,
  neighbour_address: '',
  neighbour_dev: '',
  neighbour_state: '',
  neighbour_carrier: 0,
} as const;

export function hop(o: Partial<WireHop> & { iface: string; direction: WireDirection; ts_ms: number }): WireHop {
  return { node: 'n2', role: 'other', direction_source: 'linux-packet-type', encap: 'none', outer_src: '', outer_dst: '', vni: -1, ttl: 63, length: 84, ...o };
}

/** A reverse-path drop at n2 on tunl0, confirmed by the kernel (what the story's agent ships). */
export function rpfVanished(o: Partial<WireVanishedGroup> = {}): WireVanishedGroup {
  const ts = o.first_seen_ms ?? T0;
  return {
    iface: 'tunl0',
    role: 'tunnel',
    src: '100.64.0.1',
    dst: '10.91.1.130',
    proto: 1,
    sport: -1,
    dport: -1,
    packets: 3,
    first_seen_ms: ts,
    last_seen_ms: ts + 2000,
    fingerprints: ['1f2e3d4c5b6a79'],
    path: [
      hop({ iface: 'eth0', role: 'uplink', direction: WireDirection.DIRECTION_IN, ts_ms: ts, encap: 'ipip', outer_src: '192.168.77.11', outer_dst: '192.168.77.12', length: 104 }),
      hop({ iface: 'tunl0', role: 'tunnel', direction: WireDirection.DIRECTION_IN, ts_ms: ts + 0.01 }),
    ],
    expected_exit: '',
    reverse_exits: [],
    kernel: {
      // The kernel's own drop event of each packet, matched by fingerprint.
      drop_reasons: { IP_RPFILTER: o.packets ?? 3 },
      has_rp_filter: true,
      rp_filter_all: 1,
      rp_filter_iface: 1,
      rp_filter_effective: 1,
      rp_filter_counter_delta: 3,
      route_back_iface: 'eth0',
      route_check_error: 'RTNETLINK answers: Invalid cross-device link',
      drop_locations: {},
      // The node forwards, and has the pod's own route (Calico's /32 to its veth): nothing but the
      // reverse-path check stands in the way. No dropping netfilter rule grew.
      has_forwarding: true,
      forwarding_all: 1,
      forwarding_iface: 1,
      route_type: 'unicast',
      route_dst: '10.91.1.130',
      route_dev: 'cali0a1b2c3d4e5',
      route_via: '',
      netfilter_rules: [],
      ...NO_WAY_OUT_EVIDENCE,
    },
    first_bytes: Uint8Array.from({ length: 48 }, (_, i) => i),
    link_type: 276,
    first_orig_len: 104,
    first_bytes_ts_ms: ts + 0.01,
    direction_uncertain: false,
    arrival_mac_src: '',
    arrival_mac_dst: '',
    ...o,
  };
}

export function batch(o: Partial<WireBatch> & { sequence: number }): WireBatch {
  const { agent_id = 'agent-n2', boot_id = 'boot-1', node = 'n2', sent_at_ms = T0, sequence, ...parts } = o;
  return wireBatch(
    { agent_id, boot_id, node, sent_at_ms, sequence },
    {
      // A live agent captures every interface of its node: its candidates are judgeable. What it
      // ships with rpfVanished: where the pod lives, and that its traffic to the client leaves by eth0.
      covers_all_interfaces: true,
      knowledge: {
        own_addresses: ['192.168.77.12'],
        locations: [{ address: '10.91.1.130', iface: 'cali0a1b2c3d4e5' }],
        exits: [{ src: '10.91.1.130', dst: '100.64.0.1', ifaces: ['eth0'] }],
        own_macs: [],
      },
      ...parts,
    },
  );
}

export function encoded(b: WireBatch, gzip = true): Buffer {
  const bytes = Buffer.from(encodeBatch(b));
  return gzip ? gzipSync(bytes) : bytes;
}
