/**
 * One node's findings indexed for judging: the knowledge facts as maps, the captured interfaces as
 * a set, the capture's loss spans. Built once per NodeFindings; every question is a lookup.
 */
import type { CaptureLossSpan, NodeFindings } from '../findings/node-findings.js';

/** Capture loss this close to a group's packets makes its gap our own. */
export const CAPTURE_LOSS_MARGIN_MS = 1000;

export class NodeFacts {
  readonly node: string;
  readonly coversAllInterfaces: boolean;
  private readonly own: ReadonlySet<string>;
  private readonly location: ReadonlyMap<string, string>;
  private readonly exits: ReadonlyMap<string, readonly string[]>;
  private readonly macs: ReadonlyMap<string, string>;
  private readonly loss: readonly CaptureLossSpan[];

  constructor(findings: Pick<NodeFindings, 'node' | 'coversAllInterfaces' | 'knowledge' | 'captureLoss'>) {
    const k = findings.knowledge;
    this.node = findings.node;
    this.coversAllInterfaces = findings.coversAllInterfaces;
    this.own = new Set(k.ownAddresses);
    this.location = new Map(k.locations.map((l) => [l.address, l.iface]));
    this.exits = new Map(k.exits.map((e) => [pairKey(e.src, e.dst), e.ifaces]));
    this.macs = new Map(k.ownMacs.map((m) => [m.iface, m.mac]));
    this.loss = findings.captureLoss;
  }

  isLocal(address: string): boolean {
    return this.own.has(address);
  }

  /** The interface `address` lives behind (its packets come in by it), or null. */
  locationOf(address: string): string | null {
    return this.location.get(address) ?? null;
  }

  /** Interfaces by which traffic from `src` to `dst` left the node. */
  exitsFor(src: string, dst: string): readonly string[] {
    return this.exits.get(pairKey(src, dst)) ?? [];
  }

  /** The interface's own MAC as learned, or null. */
  ownMac(iface: string): string | null {
    return this.macs.get(iface) ?? null;
  }

  /** Whether the node's capture lost packets between `from` and `until` (ms), give or take the margin. */
  lostCaptureDuring(from: number, until: number): boolean {
    return this.loss.some((s) => s.packets > 0 && s.from <= until + CAPTURE_LOSS_MARGIN_MS && s.until >= from - CAPTURE_LOSS_MARGIN_MS);
  }
}

function pairKey(src: string, dst: string): string {
  return `${src} ${dst}`;
}
