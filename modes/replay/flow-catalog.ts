/**
 * What replay decoded, as flows over the whole input (CONTRACT.md, replay `flows`): one entry per
 * node, interface, encapsulation chain and innermost 5-tuple, both directions together, summed from
 * the flow table's interval records, plus the tunnel packets whose payload was not decoded, listed
 * as those tunnels.
 *
 * A capture can hold hundreds of thousands of flows, so the totals are kept the way the flow table
 * keeps its slots: fixed-stride words in typed arrays found by open addressing, keyed by the slot's
 * own words (no strings per record); addresses become text once per flow, at the end.
 *
 * Everything here is a sum, a minimum or a maximum, so the result does not depend on how the input
 * was split into intervals, files or reads.
 */
import type { EncapLayerRecord, FlowRecord } from '../../core/findings/flow-record.js';
import { formatAddress, ipProtoName } from '../../core/net/address.js';
import { ENCAP_NAMES, undecodedTunnelName, type TunnelLayersView } from '../../agent/native/engine-names.js';
import type { InterfaceRegistry } from '../../agent/flow/interface-registry.js';
import { mix } from '../../agent/flow/hash-mix.js';

export interface ReplayFlow {
  readonly node: string;
  readonly iface: string;
  /** The innermost packet, as in DropEvent; null for a tunnel whose payload was not decoded. */
  readonly src: string | null;
  readonly dst: string | null;
  readonly proto: string | null;
  /** TCP, UDP and SCTP ports; null for other protocols and for packets without a transport header (non-first fragments). */
  readonly sport: number | null;
  readonly dport: number | null;
  /** The layers outside the innermost packet, outermost first. */
  readonly encap: readonly EncapLayerRecord[];
  /** Present when the innermost tunnel's payload was not decoded: why (`ppp-protocol-0xc021`, `gre-protocol-0x8847`, ...). */
  readonly undecoded?: string;
  readonly packets: number;
  readonly bytes: number;
  readonly firstSeen: string;
  readonly lastSeen: string;
}


/** What the catalog reads of a flow table's slot while its record is handed out (FlowTable, or the native pipeline's view of a flushed record). */
export interface CatalogFlowTable {
  /** The words the offsets below index (addresses: four words each). */
  readonly keyWords: Uint32Array;
  iface(slot: number): number;
  ipVersion(slot: number): number;
  encapKind(slot: number): number;
  proto(slot: number): number;
  outerVersion(slot: number): number;
  portsWord(slot: number): number;
  vniWord(slot: number): number;
  chainId(slot: number): number;
  srcOffset(slot: number): number;
  dstOffset(slot: number): number;
  outerSrcOffset(slot: number): number;
  outerDstOffset(slot: number): number;
  readonly chains: { layers(id: number): EncapLayerRecord[] };
}

/** Packets per encapsulation chain, for the summary (`vxlan`, `ipip>gre`, `gre (payload not decoded: ...)`). */
export interface EncapsulationSeen {
  readonly chain: string;
  readonly packets: number;
}

// Key words of a total: interface, proto | ipVersion << 8 | outer kind << 16 | outer version << 24,
// source (4), destination (4), ports, outer VNI word, outer source (4), outer destination (4), chain id.
const W_IFACE = 0;
const W_META = 1;
const W_SRC = 2;
const W_DST = 6;
const W_PORTS = 10;
const W_VNI = 11;
const W_OUTER_SRC = 12;
const W_OUTER_DST = 16;
const W_CHAIN = 20;
const KEY_WORDS = 21;
const STRIDE = 24;
// Counters per total: packets, bytes, first seen, last seen.
const C_PACKETS = 0;
const C_BYTES = 1;
const C_FIRST = 2;
const C_LAST = 3;
const COUNTERS = 4;

function hasPorts(proto: number): boolean {
  return proto === 6 || proto === 17 || proto === 132;
}

