// @ts-check
/**
 * The JSON the collector's API answers with, as the UI reads it (the sources of truth are
 * collector/explain/drop-event.ts and collector/store/storage.ts).
 *
 * @typedef {{ kind: string, detail: string }} Evidence
 *
 * @typedef {{ reason: string, packets: number }} KernelDropSummary
 *
 * @typedef {{
 *   id: string, node: string, iface: string, src: string, dst: string, proto: string,
 *   sport: number | null, dport: number | null, packets: number, firstSeen: string, lastSeen: string,
 *   verdict: string, confidence: string, evidence: Evidence[], remedy: string,
 *   kernel: KernelDropSummary | null
 * }} DropEvent
 *
 * @typedef {{
 *   node: string, iface: string, role: string, direction: string, tsMs: number, encap: string,
 *   outerSrc: string, outerDst: string, vni: number, ttl: number, length: number
 * }} Hop
 *
 * @typedef {{ drop: DropEvent, path: Hop[], source: string }} DropAnswer
 *
 * @typedef {{
 *   node: string, iface: string, direction: string, src: string, dst: string, proto: number,
 *   sport: number, dport: number, encap: string, outerSrc: string, outerDst: string, vni: number,
 *   packets: number, bytes: number, firstSeenMs: number, lastSeenMs: number, source: string
 * }} Flow
 *
 * @typedef {{
 *   received: number, dropped_by_kernel: number, dropped_by_interface: number, ebpf_monitor: boolean,
 *   ebpf_unavailable_reason: string, truncated_unjudged: number, ebpf_events_lost?: number
 * }} Capture
 *
 * @typedef {{ reason: string, iface: string, drops: number, matched: number }} KernelDropTally
 *
 * @typedef {{
 *   node: string, agentId: string, bootId: string, lastBatch: string, capture: Capture | null,
 *   loss: { batches_dropped: number, bytes_dropped: number } | null,
 *   interfaces: { name: string, role: string, packets: number, bytes: number }[] | null,
 *   addresses: string[] | null, agentVersion: string | null,
 *   kernelDrops?: KernelDropTally[] | null
 * }} NodeStatus
 *
 * @typedef {{ backend: string, serverVersion: string, profile: string, location: string, up: boolean }} StorageStatus
 *
 * @typedef {{ storage: StorageStatus, nodes: NodeStatus[] }} NodesAnswer
 */
export {};
