/**
 * One replay input: a capture file (or stdin) bound to a node and its interfaces. It is the
 * CaptureSink of its reader: interfaces described by the file become node interfaces, packets wait
 * in the input's RecordQueue until they can be released in canonical order (replay-runner merges the
 * inputs), and the input remembers the time span it covers.
 *
 * Naming (CONTRACT.md): a pcapng interface block named `node/iface` names both; other pcapng
 * interfaces keep their if_name on the input's node; a Linux SLL2 (`any`) capture names each packet's
 * interface from its ifindex (--ifname, else `ifN`) and covers every interface of its node; any other
 * pcap is one interface, named IFACE= or after the file. That includes Linux SLL v1: an old
 * `tcpdump -i any` writes it, but so does a capture of one interface (ppp0), and it carries no
 * interface index, so nothing in the file shows more than one interface.
 */
import { basename } from 'node:path';
import { CaptureStream } from '../../agent/capture/capture-stream.js';
import type { CaptureInterface, CaptureRecord, CaptureSink, PcapRecordFormat } from '../../agent/capture/capture-record.js';
import { DECODED_LINK_TYPES, LINKTYPE_LINUX_SLL2, linkTypeLabel } from '../../agent/decode/link-types.js';
import type { InterfaceRegistry } from '../../agent/flow/interface-registry.js';
import type { CaptureBinding } from '../../agent/native/pipeline-config.js';
import { RecordQueue } from './record-queue.js';

export interface ReplayInputSpec {
  readonly node: string;
  readonly iface: string | undefined;
  readonly path: string;
}

/** Parses `[NODE:][IFACE=]PATH`. A PATH that exists with ':' or '=' in it should be given as ./PATH. */
export function parseReplayInputSpec(text: string): ReplayInputSpec {
  let rest = text;
  let node = 'local';
  let iface: string | undefined;
  const nodeMatch = /^([A-Za-z0-9_.-]+):(.+)$/.exec(rest);
  if (nodeMatch && !rest.startsWith('./') && !rest.startsWith('/')) {
    node = nodeMatch[1] as string;
    rest = nodeMatch[2] as string;
  }
  const ifaceMatch = /^([A-Za-z0-9_.@:-]+)=(.+)$/.exec(rest);
  if (ifaceMatch && !rest.startsWith('./') && !rest.startsWith('/')) {
    iface = ifaceMatch[1] as string;
    rest = ifaceMatch[2] as string;
  }
  return { node, iface, path: rest };
}

export function fileStem(path: string): string {
  if (path === '-') return 'stdin';
  const b = basename(path);
  return b.replace(/\.(pcapng|pcap|cap)(\.gz)?$/i, '').replace(/\.gz$/i, '') || b;
}

/** 9999-12-31T23:59:59Z: the last second an ISO 8601 date without a sign can name. */
const LATEST_PACKET_SEC = 253_402_300_799;

export class ReplayInput implements CaptureSink {
  readonly stream: CaptureStream;
  readonly binding: CaptureBinding;
  readonly queue: RecordQueue;
  /** Timestamp (ms) of the latest packet read; -Infinity before the first. */
  lastTs = -Infinity;
  /** Timestamp (ms) of the earliest packet read; Infinity before the first. */
  firstTs = Infinity;
  readonly warnings: string[] = [];
  /** Packets skipped for a timestamp before 1970 or past year 9999. */
  skippedOutOfRange = 0;
  /** Packets per link type the decoder does not read (counted, not analysed; said in a warning). */
  readonly undecoded = new Map<number, number>();
  /** Nodes this input has interfaces of (a pcapng with `node/iface` names can feed several). */
  readonly nodes = new Set<string>();
  /** Per capture interface: `node NUL iface`, the key that orders records of equal time. */
  private readonly tieKeys: string[] = [];
  /**
   * The only input of a replay: its records go here as they are parsed (one capture interface: the
   * file's order is the canonical one), instead of into the queue.
   */
  direct: ((record: CaptureRecord) => void) | undefined;
  /**
   * The only input, when the engine walks pcap records itself: a chunk's complete records go there
   * in one call (the same records, in the same order, as `direct` one by one). Returns where it
   * stopped and what it took.
   */
  directWalk: ((chunk: Uint8Array, pos: number, end: number, format: PcapRecordFormat) => { readonly pos: number; readonly progress: { readonly records: number; readonly firstTs: number; readonly lastTs: number } }) | undefined;

