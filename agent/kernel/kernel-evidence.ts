/**
 * The node's kernel on a group of vanished packets, beside the drop events the engine matched to its
 * packets by fingerprint (those come with the candidate, native/engine/kernel_drops.h): the
 * reverse-path filter in effect on their arrival interface, how much TcpExtIPReversePathFilter grew
 * while they vanished, the interface the route back to their source leaves by, and whether the
 * kernel would route them at all (`ip route get ... iif`). Route answers are asked once per
 * (source, destination, interface) and cached; everything else is read from memory.
 */
import type { VanishCandidate } from '../../core/findings/node-findings.js';
import type { KernelEvidence } from '../../core/findings/kernel-evidence.js';

export type { KernelEvidence };
import { readNetstat } from './netstat-counters.js';
import { readRpFilter } from './rp-filter.js';
import { checkIngressRoute, matchRoute, routeInterface } from './route-check.js';
import { NetfilterCounters } from './netfilter-counters.js';
import { readForwarding } from './rp-filter.js';
import type { RouteEvidence } from '../../core/findings/kernel-evidence.js';

/** The counter's growth is read over the group's time and this margin around it. */
const MATCH_MARGIN_MS = 1000;
const MAX_SAMPLES = 4096;
/** Route answers are asked again after this long: routes change (a fix, a pod moving). */
const ROUTE_TTL_MS = 10_000;
const MAX_ROUTES = 4096;
/** Netfilter's counters are sampled this often (and when a group is prepared). */
const NETFILTER_SAMPLE_MS = 5000;

export class KernelEvidenceCollector {
  private readonly samples: { ts: number; rpf: number }[] = [];
  private readonly routes = new Map<string, { back: string | undefined; check: string | null; match: RouteEvidence | undefined; at: number }>();
  private readonly netfilter: NetfilterCounters;
  private lastNetfilterSample = -Infinity;
  /** Whether the eBPF monitor runs (drop reasons are then authoritative). */
  monitoring = false;

  constructor(netfilter = new NetfilterCounters()) {
    this.netfilter = netfilter;
  }

  /** Samples the netstat counters; call periodically (every tick). */
  sampleCounters(now = Date.now()): void {
    const value = readNetstat().get('TcpExtIPReversePathFilter');
    if (value === undefined) return;
    if (this.samples.length >= MAX_SAMPLES) this.samples.splice(0, MAX_SAMPLES / 2);
    this.samples.push({ ts: now, rpf: value });
    if (now - this.lastNetfilterSample >= NETFILTER_SAMPLE_MS) {
      this.lastNetfilterSample = now;
      // Never rejects (a reader that cannot run marks the counters unavailable); caught all the same.
      this.netfilter.sample(now).catch(() => {});
    }
  }

  /**
   * Asks the kernel about the group's routes (once per source, destination and interface, again
   * after ROUTE_TTL_MS) and makes sure netfilter's counters were read after its packets.
   */
  async prepare(group: Pick<VanishCandidate, 'identity' | 'iface'>, now = Date.now()): Promise<void> {
    const id = group.identity;
    const key = `${id.src}|${id.dst}|${group.iface}`;
    // iptables-save reads IPv4 tables only: an IPv6 group has nothing to learn from it.
    if (id.ipVersion !== 4) return;
    await this.netfilter.fresh(now);
    const known = this.routes.get(key);
    if (known && now - known.at < ROUTE_TTL_MS) return;
    const [back, check, match] = await Promise.all([routeInterface(id.src), checkIngressRoute(id.dst, id.src, group.iface), matchRoute(id.dst)]);
    if (this.routes.size >= MAX_ROUTES) this.routes.clear();
    this.routes.set(key, { back, check, match, at: now });
  }

  /** The configuration and counters around the group (its matched drop reasons come with it). */
  evidenceFor(group: Pick<VanishCandidate, 'identity' | 'iface' | 'firstSeen' | 'lastSeen'>): KernelEvidence {
    const id = group.identity;
    const from = group.firstSeen - MATCH_MARGIN_MS;
    const to = group.lastSeen + MATCH_MARGIN_MS;
    const rp = id.ipVersion === 4 ? readRpFilter(group.iface) : undefined;
    const route = this.routes.get(`${id.src}|${id.dst}|${group.iface}`);
    const delta = this.counterDelta(from, to);
    const forwarding = id.ipVersion === 4 ? readForwarding(group.iface) : undefined;
    // iptables-save reads IPv4's tables: their growth says nothing about an IPv6 group.
    const rules = id.ipVersion === 4 ? this.netfilter.growthSince(from) : undefined;
    return {
      ...(rp ? { rpFilter: rp } : {}),
      ...(forwarding ? { forwarding } : {}),
      ...(route?.match ? { route: route.match } : {}),
      ...(rules && rules.length > 0 ? { netfilterRules: rules } : {}),
      ...(delta !== undefined ? { rpFilterCounterDelta: delta } : {}),
      ...(route?.back ? { routeBackIface: route.back } : {}),
      ...(route?.check ? { routeCheckError: route.check } : {}),
    };
  }

  private counterDelta(from: number, to: number): number | undefined {
    let before: number | undefined;
    let after: number | undefined;
    for (const s of this.samples) {
      if (s.ts <= from) before = s.rpf;
      if (s.ts >= from && s.ts <= to + 1000) after = s.rpf;
    }
    if (after === undefined) return undefined;
    before ??= this.samples[0]?.rpf;
    return before === undefined ? undefined : Math.max(0, after - before);
  }
}
