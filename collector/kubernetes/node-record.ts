/**
 * What the collector keeps of a node: its name and its InternalIP addresses. The InternalIP is the
 * address other nodes (and tunnels, and BGP peers) reach it on, so it is the one a packet's outer
 * header carries; ExternalIP and Hostname entries say nothing about the packet path and are dropped.
 */
import { asArray, asObject, asString, metadataOf } from './json-fields.js';
import { normalizeIp } from './ip-prefix.js';

export interface NodeIdentity {
  readonly name: string;
  /** The first InternalIP in status.addresses (dual-stack nodes list one per family), or null. */
  readonly internalIp: string | null;
}

export interface NodeRecord {
  readonly key: string;
  readonly identity: NodeIdentity;
  /** Every InternalIP, canonical: a dual-stack node is found by either. */
  readonly internalIps: readonly string[];
}

export function decodeNode(raw: unknown): NodeRecord | null {
  const name = asString(metadataOf(raw)?.['name']);
  if (name === null) return null;
  const internalIps: string[] = [];
  for (const entry of asArray(asObject(asObject(raw)?.['status'])?.['addresses'])) {
    const address = asObject(entry);
    if (address?.['type'] !== 'InternalIP') continue;
    const text = asString(address['address']);
    const ip = text === null ? null : normalizeIp(text);
    if (ip !== null && !internalIps.includes(ip)) internalIps.push(ip);
  }
  return { key: name, identity: Object.freeze({ name, internalIp: internalIps[0] ?? null }), internalIps };
}