  constructor(
    readonly spec: ReplayInputSpec,
    private readonly registry: InterfaceRegistry,
    ifnameByIndex: ReadonlyMap<number, string>,
  ) {
    this.stream = new CaptureStream(spec.path, this);
    this.binding = { node: spec.node, ifaceByCaptureInterface: [], ifnameByIndex, ifaceByIfindex: new Int32Array(0) };
    this.queue = new RecordQueue((id) => this.tieKey(id));
  }

  /** The key ordering this input's records of equal time among all inputs' (node, then interface). */
  tieKey(captureInterface: number): string {
    return this.tieKeys[captureInterface] ?? `${this.spec.node}\u0000`;
  }

  /** Reads the next chunk into the queue; at the end, lets the queue release everything. */
  async pump(): Promise<boolean> {
    const more = await this.stream.pump();
    if (!more) this.queue.end();
    return more;
  }

  get label(): string {
    return this.spec.path === '-' ? 'stdin' : this.spec.path;
  }

  onInterface(ci: CaptureInterface): void {
    const registry = this.registry;
    let node = this.spec.node;
    let name = ci.name;
    if (name !== undefined && name.includes('/')) {
      const slash = name.indexOf('/');
      node = name.slice(0, slash);
      name = name.slice(slash + 1);
    }
    this.nodes.add(node);
    if (ci.linkType === LINKTYPE_LINUX_SLL2) {
      // An `any` capture: each packet names its interface by index.
      registry.node(node).coversAllInterfaces = true;
      this.binding.ifaceByCaptureInterface[ci.id] = -1;
      this.tieKeys[ci.id] = `${node}\u0000`;
      return;
    }
    name ??= this.spec.iface ?? (ci.id === 0 ? fileStem(this.spec.path) : `${fileStem(this.spec.path)}#${ci.id}`);
    this.binding.ifaceByCaptureInterface[ci.id] = registry.interface(node, name).id;
    this.tieKeys[ci.id] = `${node}\u0000${name}`;
    // Records of several interfaces in one file are not in time order across them (dumpcap): from
    // the second interface on, they wait in the queue to be put in order.
    if (ci.id > 0) this.queue.holdForReorder();
  }

  onPacket(record: CaptureRecord): void {
    if (record.tsSec > LATEST_PACKET_SEC || record.tsSec < 0) {
      // Only a broken or hostile capture has these (a pcapng timestamp is 64 bits of any unit), and
      // no time past year 9999 has an ISO 8601 form for a drop event: skipped, counted, said once.
      this.skippedOutOfRange++;
      return;
    }
    if (!DECODED_LINK_TYPES.has(record.linkType)) this.undecoded.set(record.linkType, (this.undecoded.get(record.linkType) ?? 0) + 1);
    if (this.direct && !this.queue.holding && this.queue.size === 0) this.direct(record);
    else this.queue.push(record);
    const ts = record.tsSec * 1000 + record.tsNsec / 1e6;
    if (ts > this.lastTs) this.lastTs = ts;
    if (ts < this.firstTs) this.firstTs = ts;
  }

  onPcapRecords(chunk: Uint8Array, pos: number, end: number, format: PcapRecordFormat, walked: { records: number }): number {
    if (!this.directWalk || this.queue.holding || this.queue.size > 0) return pos;
    const { pos: next, progress } = this.directWalk(chunk, pos, end, format);
    // A pcap's seconds are 32 bits: never out of onPacket's range.
    walked.records += progress.records;
    if (progress.records > 0 && !DECODED_LINK_TYPES.has(format.linkType)) this.undecoded.set(format.linkType, (this.undecoded.get(format.linkType) ?? 0) + progress.records);
    if (progress.lastTs > this.lastTs) this.lastTs = progress.lastTs;
    if (progress.firstTs < this.firstTs) this.firstTs = progress.firstTs;
    return next;
  }

  onWarning(message: string): void {
    this.warnings.push(`${this.label}: ${message}`);
  }

  /** What the input's warnings say at the end, its undecoded link types included. */
  allWarnings(): string[] {
    const undecoded = [...this.undecoded].map(([lt, n]) => `${this.label}: ${n} packet(s) of link type ${linkTypeLabel(lt)}, which pathwatch does not decode: counted, not analysed`);
    const outOfRange = this.skippedOutOfRange > 0 ? [`${this.label}: ${this.skippedOutOfRange} packet(s) skipped: timestamp before 1970 or past year 9999`] : [];
    return [...this.warnings, ...undecoded, ...outOfRange];
  }
}
