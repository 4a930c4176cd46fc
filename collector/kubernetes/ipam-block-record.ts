/**
 * Calico IPAM blocks (crd.projectcalico.org/v1, kind IPAMBlock): Calico hands out pod addresses from
 * blocks (a /26 per node by default), each affine to the node that claimed it, and advertises the
 * block's route to that node. Which node owns the block containing an address is what routers and
 * gateways learn, so a block owned by another node than the pod's explains a misrouted packet.
 */
import { asObject, asString, metadataOf } from './json-fields.js';
import { parsePrefix, type Prefix } from './ip-prefix.js';

export interface BlockOwner {
  /** The block, canonical (`10.91.1.128/26`). */
  readonly cidr: string;
  /** The node of a `host:<node>` affinity; null for a block without one (released, or a virtual affinity). */
  readonly node: string | null;
}

export interface IpamBlockRecord {
  readonly key: string;
  readonly prefix: Prefix;
  readonly owner: BlockOwner;
}

const HOST_AFFINITY = 'host:';

/** A block object reduced to its CIDR and owner; null when it has no valid spec.cidr or is being deleted. */
export function decodeIpamBlock(raw: unknown): IpamBlockRecord | null {
  const name = asString(metadataOf(raw)?.['name']);
  const spec = asObject(asObject(raw)?.['spec']);
  const cidrText = asString(spec?.['cidr']);
  if (name === null || cidrText === null) return null;
  // Calico marks a block it is about to delete with spec.deleted (a workaround for the API's delete
  // semantics); it no longer routes for anyone.
  if (spec?.['deleted'] === true) return null;
  const prefix = parsePrefix(cidrText);
  if (prefix === null) return null;
  const affinity = asString(spec?.['affinity']);
  const node = affinity !== null && affinity.startsWith(HOST_AFFINITY) && affinity.length > HOST_AFFINITY.length ? affinity.slice(HOST_AFFINITY.length) : null;
  return { key: name, prefix, owner: Object.freeze({ cidr: prefix.text, node }) };
}
