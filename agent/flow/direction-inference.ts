/**
 * Direction of a sighting when the capture did not record it (plain pcap per interface).
 *
 * In order of trust: the interface's learned own MAC (frames from it leave, frames to it arrive);
 * the node's addresses (from a local address leaves, to one arrives) and where addresses live
 * (toward the interface its destination lives behind is leaving); and, inside one packet's group of
 * sightings, the order of hops (first in, last out; an encapsulated arrival is followed by its
 * decapsulated arrival on the tunnel, a tunnel departure by its encapsulated departure).
 */
import { Direction, DirectionSource } from '../capture/capture-record.js';
import type { InterfaceRegistry } from './interface-registry.js';
import type { NodeKnowledge } from './node-knowledge.js';
import type { SightingStore } from './sighting-store.js';

/** Direction sources beyond the capture's own. */
export const SOURCE_LEARNED_MAC = DirectionSource.LearnedMac;
export const SOURCE_ADDRESSES = DirectionSource.Addresses;
export const SOURCE_HOP_ORDER = DirectionSource.HopOrder;

/** Resolves s from MACs and addresses; returns the direction (or Direction.Unknown) and sets its source. */
export function inferFromKnowledge(
  store: SightingStore,
  s: number,
  knowledge: NodeKnowledge,
  srcKey: number,
  dstKey: number,
): Direction {
  const iface = store.iface(s);
  const own = knowledge.ownMac(iface);
  if (own >= 0) {
    if (store.macSrc(s) === own) return set(store, s, Direction.Out, SOURCE_LEARNED_MAC);
    if (store.macDst(s) === own) return set(store, s, Direction.In, SOURCE_LEARNED_MAC);
  }
  if (store.encapDepth(s) !== 0) return Direction.Unknown; // inner addresses say nothing about this hop
  if (knowledge.isLocal(srcKey)) return set(store, s, Direction.Out, SOURCE_ADDRESSES);
  if (knowledge.isLocal(dstKey)) return set(store, s, Direction.In, SOURCE_ADDRESSES);
  const dstAt = knowledge.locationOf(dstKey);
  const srcAt = knowledge.locationOf(srcKey);
  if (dstAt >= 0 && dstAt !== iface) return set(store, s, Direction.In, SOURCE_ADDRESSES);
  if (srcAt >= 0 && srcAt !== iface) return set(store, s, Direction.Out, SOURCE_ADDRESSES);
  if (dstAt === iface && srcAt !== iface) return set(store, s, Direction.Out, SOURCE_ADDRESSES);
  if (srcAt === iface && dstAt !== iface) return set(store, s, Direction.In, SOURCE_ADDRESSES);
  return Direction.Unknown;
}

function isTunnelPlain(store: SightingStore, registry: InterfaceRegistry, s: number): boolean {
  return store.encapDepth(s) === 0 && registry.interfaces[store.iface(s)]?.role === 'tunnel';
}

function isEncap(store: SightingStore, s: number): boolean {
  return store.encapDepth(s) !== 0;
}

function set(store: SightingStore, s: number, dir: Direction, source: number): Direction {
  store.setDirection(s, dir, source);
  return dir;
}

/**
 * Fills unknown directions of a time-ordered group from hop order. `order` holds n sighting ids.
 * Learns own MACs from the result (an arrival's destination MAC and a departure's source MAC).
 */
export function inferFromHopOrder(
  store: SightingStore,
  order: Int32Array,
  n: number,
  registry: InterfaceRegistry,
  knowledge: NodeKnowledge,
): void {
  let distinct = false;
  const first = order[0] as number;
  for (let i = 1; i < n; i++) if (store.iface(order[i] as number) !== store.iface(first)) distinct = true;
  if (!distinct) return;
  for (let i = 0; i + 1 < n; i++) {
    const a = order[i] as number;
    const b = order[i + 1] as number;
    if (isEncap(store, a) && isTunnelPlain(store, registry, b)) {
      if (store.dir(a) === Direction.Unknown) set(store, a, Direction.In, SOURCE_HOP_ORDER);
      if (store.dir(b) === Direction.Unknown) set(store, b, Direction.In, SOURCE_HOP_ORDER);
    } else if (isTunnelPlain(store, registry, a) && isEncap(store, b)) {
      if (store.dir(a) === Direction.Unknown) set(store, a, Direction.Out, SOURCE_HOP_ORDER);
      if (store.dir(b) === Direction.Unknown) set(store, b, Direction.Out, SOURCE_HOP_ORDER);
    }
  }
  if (store.dir(first) === Direction.Unknown) set(store, first, Direction.In, SOURCE_HOP_ORDER);
  const last = order[n - 1] as number;
  if (store.dir(last) === Direction.Unknown) set(store, last, Direction.Out, SOURCE_HOP_ORDER);
  for (let i = 0; i < n; i++) {
    const s = order[i] as number;
    if (store.dirSource(s) !== SOURCE_HOP_ORDER) continue;
    const iface = store.iface(s);
    if (store.dir(s) === Direction.In) knowledge.voteOwnMac(iface, store.macDst(s));
    else if (store.dir(s) === Direction.Out) knowledge.voteOwnMac(iface, store.macSrc(s));
  }
}
