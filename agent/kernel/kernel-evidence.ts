/**
 * The node's kernel on a group of vanished packets, beside the drop events the engine matched to its
 * packets by fingerprint (those come with the candidate, native/engine/kernel_drops.h): the
 * reverse-path filter in effect on their arrival interface, how much TcpExtIPReversePathFilter grew
 * while they vanished, the interface the route back to their source leaves by, and whether the
 * kernel would route them at all (`ip route get ... iif`), the route the destination matches and
 * its next hop's neighbour entry, the way out's MTU against a vanished packet's size, and the
 * growth of conntrack's INVALID count and of Ip FragFails. Route and neighbour answers are asked
 * once per (source, destination, interface) and cached; everything else is read from memory.
 */
import type { VanishCandidate } from '../../core/findings/node-findings.js';
import type { KernelEvidence, MtuEvidence, NeighbourEvidence } from '../../core/findings/kernel-evidence.js';

export type { KernelEvidence };
import { readConntrackInvalid } from './conntrack-stats.js';
import { defaultRouteInterface, neighbourState, readCarrier, readMtu } from './neighbour-check.js';
import { readNetstat } from './netstat-counters.js';
import { ipv4SizeOf } from './packet-size.js';
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

/** Counters sampled every tick; undefined where the node does not have them (no conntrack loaded). */
interface CounterSample {
  readonly ts: number;
  readonly rpf: number | undefined;
  readonly invalid: number | undefined;
  readonly fragFails: number | undefined;
}

interface RouteAnswers {
  readonly back: string | undefined;
  readonly check: string | null;
  readonly match: RouteEvidence | undefined;
  readonly neighbour: NeighbourEvidence | undefined;
  /** The route's interface and its MTU, and the uplink's when it is another one. */
  readonly exit: { readonly iface: string; readonly mtu: number; readonly underlayIface: string | null; readonly underlayMtu: number | null } | undefined;
  readonly at: number;
}

export class KernelEvidenceCollector {
  private readonly samples: CounterSample[] = [];
  private readonly routes = new Map<string, RouteAnswers>();
  private readonly netfilter: NetfilterCounters;
  private lastNetfilterSample = -Infinity;
  /** Whether the eBPF monitor runs (drop reasons are then authoritative). */
  monitoring = false;

  constructor(netfilter = new NetfilterCounters()) {
    this.netfilter = netfilter;
  }

  /** Samples the counters; call periodically (every tick). */
  sampleCounters(now = Date.now()): void {
    const sample: CounterSample = {
      ts: now,
      rpf: readNetstat().get('TcpExtIPReversePathFilter'),
      invalid: readConntrackInvalid(),
      fragFails: readNetstat('/proc/net/snmp').get('IpFragFails'),
    };
    if (this.samples.length >= MAX_SAMPLES) this.samples.splice(0, MAX_SAMPLES / 2);
    this.samples.push(sample);
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
    const [back, check, match, uplink] = await Promise.all([routeInterface(id.src), checkIngressRoute(id.dst, id.src, group.iface), matchRoute(id.dst), defaultRouteInterface()]);
    const [neighbour, exit] = await this.wayOut(id.dst, match, uplink);
    if (this.routes.size >= MAX_ROUTES) this.routes.clear();
    this.routes.set(key, { back, check, match, neighbour, exit, at: now });
  }

  /** The next hop's neighbour entry and the exit's MTU, for a unicast route with an interface. */
  private async wayOut(dst: string, match: RouteEvidence | undefined, uplink: string | undefined): Promise<[RouteAnswers['neighbour'], RouteAnswers['exit']]> {
    const dev = match?.type === 'unicast' ? match.dev : null;
    if (!match || dev === null) return [undefined, undefined];
    const nextHop = match.via ?? dst;
    const state = await neighbourState(nextHop, dev);
    const neighbour = state === undefined ? undefined : { address: nextHop, dev, state, carrier: readCarrier(dev) };
    const mtu = readMtu(dev);
    const underlayMtu = uplink !== undefined && uplink !== dev ? readMtu(uplink) : null;
    const exit = mtu === null ? undefined : { iface: dev, mtu, underlayIface: underlayMtu === null ? null : (uplink as string), underlayMtu };
    return [neighbour, exit];
  }

  /** The configuration and counters around the group (its matched drop reasons come with it). */
  evidenceFor(group: Pick<VanishCandidate, 'identity' | 'iface' | 'firstSeen' | 'lastSeen' | 'sample'>): KernelEvidence {
    const id = group.identity;
    const from = group.firstSeen - MATCH_MARGIN_MS;
    const to = group.lastSeen + MATCH_MARGIN_MS;
    const rp = id.ipVersion === 4 ? readRpFilter(group.iface) : undefined;
    const route = this.routes.get(`${id.src}|${id.dst}|${group.iface}`);
    const delta = this.counterDelta('rpf', from, to);
    const invalid = this.counterDelta('invalid', from, to);
    const mtu = route?.exit ? this.mtuEvidence(route.exit, group, from, to) : undefined;
    const forwarding = id.ipVersion === 4 ? readForwarding(group.iface) : undefined;
    // iptables-save reads IPv4's tables: their growth says nothing about an IPv6 group.
    const rules = id.ipVersion === 4 ? this.netfilter.growthSince(from) : undefined;
    return {
      ...(rp ? { rpFilter: rp } : {}),
      ...(forwarding ? { forwarding } : {}),
      ...(route?.match ? { route: route.match } : {}),
      ...(rules && rules.length > 0 ? { netfilterRules: rules } : {}),
      ...(delta !== undefined ? { rpFilterCounterDelta: delta } : {}),
      ...(invalid !== undefined ? { conntrackInvalidDelta: invalid } : {}),
      ...(mtu ? { mtu } : {}),
      ...(route?.neighbour ? { neighbour: route.neighbour } : {}),
      ...(route?.back ? { routeBackIface: route.back } : {}),
      ...(route?.check ? { routeCheckError: route.check } : {}),
    };
  }

  private mtuEvidence(exit: NonNullable<RouteAnswers['exit']>, group: Pick<VanishCandidate, 'sample'>, from: number, to: number): MtuEvidence {
    const size = group.sample ? ipv4SizeOf(group.sample) : null;
    return {
      exitIface: exit.iface,
      exitMtu: exit.mtu,
      underlayIface: exit.underlayIface,
      underlayMtu: exit.underlayMtu,
      packetLength: size?.length ?? null,
      dontFragment: size?.dontFragment ?? null,
      fragFailsDelta: this.counterDelta('fragFails', from, to) ?? null,
    };
  }

  /** A counter's growth over [from, to] (and a second after), from the samples around it. */
  private counterDelta(counter: 'rpf' | 'invalid' | 'fragFails', from: number, to: number): number | undefined {
    let before: number | undefined;
    let after: number | undefined;
    let first: number | undefined;
    for (const s of this.samples) {
      const value = s[counter];
      if (value === undefined) continue;
      first ??= value;
      if (s.ts <= from) before = value;
      if (s.ts >= from && s.ts <= to + 1000) after = value;
    }
    if (after === undefined) return undefined;
    before ??= first;
    return before === undefined ? undefined : Math.max(0, after - before);
  }
}
