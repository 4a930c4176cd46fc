/**
 * The kernel's drops on this node, counted per reason and device whether or not a capture saw the
 * packets (a packet that never reached a captured interface, or one sampled out, still shows up
 * here), and how many of them were matched by fingerprint to packets of a vanished group. Shipped in
 * the node's status and exposed as agent metrics.
 */
import type { WireKernelDropTally } from '../../schemas/wire-types.js';

/** Distinct (reason, interface) pairs kept; beyond, drops count under the reason with no interface. */
const MAX_PAIRS = 4096;

interface Tally {
  drops: number;
  matched: number;
}

export class KernelDropTallies {
  /** By reason number * 2^32 + ifindex, as the events carry them (named only when listed). */
  private readonly byCode = new Map<number, number>();
  /** Running totals the kernel counted itself (counted-only reasons), by the same key; replaced, not added. */
  private counted = new Map<number, number>();
  /** Matched packets by reason name and interface name, as the candidates carry them. */
  private readonly matchedByName = new Map<string, number>();
  /** Drops sent one by one so far (counted-only ones not included). */
  total = 0;

  /** One drop event (reason number, device index). */
  count(reason: number, ifindex: number): void {
    let key = reason * 2 ** 32 + ifindex;
    if (!this.byCode.has(key) && this.byCode.size >= MAX_PAIRS) key = reason * 2 ** 32;
    this.byCode.set(key, (this.byCode.get(key) ?? 0) + 1);
    this.total++;
  }

  /** The kernel's own running totals of counted-only drops (each call replaces the last). */
  setCounted(counts: readonly { reasonCode: number; ifindex: number; count: number }[]): void {
    this.counted = new Map(counts.map((c) => [c.reasonCode * 2 ** 32 + c.ifindex, c.count]));
  }

  /** Packets of a vanished group on `iface` whose own drop event had this reason. */
  matched(reason: string, iface: string, packets: number): void {
    const key = `${reason}\u0000${iface}`;
    if (!this.matchedByName.has(key) && this.matchedByName.size >= MAX_PAIRS) return;
    this.matchedByName.set(key, (this.matchedByName.get(key) ?? 0) + packets);
  }

  /** Every tally since the start, named; sorted by reason, then interface. */
  list(reasonName: (code: number) => string, ifname: (ifindex: number) => string | undefined): WireKernelDropTally[] {
    const byName = new Map<string, Tally>();
    const byCode = new Map(this.byCode);
    for (const [key, n] of this.counted) byCode.set(key, (byCode.get(key) ?? 0) + n);
    for (const [key, drops] of byCode) {
      const code = Math.floor(key / 2 ** 32);
      const ifindex = key % 2 ** 32;
      const name = `${reasonName(code)}\u0000${ifindex === 0 ? '' : (ifname(ifindex) ?? `if${ifindex}`)}`;
      const t = byName.get(name) ?? { drops: 0, matched: 0 };
      t.drops += drops;
      byName.set(name, t);
    }
    for (const [name, matched] of this.matchedByName) {
      const t = byName.get(name) ?? { drops: 0, matched: 0 };
      t.matched += matched;
      byName.set(name, t);
    }
    return [...byName]
      .map(([name, t]) => {
        const [reason, iface] = name.split('\u0000') as [string, string];
        return { reason, iface, drops: t.drops, matched: t.matched };
      })
      .sort((a, b) => (a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : a.iface < b.iface ? -1 : a.iface > b.iface ? 1 : 0));
  }
}
