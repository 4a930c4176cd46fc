/**
 * Stored rows to JSONEachRow objects and back. Writing checks what the types cannot (integers are
 * integers, addresses parse); reading checks every column, so a row the store cannot vouch for fails
 * loudly instead of reaching the API half-formed.
 */
import type { Confidence, DropEvent, Evidence, KernelDropSummary } from '../../../core/explain/drop-event.js';
import type {
  BatchKey,
  HopDirection,
  RowSource,
  StoredAgentStatus,
  StoredDrop,
  StoredFlow,
  StoredHop,
  StoredPacket,
} from '../storage.js';
import { numberField, stringField, type JsonRow, type SqlProfile } from './profiles.js';

type Row = Readonly<Record<string, unknown>>;

function integer(value: number, what: string, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new TypeError(`${what}: expected an integer in ${min}..${max}, got ${value}`);
  }
  return value;
}

const UINT16 = 0xffff;
const UINT32 = 0xffff_ffff;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

function optionalAddress(text: string, what: string): string {
  // Outer addresses are '' when there is no tunnel; they are shown, never filtered on, so they stay text.
  if (typeof text !== 'string') throw new TypeError(`${what}: expected a string`);
  return text;
}

function msToIso(ms: number): string {
  return new Date(ms).toISOString();
}

function isoToMs(iso: string, what: string): number {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) throw new TypeError(`${what}: not an ISO 8601 time: ${JSON.stringify(iso)}`);
  return ms;
}

function oneOf<T extends string>(value: string, allowed: readonly T[], what: string): T {
  if (!(allowed as readonly string[]).includes(value)) throw new TypeError(`${what}: unexpected ${JSON.stringify(value)}`);
  return value as T;
}

const DIRECTIONS: readonly HopDirection[] = ['in', 'out', 'unknown'];
const SOURCES: readonly RowSource[] = ['live', 'replay'];
const CONFIDENCES: readonly Confidence[] = ['confirmed', 'likely', 'possible'];

export class RowCodec {
  constructor(private readonly p: SqlProfile) {}

  batchRow(batch: BatchKey & { readonly node: string; readonly receivedAtMs: number }): JsonRow {
    return {
      agent_id: batch.agentId,
      boot_id: batch.bootId,
      sequence: integer(batch.sequence, 'sequence', 0, Number.MAX_SAFE_INTEGER),
      node: batch.node,
      received_at: this.p.encodeTime(batch.receivedAtMs),
    };
  }

  flowRow(f: StoredFlow): JsonRow {
    const row: JsonRow = {
      node: f.node,
      iface: f.iface,
      direction: oneOf(f.direction, DIRECTIONS, 'flow direction'),
      proto: integer(f.proto, 'flow proto', 0, 255),
      sport: integer(f.sport, 'flow sport', 0, UINT16),
      dport: integer(f.dport, 'flow dport', 0, UINT16),
      encap: f.encap,
      outer_src: optionalAddress(f.outerSrc, 'flow outerSrc'),
      outer_dst: optionalAddress(f.outerDst, 'flow outerDst'),
      vni: integer(f.vni, 'flow vni', INT32_MIN, INT32_MAX),
      packets: integer(f.packets, 'flow packets', 0, Number.MAX_SAFE_INTEGER),
      bytes: integer(f.bytes, 'flow bytes', 0, Number.MAX_SAFE_INTEGER),
      first_seen: this.p.encodeTime(f.firstSeenMs),
      last_seen: this.p.encodeTime(f.lastSeenMs),
      source: oneOf(f.source, SOURCES, 'flow source'),
    };
    this.p.encodeAddress('src', f.src, row);
    this.p.encodeAddress('dst', f.dst, row);
    return row;
  }