interface UndecodedEntry {
  readonly ifaceId: number;
  readonly node: string;
  readonly iface: string;
  readonly encap: readonly EncapLayerRecord[];
  readonly undecoded: string;
  readonly key: string;
  packets: number;
  bytes: number;
  first: number;
  last: number;
}

export class FlowCatalog {
  private words = new Uint32Array(STRIDE * 1024);
  private counters = new Float64Array(COUNTERS * 1024);
  private count = 0;
  /** Open addressing: total index + 1 (0 = empty), at most half full. */
  private buckets = new Int32Array(2048);
  /** The key being looked up, gathered from a flow table slot. */
  private readonly probe = new Uint32Array(KEY_WORDS);
  private readonly undecoded = new Map<string, UndecodedEntry>();

  constructor(
    private readonly registry: InterfaceRegistry,
    private readonly table: CatalogFlowTable,
  ) {}

  /** One interval record of the flow table's slot: added to that flow's total. */
  addFlowRecord(slot: number, record: FlowRecord): void {
    this.addFlowCounts(slot, record.packets, record.bytes, record.firstSeen, record.lastSeen);
  }

  /** addFlowRecord from the record's counters alone (the key is read from the table's slot). */
  addFlowCounts(slot: number, packets: number, bytes: number, firstSeen: number, lastSeen: number): void {
    const t = this.table;
    const k = this.probe;
    const keys = t.keyWords;
    const version = t.ipVersion(slot);
    const kind = t.encapKind(slot);
    k[W_IFACE] = t.iface(slot);
    k[W_META] = (t.proto(slot) | (version << 8) | (kind << 16) | (t.outerVersion(slot) << 24)) >>> 0;
    const src = t.srcOffset(slot);
    const dst = t.dstOffset(slot);
    const outerSrc = t.outerSrcOffset(slot);
    const outerDst = t.outerDstOffset(slot);
    for (let i = 0; i < 4; i++) {
      k[W_SRC + i] = keys[src + i] as number;
      k[W_DST + i] = keys[dst + i] as number;
      k[W_OUTER_SRC + i] = keys[outerSrc + i] as number;
      k[W_OUTER_DST + i] = keys[outerDst + i] as number;
    }
    k[W_PORTS] = t.portsWord(slot);
    k[W_VNI] = t.vniWord(slot);
    k[W_CHAIN] = t.chainId(slot);
    const at = this.find(k);
    const c = at * COUNTERS;
    const counters = this.counters;
    counters[c + C_PACKETS] = (counters[c + C_PACKETS] as number) + packets;
    counters[c + C_BYTES] = (counters[c + C_BYTES] as number) + bytes;
    if (firstSeen < (counters[c + C_FIRST] as number)) counters[c + C_FIRST] = firstSeen;
    if (lastSeen > (counters[c + C_LAST] as number)) counters[c + C_LAST] = lastSeen;
  }

  /** A tunnel packet whose payload was not decoded (rare: this allocates per packet). */
  addUndecodedTunnel(view: TunnelLayersView, ifaceId: number, tsMs: number, length: number): void {
    const iface = this.registry.interfaces[ifaceId];
    if (!iface) return;
    const encap: EncapLayerRecord[] = [];
    for (let l = 0; l < view.encapDepth; l++) {
      const version = view.encapOuterVersion[l] as number;
      const vni = view.encapVni[l] as number;
      encap.push({
        kind: ENCAP_NAMES[view.encapKind[l] as number] ?? 'none',
        src: formatAddress(version, view.encapOuterSrc, l * 4),
        dst: formatAddress(version, view.encapOuterDst, l * 4),
        vni: vni >= 0 ? vni : null,
      });
    }
    const undecoded = undecodedTunnelName(view.undecodedTunnel, view.undecodedValue);
    const key = `${iface.node.name}\u0000${iface.name}\u0000${layersKey(encap)}\u0000${undecoded}`;
    const e = this.undecoded.get(key);
    if (e) {
      e.packets++;
      e.bytes += length;
      if (tsMs < e.first) e.first = tsMs;
      if (tsMs > e.last) e.last = tsMs;
      return;
    }
    this.undecoded.set(key, { ifaceId, node: iface.node.name, iface: iface.name, encap, undecoded, key, packets: 1, bytes: length, first: tsMs, last: tsMs });
  }

