/**
 * Flow records out of the native flow table's flat words (RECORD_WORDS per record, see
 * pipeline-native.ts) into the FlowRecords FlowTable.toRecord builds: the same fields, formatted the
 * same way, with the node and interface names from the registry (JS owns the names; C only ids).
 */
import { formatAddress } from '../../core/net/address.js';
import { directionName, type EncapLayerRecord, type FlowRecord } from '../../core/findings/flow-record.js';
import { ENCAP_NAMES } from './engine-names.js';
import type { InterfaceRegistry } from '../flow/interface-registry.js';
import { RECORD_WORDS } from './pipeline-native.js';

const W_IFACE = 0;
const W_META = 1;
const W_PORTS = 4;
const W_SLOT = 5;
const W_DIR_VERSION_CHAIN = 6;
const W_VNI = 7;
/** Float64 indexes within a record: packets, bytes, first, last. */
const F_PACKETS = 4;
const W_SRC = 16;
const W_DST = 20;
const W_OUTER_SRC = 24;
const W_OUTER_DST = 28;

/** Calls onRecord for each record in `words` (flush order) with the FlowRecord and its slot. */
export function forEachFlowRecord(words: Uint32Array, registry: InterfaceRegistry, onRecord: (record: FlowRecord, slot: number) => void): void {
  const f64 = new Float64Array(words.buffer, words.byteOffset, words.length / 2);
  const count = words.length / RECORD_WORDS;
  for (let r = 0; r < count; r++) {
    const k = r * RECORD_WORDS;
    const c = k / 2;
    const iface = registry.interfaces[words[k + W_IFACE] as number];
    const meta = words[k + W_META] as number;
    const v = (meta >>> 16) & 0xff;
    const encap = meta >>> 24;
    const dvc = words[k + W_DIR_VERSION_CHAIN] as number;
    const ov = (dvc >>> 8) & 0xff;
    const ports = words[k + W_PORTS] as number;
    const record: FlowRecord = {
      node: iface?.node.name ?? '',
      iface: iface?.name ?? '',
      direction: directionName(dvc & 0xff),
      ipVersion: v,
      src: formatAddress(v, words, k + W_SRC),
      dst: formatAddress(v, words, k + W_DST),
      proto: (meta >>> 8) & 0xff,
      sport: ports >>> 16,
      dport: ports & 0xffff,
      encap: ENCAP_NAMES[encap] ?? 'none',
      outerSrc: encap !== 0 ? formatAddress(ov, words, k + W_OUTER_SRC) : '',
      outerDst: encap !== 0 ? formatAddress(ov, words, k + W_OUTER_DST) : '',
      vni: encap !== 0 ? (words[k + W_VNI] as number) | 0 : -1,
      packets: f64[c + F_PACKETS] as number,
      bytes: f64[c + F_PACKETS + 1] as number,
      firstSeen: f64[c + F_PACKETS + 2] as number,
      lastSeen: f64[c + F_PACKETS + 3] as number,
    };
    onRecord(record, words[k + W_SLOT] as number);
  }
}

/** The chain id of record `r` of `words` (0 when its flow has fewer than two layers). */
export function recordChainId(words: Uint32Array, r: number): number {
  return (words[r * RECORD_WORDS + W_DIR_VERSION_CHAIN] as number) >>> 16;
}

const LAYER_WORDS = 11;

/** A chain's stored row (flowTableChain) as EncapChains.layers gives it, outermost first. */
export function chainLayers(row: Uint32Array): EncapLayerRecord[] {
  const out: EncapLayerRecord[] = [];
  const depth = row.length > 0 ? (row[0] as number) : 0;
  for (let l = 0; l < depth; l++) {
    const base = 1 + l * LAYER_WORDS;
    const version = row[base + 1] as number;
    const vni = (row[base + 2] as number) | 0;
    out.push({ kind: ENCAP_NAMES[row[base] as number] ?? 'none', src: formatAddress(version, row, base + 3), dst: formatAddress(version, row, base + 7), vni: vni >= 0 ? vni : null });
  }
  return out;
}