  flowFromRow(row: Row): StoredFlow {
    return {
      node: stringField(row, 'node'),
      iface: stringField(row, 'iface'),
      direction: oneOf(stringField(row, 'direction'), DIRECTIONS, 'direction'),
      src: this.p.decodeAddress('src', row),
      dst: this.p.decodeAddress('dst', row),
      proto: numberField(row, 'proto'),
      sport: numberField(row, 'sport'),
      dport: numberField(row, 'dport'),
      encap: stringField(row, 'encap'),
      outerSrc: stringField(row, 'outer_src'),
      outerDst: stringField(row, 'outer_dst'),
      vni: numberField(row, 'vni'),
      packets: numberField(row, 'packets'),
      bytes: numberField(row, 'bytes'),
      firstSeenMs: numberField(row, 'first_seen_ms'),
      lastSeenMs: numberField(row, 'last_seen_ms'),
      source: oneOf(stringField(row, 'source'), SOURCES, 'source'),
    };
  }

  dropRow(d: StoredDrop): JsonRow {
    const e = d.event;
    const port = (value: number | null, what: string): number | null =>
      value === null ? null : integer(value, what, 0, UINT16);
    const row: JsonRow = {
      id: e.id,
      node: e.node,
      iface: e.iface,
      proto: e.proto,
      sport: port(e.sport, 'drop sport'),
      dport: port(e.dport, 'drop dport'),
      packets: integer(e.packets, 'drop packets', 0, Number.MAX_SAFE_INTEGER),
      first_seen: this.p.encodeTime(isoToMs(e.firstSeen, 'drop firstSeen')),
      last_seen: this.p.encodeTime(isoToMs(e.lastSeen, 'drop lastSeen')),
      verdict: e.verdict,
      confidence: oneOf(e.confidence, CONFIDENCES, 'drop confidence'),
      evidence_json: JSON.stringify(e.evidence.map((ev) => ({ kind: ev.kind, detail: ev.detail }))),
      remedy: e.remedy,
      path_json: JSON.stringify(d.path.map(checkedHop)),
      source: oneOf(d.source, SOURCES, 'drop source'),
      updated_at_ms: integer(d.updatedAtMs, 'drop updatedAtMs', 0, Number.MAX_SAFE_INTEGER),
      last_batch: d.lastBatch ?? '',
      ...kernelColumns(e.kernel),
    };
    this.p.encodeAddress('src', e.src, row);
    this.p.encodeAddress('dst', e.dst, row);
    return row;
  }

  dropFromRow(row: Row): StoredDrop {
    const port = (column: string): number | null => (row[column] === null ? null : numberField(row, column));
    const event: DropEvent = {
      id: stringField(row, 'id'),
      node: stringField(row, 'node'),
      iface: stringField(row, 'iface'),
      src: this.p.decodeAddress('src', row),
      dst: this.p.decodeAddress('dst', row),
      proto: stringField(row, 'proto'),
      sport: port('sport'),
      dport: port('dport'),
      packets: numberField(row, 'packets'),
      firstSeen: msToIso(numberField(row, 'first_seen_ms')),
      lastSeen: msToIso(numberField(row, 'last_seen_ms')),
      verdict: stringField(row, 'verdict'),
      confidence: oneOf(stringField(row, 'confidence'), CONFIDENCES, 'confidence'),
      evidence: parseEvidence(stringField(row, 'evidence_json')),
      remedy: stringField(row, 'remedy'),
      kernel: kernelFromRow(row),
    };
    return {
      event,
      path: parsePath(stringField(row, 'path_json')),
      source: oneOf(stringField(row, 'source'), SOURCES, 'source'),
      updatedAtMs: numberField(row, 'updated_at_ms'),
      ...(stringField(row, 'last_batch') !== '' ? { lastBatch: stringField(row, 'last_batch') } : {}),
    };
  }

  packetRow(pk: StoredPacket): JsonRow {
    return {
      drop_id: pk.dropId,
      node: pk.node,
      iface: pk.iface,
      ts: this.p.encodeTime(pk.tsMs),
      link_type: integer(pk.linkType, 'packet linkType', 0, UINT16),
      orig_len: integer(pk.origLen, 'packet origLen', 0, UINT32),
      bytes_base64: Buffer.from(pk.bytes.buffer, pk.bytes.byteOffset, pk.bytes.byteLength).toString('base64'),
    };
  }

