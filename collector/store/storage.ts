/**
 * What the collector keeps, and the one interface both storage backends implement: embedded chDB
 * (`embedded:DIR`, the default) and a ClickHouse server over HTTP (`clickhouse://...`). Both run
 * the same SQL; the DDL differs only by the server's capabilities (see the DDL profiles).
 *
 * Rows are plain values already checked by the caller (addresses are canonical IP strings, times
 * epoch milliseconds); backends still never splice a value into SQL unformatted.
 */
import type { DropEvent } from '../../core/explain/drop-event.js';

/** Identifies one agent POST; a retried batch with the same key is stored once. */
export interface BatchKey {
  readonly agentId: string;
  readonly bootId: string;
  readonly sequence: number;
}

export type HopDirection = 'in' | 'out' | 'unknown';

/** One sighting of a drop event's packet on its way: the path drawn hop by hop. */
export interface StoredHop {
  readonly node: string;
  readonly iface: string;
  /** tunnel, pod, uplink, loopback, other */
  readonly role: string;
  readonly direction: HopDirection;
  readonly tsMs: number;
  /** none, ipip, vxlan, geneve, gre, erspan */
  readonly encap: string;
  /** '' when not encapsulated. */
  readonly outerSrc: string;
  readonly outerDst: string;
  /** -1 when none. */
  readonly vni: number;
  readonly ttl: number;
  readonly length: number;
}

/** Where a stored row came from: an agent's live capture, or a replay sent with `--collector`. */
export type RowSource = 'live' | 'replay';

/** A drop event as it stands now; later versions of the same id replace earlier ones. */
export interface StoredDrop {
  readonly event: DropEvent;
  /** The path of the group's first packet, in time order. */
  readonly path: readonly StoredHop[];
  readonly source: RowSource;
  /** Version: the collector's wall clock (ms) when this state was computed; the newest wins. */
  readonly updatedAtMs: number;
  /**
   * The batch (agent|boot|sequence) whose packets this state added last, '' if none: a batch whose
   * write was cut after its drop rows and is retried must not add its packets twice.
   */
  readonly lastBatch?: string;
}

/** The first bytes of a vanished packet as captured (for the pcapng export). */
export interface StoredPacket {
  readonly dropId: string;
  readonly node: string;
  readonly iface: string;
  readonly tsMs: number;
  /** LINKTYPE_* of `bytes`. */
  readonly linkType: number;
  /** The packet's length on the wire (bytes may be shorter). */
  readonly origLen: number;
  readonly bytes: Uint8Array;
}

/** Healthy traffic, aggregated by the agent over an interval. */
export interface StoredFlow {
  readonly node: string;
  readonly iface: string;
  readonly direction: HopDirection;
  readonly src: string;
  readonly dst: string;
  readonly proto: number;
  /** 0 where the protocol has no ports. */
  readonly sport: number;
  readonly dport: number;
  readonly encap: string;
  readonly outerSrc: string;
  readonly outerDst: string;
  readonly vni: number;
  readonly packets: number;
  readonly bytes: number;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  readonly source: RowSource;
}

/** The last word from one agent: what `/api/v1/nodes` shows. */
export interface StoredAgentStatus {
  readonly node: string;
  readonly agentId: string;
  readonly bootId: string;
  readonly lastBatchMs: number;
  /** JSON of the capture health and interfaces (shape owned by the collector's ingest). */
  readonly statusJson: string;
}

/** Everything one ingested batch (or one replay) adds; written all-or-nothing as far as the backend allows. */
export interface IngestWrite {
  /** Absent for writes not tied to an agent batch (a replay). */
  readonly batch?: BatchKey & { readonly node: string; readonly receivedAtMs: number };
  readonly flows: readonly StoredFlow[];
  readonly drops: readonly StoredDrop[];
  readonly packets: readonly StoredPacket[];
  readonly agentStatus?: StoredAgentStatus;
}

export interface DropFilter {
  /** lastSeen >= sinceMs */
  readonly sinceMs?: number;
  /** lastSeen <= untilMs */
  readonly untilMs?: number;
  readonly node?: string;
  /** Canonical IP strings. */
  readonly src?: string;
  readonly dst?: string;
  /** 1..10000 */
  readonly limit: number;
}

export interface FlowFilter {
  /** lastSeen >= sinceMs */
  readonly sinceMs?: number;
  /** firstSeen <= untilMs */
  readonly untilMs?: number;
  readonly node?: string;
  readonly src?: string;
  readonly dst?: string;
  /** Either port of the flow. */
  readonly port?: number;
  readonly proto?: number;
  readonly limit: number;
}

export interface StorageInfo {
  readonly backend: 'embedded' | 'clickhouse';
  /** `SELECT version()` */
  readonly serverVersion: string;
  /** 'current' or 'legacy' (ClickHouse before DateTime64/IPv6 types/TTL/query parameters, e.g. 18.16). */
  readonly profile: 'current' | 'legacy';
  /** Where: the directory, or the server URL without its password. */
  readonly location: string;
  /** The query path's own ClickHouse user when it has one (`--read-store`), without its password. */
  readonly readLocation?: string;
}

/** Thrown for a storage that cannot be reached or failed; the collector answers 503 and retries later. */
export class StorageUnavailableError extends Error {
  override name = 'StorageUnavailableError';
}

export interface Storage {
  readonly info: StorageInfo;
  /** True when this batch key was stored before (also across restarts). */
  hasBatch(key: BatchKey): Promise<boolean>;
  /** Resolves once the rows are durably stored; the caller acknowledges the batch only then. */
  write(rows: IngestWrite): Promise<void>;
  /** Newest first (by lastSeen, then id); the latest version of each id. */
  queryDrops(filter: DropFilter): Promise<StoredDrop[]>;
  getDrop(id: string): Promise<StoredDrop | undefined>;
  /**
   * The latest version of each of `ids` that is stored, by id; ids never stored are absent. Any number
   * of ids (repeats allowed) costs a few reads, not one per id: the ingest asks for a whole batch's.
   */
  getDrops(ids: readonly string[]): Promise<Map<string, StoredDrop>>;
  /** The stored first bytes of a drop event's packets, oldest first, at most `limit`. */
  packetsOf(dropId: string, limit: number): Promise<StoredPacket[]>;
  /** Newest first (by lastSeen). */
  queryFlows(filter: FlowFilter): Promise<StoredFlow[]>;
  /** The latest status row of every agent. */
  agents(): Promise<StoredAgentStatus[]>;
  /**
   * Deletes data stored longer ago than the retention: whole UTC days by the time each row was written
   * (so a replay of an old capture is kept like live data). Both profiles drop day partitions here; on
   * the current profile a TTL also expires rows in the background.
   */
  enforceRetention(nowMs: number): Promise<void>;
  close(): Promise<void>;
}
