/**
 * Encapsulation chains of two layers or more (IPIP inside VXLAN, PPTP over 4in6, nested GRE),
 * interned to small ids so that the flow table can key a flow by its whole chain while its slot
 * keeps only the outermost layer. One-layer chains, nearly all traffic, never come here.
 *
 * Rows are fixed-stride words in one growing Uint32Array and found by open addressing: looking a
 * chain up allocates nothing; a new chain costs a row (and a rare grow).
 */
import { formatAddress } from '../../core/net/address.js';
import type { EncapLayerRecord } from '../../core/findings/flow-record.js';
import { ENCAP_NAMES, MAX_ENCAP_DEPTH, type PacketView } from '../decode/packet-view.js';
import { mix } from './hash-mix.js';

/** Per layer: kind, outer IP version, VNI, 4 source words, 4 destination words. */
const LAYER_WORDS = 11;
/** depth, then the layers. */
const ROW_WORDS = 1 + MAX_ENCAP_DEPTH * LAYER_WORDS;
/** Ids fit the flow table's 16-bit field; 0 means "no chain beyond the outermost layer". */
const MAX_CHAINS = 0xffff;

export class EncapChains {
  private rows = new Uint32Array(ROW_WORDS * 64);
  /** Row 0 is unused: id 0 is "none". */
  private count = 1;
  private buckets = new Int32Array(256);
  /** Chains not interned because the table was full: their flows keep only the outermost layer. */
  overflow = 0;

  /** The id of the view's chain (0 when it has fewer than two layers, or the table is full). */
  idOf(view: PacketView): number {
    const depth = view.encapDepth;
    if (depth < 2) return 0;
    let h = depth;
    for (let l = 0; l < depth; l++) {
      h = mix(h, (view.encapKind[l] as number) | ((view.encapOuterVersion[l] as number) << 8));
      h = mix(h, view.encapVni[l] as number);
      for (let i = 0; i < 4; i++) h = mix(h, (view.encapOuterSrc[l * 4 + i] as number) ^ (view.encapOuterDst[l * 4 + i] as number));
    }
    const mask = this.buckets.length - 1;
    let b = h & mask;
    for (let id = this.buckets[b] as number; id !== 0; id = this.buckets[b] as number) {
      if (this.matches(id, view)) return id;
      b = (b + 1) & mask;
    }
    if (this.count > MAX_CHAINS) {
      this.overflow++;
      return 0;
    }
    const id = this.count++;
    if ((id + 1) * ROW_WORDS > this.rows.length) {
      const grown = new Uint32Array(this.rows.length * 2);
      grown.set(this.rows);
      this.rows = grown;
    }
    this.write(id, view);
    this.buckets[b] = id;
    if (this.count * 2 > this.buckets.length) this.rehash();
    return id;
  }

  /** The chain of an id, outermost first (for reports: allocates). */
  layers(id: number): EncapLayerRecord[] {
    if (id <= 0 || id >= this.count) return [];
    const rows = this.rows;
    const r = id * ROW_WORDS;
    const out: EncapLayerRecord[] = [];
    for (let l = 0; l < (rows[r] as number); l++) {
      const base = r + 1 + l * LAYER_WORDS;
      const version = rows[base + 1] as number;
      const vni = (rows[base + 2] as number) | 0;
      out.push({
        kind: ENCAP_NAMES[rows[base] as number] ?? 'none',
        src: formatAddress(version, rows, base + 3),
        dst: formatAddress(version, rows, base + 7),
        vni: vni >= 0 ? vni : null,
      });
    }
    return out;
  }

  private matches(id: number, view: PacketView): boolean {
    const rows = this.rows;
    const r = id * ROW_WORDS;
    const depth = view.encapDepth;
    if (rows[r] !== depth) return false;
    for (let l = 0; l < depth; l++) {
      const base = r + 1 + l * LAYER_WORDS;
      if (rows[base] !== view.encapKind[l] || rows[base + 1] !== view.encapOuterVersion[l] || rows[base + 2] !== (view.encapVni[l] as number) >>> 0) return false;
      for (let i = 0; i < 4; i++) {
        if (rows[base + 3 + i] !== view.encapOuterSrc[l * 4 + i] || rows[base + 7 + i] !== view.encapOuterDst[l * 4 + i]) return false;
      }
    }
    return true;
  }

  private write(id: number, view: PacketView): void {
    const rows = this.rows;
    const r = id * ROW_WORDS;
    rows[r] = view.encapDepth;
    for (let l = 0; l < view.encapDepth; l++) {
      const base = r + 1 + l * LAYER_WORDS;
      rows[base] = view.encapKind[l] as number;
      rows[base + 1] = view.encapOuterVersion[l] as number;
      rows[base + 2] = (view.encapVni[l] as number) >>> 0;
      for (let i = 0; i < 4; i++) {
        rows[base + 3 + i] = view.encapOuterSrc[l * 4 + i] as number;
        rows[base + 7 + i] = view.encapOuterDst[l * 4 + i] as number;
      }
    }
  }

  /** Doubles the buckets; rows are rehashed from their stored words. */
  private rehash(): void {
    const buckets = new Int32Array(this.buckets.length * 2);
    const mask = buckets.length - 1;
    for (let id = 1; id < this.count; id++) {
      let b = this.rowHash(id) & mask;
      while (buckets[b] !== 0) b = (b + 1) & mask;
      buckets[b] = id;
    }
    this.buckets = buckets;
  }

  /** The same hash idOf computes, from a stored row. */
  private rowHash(id: number): number {
    const rows = this.rows;
    const r = id * ROW_WORDS;
    const depth = rows[r] as number;
    let h = depth;
    for (let l = 0; l < depth; l++) {
      const base = r + 1 + l * LAYER_WORDS;
      h = mix(h, (rows[base] as number) | ((rows[base + 1] as number) << 8));
      h = mix(h, (rows[base + 2] as number) | 0);
      for (let i = 0; i < 4; i++) h = mix(h, (rows[base + 3 + i] as number) ^ (rows[base + 7 + i] as number));
    }
    return h;
  }
}