  packetFromRow(row: Row): StoredPacket {
    return {
      dropId: stringField(row, 'drop_id'),
      node: stringField(row, 'node'),
      iface: stringField(row, 'iface'),
      tsMs: numberField(row, 'ts_ms'),
      linkType: numberField(row, 'link_type'),
      origLen: numberField(row, 'orig_len'),
      bytes: new Uint8Array(Buffer.from(stringField(row, 'bytes_base64'), 'base64')),
    };
  }

  agentRow(a: StoredAgentStatus): JsonRow {
    return {
      agent_id: a.agentId,
      node: a.node,
      boot_id: a.bootId,
      last_batch: this.p.encodeTime(a.lastBatchMs),
      status_json: a.statusJson,
    };
  }

  agentFromRow(row: Row): StoredAgentStatus {
    return {
      node: stringField(row, 'node'),
      agentId: stringField(row, 'agent_id'),
      bootId: stringField(row, 'boot_id'),
      lastBatchMs: numberField(row, 'last_batch_ms'),
      statusJson: stringField(row, 'status_json'),
    };
  }
}

/**
 * The kernel summary as two columns: no summary is stored as an empty reason (the columns' defaults,
 * so rows from before they existed read as none), which is why a summary must name its reason.
 */
function kernelColumns(kernel: KernelDropSummary | null): JsonRow {
  if (kernel === null) return { kernel_reason: '', kernel_packets: 0 };
  if (typeof kernel !== 'object' || typeof kernel.reason !== 'string' || kernel.reason === '') {
    throw new TypeError('drop kernel: expected null or a non-empty reason with its packets');
  }
  return { kernel_reason: kernel.reason, kernel_packets: integer(kernel.packets, 'drop kernel packets', 0, Number.MAX_SAFE_INTEGER) };
}

function kernelFromRow(row: Row): KernelDropSummary | null {
  const reason = stringField(row, 'kernel_reason');
  return reason === '' ? null : { reason, packets: numberField(row, 'kernel_packets') };
}

function parseEvidence(text: string): Evidence[] {
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) throw new TypeError('evidence_json: expected an array');
  return parsed.map((item: unknown) => {
    const ev = item as Partial<Evidence> | null;
    if (typeof ev?.kind !== 'string' || typeof ev.detail !== 'string') throw new TypeError('evidence_json: bad item');
    return { kind: ev.kind, detail: ev.detail };
  });
}

const HOP_FIELDS: Readonly<Record<keyof StoredHop, 'string' | 'number'>> = {
  node: 'string',
  iface: 'string',
  role: 'string',
  direction: 'string',
  tsMs: 'number',
  encap: 'string',
  outerSrc: 'string',
  outerDst: 'string',
  vni: 'number',
  ttl: 'number',
  length: 'number',
};

/** Exactly the hop's declared fields (a caller's extra properties are not stored), each of its type. */
function checkedHop(hop: StoredHop): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, type] of Object.entries(HOP_FIELDS)) {
    const value = (hop as unknown as Record<string, unknown>)[field];
    if (typeof value !== type || (type === 'number' && !Number.isFinite(value))) {
      throw new TypeError(`path hop ${field}: expected a ${type === 'number' ? 'finite number' : type}`);
    }
    out[field] = value;
  }
  oneOf(out.direction as string, DIRECTIONS, 'hop direction');
  return out;
}

function parsePath(text: string): StoredHop[] {
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) throw new TypeError('path_json: expected an array');
  return parsed.map((item: unknown) => {
    if (typeof item !== 'object' || item === null) throw new TypeError('path_json: bad hop');
    const hop = item as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [field, type] of Object.entries(HOP_FIELDS)) {
      if (typeof hop[field] !== type) throw new TypeError(`path_json: hop ${field} is not a ${type}`);
      out[field] = hop[field];
    }
    oneOf(out.direction as string, DIRECTIONS, 'hop direction');
    return out as unknown as StoredHop;
  });
}