  /**
   * Every flow: by node and interface, then the most packets first (bytes, then the flow's own
   * fields break ties, so the order is the same for every split and order of the same input).
   */
  flows(): ReplayFlow[] {
    return [...this.flowPages(Infinity)].flat();
  }

  /**
   * The same flows in the same order, made a page at a time: a capture's flows can number hundreds
   * of thousands, and `--json` writes each page before the next is made, so they never all exist
   * as objects at once.
   */
  *flowPages(pageSize: number): Generator<ReplayFlow[]> {
    // Interfaces ranked by (node, name) once, so that sorting compares numbers.
    const ifaces = this.registry.interfaces;
    const rank = new Int32Array(ifaces.length);
    [...ifaces]
      .sort((a, b) => (a.node.name !== b.node.name ? (a.node.name < b.node.name ? -1 : 1) : a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .forEach((iface, i) => (rank[iface.id] = i));
    // Decoded totals are 0 .. count-1 in the order; undecoded ones follow.
    const undecoded = [...this.undecoded.values()];
    const n = this.count;
    const w = this.words;
    const counters = this.counters;
    const rankOf = (i: number): number => (i < n ? (rank[w[i * STRIDE + W_IFACE] as number] as number) : (rank[(undecoded[i - n] as UndecodedEntry).ifaceId] as number));
    const packetsOf = (i: number): number => (i < n ? (counters[i * COUNTERS + C_PACKETS] as number) : (undecoded[i - n] as UndecodedEntry).packets);
    const bytesOf = (i: number): number => (i < n ? (counters[i * COUNTERS + C_BYTES] as number) : (undecoded[i - n] as UndecodedEntry).bytes);
    const order = new Uint32Array(n + undecoded.length);
    for (let i = 0; i < order.length; i++) order[i] = i;
    order.sort((a, b) => rankOf(a) - rankOf(b) || packetsOf(b) - packetsOf(a) || bytesOf(b) - bytesOf(a) || this.tie(a, b, undecoded));
    const times = new IsoTimes();
    for (let start = 0; start < order.length; start += pageSize) {
      const end = Math.min(order.length, start + pageSize);
      const page: ReplayFlow[] = new Array(end - start);
      for (let k = start; k < end; k++) {
        const i = order[k] as number;
        if (i < n) page[k - start] = this.decodedFlow(i, times);
        else {
          const e = undecoded[i - n] as UndecodedEntry;
          page[k - start] = { node: e.node, iface: e.iface, src: null, dst: null, proto: null, sport: null, dport: null, encap: e.encap, undecoded: e.undecoded, packets: e.packets, bytes: e.bytes, firstSeen: times.of(e.first), lastSeen: times.of(e.last) };
        }
      }
      yield page;
    }
  }

  /**
   * Two flows of one interface with the same packets and bytes, in an order that depends only on
   * what they are: decoded ones first, by key words (the chain's id aside: it depends on which
   * chain was met first), then by their chain's text; undecoded ones by their key.
   */
  private tie(a: number, b: number, undecoded: readonly UndecodedEntry[]): number {
    const n = this.count;
    if (a >= n || b >= n) {
      if (a < n) return -1;
      if (b < n) return 1;
      const ka = (undecoded[a - n] as UndecodedEntry).key;
      const kb = (undecoded[b - n] as UndecodedEntry).key;
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    }
    const w = this.words;
    for (let i = 0; i < W_CHAIN; i++) {
      const d = (w[a * STRIDE + i] as number) - (w[b * STRIDE + i] as number);
      if (d !== 0) return d;
    }
    const ca = layersKey(this.table.chains.layers(w[a * STRIDE + W_CHAIN] as number));
    const cb = layersKey(this.table.chains.layers(w[b * STRIDE + W_CHAIN] as number));
    return ca < cb ? -1 : ca > cb ? 1 : 0;
  }

  /** Packets per encapsulation chain (kinds only), most first; undecoded payloads named. */
  encapsulations(): EncapsulationSeen[] {
    const byChain = new Map<string, number>();
    const add = (chain: string, packets: number): void => void byChain.set(chain, (byChain.get(chain) ?? 0) + packets);
    const w = this.words;
    for (let i = 0; i < this.count; i++) {
      const kind = ((w[i * STRIDE + W_META] as number) >>> 16) & 0xff;
      if (kind === 0) continue;
      const chain = w[i * STRIDE + W_CHAIN] as number;
      const kinds = chain !== 0 ? this.table.chains.layers(chain).map((l) => l.kind).join('>') : (ENCAP_NAMES[kind] ?? 'none');
      add(kinds, this.counters[i * COUNTERS + C_PACKETS] as number);
    }
    for (const e of this.undecoded.values()) add(`${e.encap.map((l) => l.kind).join('>')} (payload not decoded: ${e.undecoded})`, e.packets);
    return [...byChain.entries()].map(([chain, packets]) => ({ chain, packets })).sort((a, b) => b.packets - a.packets || (a.chain < b.chain ? -1 : 1));
  }

  private decodedFlow(i: number, times: IsoTimes): ReplayFlow {
    const w = this.words;
    const base = i * STRIDE;
    const meta = w[base + W_META] as number;
    const proto = meta & 0xff;
    const version = (meta >>> 8) & 0xff;
    const kind = (meta >>> 16) & 0xff;
    const outerVersion = meta >>> 24;
    const iface = this.registry.interfaces[w[base + W_IFACE] as number];
    const chain = w[base + W_CHAIN] as number;
    let encap: EncapLayerRecord[] = [];
    if (chain !== 0) encap = this.table.chains.layers(chain);
    else if (kind !== 0) {
      const vni = (w[base + W_VNI] as number) | 0;
      encap = [{ kind: ENCAP_NAMES[kind] ?? 'none', src: formatAddress(outerVersion, w, base + W_OUTER_SRC), dst: formatAddress(outerVersion, w, base + W_OUTER_DST), vni: vni >= 0 ? vni : null }];
    }
    const portsWord = w[base + W_PORTS] as number;
    // The flow table keys a non-first fragment (no transport header) with ports 0, which no TCP or UDP packet has.
    const ports = hasPorts(proto) && portsWord !== 0;
    const src = formatAddress(version, w, base + W_SRC);
    const dst = formatAddress(version, w, base + W_DST);
    const c = i * COUNTERS;
    return {
      node: iface?.node.name ?? '',
      iface: iface?.name ?? '',
      src,
      dst,
      proto: ipProtoName(proto),
      sport: ports ? portsWord >>> 16 : null,
      dport: ports ? portsWord & 0xffff : null,
      encap,
      packets: this.counters[c + C_PACKETS] as number,
      bytes: this.counters[c + C_BYTES] as number,
      firstSeen: times.of(this.counters[c + C_FIRST] as number),
      lastSeen: times.of(this.counters[c + C_LAST] as number),
    };
  }

  /** The index of the total with the probe's key, created empty when new. */
  private find(k: Uint32Array): number {
    let h = 0x2545f491;
    for (let i = 0; i < KEY_WORDS; i++) h = mix(h, k[i] as number);
    h ^= h >>> 16;
    const mask = this.buckets.length - 1;
    const w = this.words;
    let b = h & mask;
    for (let e = (this.buckets[b] as number) - 1; e >= 0; e = (this.buckets[b] as number) - 1) {
      const base = e * STRIDE;
      let same = true;
      for (let i = 0; i < KEY_WORDS; i++) {
        if (w[base + i] !== k[i]) {
          same = false;
          break;
        }
      }
      if (same) return e;
      b = (b + 1) & mask;
    }
    const e = this.count++;
    if ((e + 1) * STRIDE > this.words.length) this.grow();
    this.words.set(k, e * STRIDE);
    const c = e * COUNTERS;
    this.counters[c + C_PACKETS] = 0;
    this.counters[c + C_BYTES] = 0;
    this.counters[c + C_FIRST] = Infinity;
    this.counters[c + C_LAST] = -Infinity;
    if (this.count * 2 > this.buckets.length) this.rehash(this.buckets.length * 2);
    else this.buckets[b] = e + 1;
    return e;
  }

  private grow(): void {
    const words = new Uint32Array(this.words.length * 2);
    words.set(this.words);
    this.words = words;
    const counters = new Float64Array(this.counters.length * 2);
    counters.set(this.counters);
    this.counters = counters;
  }

  private rehash(size: number): void {
    const buckets = new Int32Array(size);
    const mask = size - 1;
    const w = this.words;
    for (let e = 0; e < this.count; e++) {
      let h = 0x2545f491;
      for (let i = 0; i < KEY_WORDS; i++) h = mix(h, w[e * STRIDE + i] as number);
      h ^= h >>> 16;
      let b = h & mask;
      while (buckets[b] !== 0) b = (b + 1) & mask;
      buckets[b] = e + 1;
    }
    this.buckets = buckets;
  }
}

function layersKey(layers: readonly EncapLayerRecord[]): string {
  return layers.map((l) => `${l.kind}/${l.src}/${l.dst}/${l.vni ?? ''}`).join('>');
}

/**
 * ISO 8601 times to the millisecond, as Date.toISOString writes them, with the part up to the second
 * reused: flows of one capture share their seconds, and a Date per time costs more than the flows.
 */
class IsoTimes {
  /** Per whole second since the epoch, its text up to the second (a capture spans few of them). */
  private readonly prefixes = new Map<number, string>();

  of(ms: number): string {
    const whole = Math.trunc(ms);
    const second = Math.floor(whole / 1000);
    let prefix = this.prefixes.get(second);
    if (prefix === undefined) {
      prefix = new Date(second * 1000).toISOString().slice(0, 19);
      this.prefixes.set(second, prefix);
    }
    return `${prefix}.${String(whole - second * 1000).padStart(3, '0')}Z`;
  }
}

/**
 * One flow as JSON, exactly as JSON.stringify writes it (same keys, same order), several times
 * faster: a capture can hold hundreds of thousands of flows. Names come from the user and are
 * escaped; addresses, protocol names, kinds and times are plain ASCII.
 */
export function replayFlowJson(f: ReplayFlow): string {
  const text = (s: string | null): string => (s === null ? 'null' : `"${s}"`);
  const encap = f.encap.map((l) => `{"kind":"${l.kind}","src":"${l.src}","dst":"${l.dst}","vni":${l.vni === null ? 'null' : l.vni}}`).join(',');
  const undecoded = f.undecoded !== undefined ? `,"undecoded":${JSON.stringify(f.undecoded)}` : '';
  return (
    `{"node":${JSON.stringify(f.node)},"iface":${JSON.stringify(f.iface)},"src":${text(f.src)},"dst":${text(f.dst)},"proto":${text(f.proto)},` +
    `"sport":${f.sport === null ? 'null' : f.sport},"dport":${f.dport === null ? 'null' : f.dport},"encap":[${encap}]${undecoded},` +
    `"packets":${f.packets},"bytes":${f.bytes},"firstSeen":"${f.firstSeen}","lastSeen":"${f.lastSeen}"}`
  );
}
