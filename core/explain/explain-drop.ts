/**
 * The one producer of drop events: from a judged candidate (packets that vanished at one node), or a
 * transit loss (packets that left one node and never reached the next), to the verdict, how sure we
 * are, the evidence and the remedy. The same rules serve the live collector (with kernel evidence
 * from the agent), watch, and replay (traffic only):
 *   confirmed  a kernel drop event (eBPF skb:kfree_skb reason) matched these packets;
 *   likely     strict rp_filter in effect on the arrival interface, the route back to the source
 *              leaves by another interface, and IPReversePathFilter grew in the window;
 *   possible   only the traffic: replies from the destination to the source were seen leaving by
 *              another interface (an asymmetric path), or nothing at all (verdict `vanished`).
 */
import type { TransitLoss } from '../correlate/tunnel-stitcher.js';
import type { Hop } from '../findings/hop.js';
import type { VanishCandidate } from '../findings/node-findings.js';
import type { JudgedCandidate } from '../judge/judge-findings.js';
import { ipProtoName } from '../net/address.js';
import { dropEventId, type Confidence, type DropEvent, type Evidence, type Verdict } from './drop-event.js';
import { netfilterRemedy, noRouteRemedy, reversePathRemedy, transitLossRemedy, vanishedRemedy } from './remedy.js';

export interface ExplainedDrop {
  readonly event: DropEvent;
  /** The first packet's whole path (other nodes, then this one), for drawing. */
  readonly path: readonly Hop[];
}

const REASON_VERDICTS: Readonly<Record<string, Verdict>> = {
  IP_RPFILTER: 'reverse-path',
  NETFILTER_DROP: 'netfilter',
  IP_INNOROUTES: 'no-route',
  IP_OUTNOROUTES: 'no-route',
};

export function verdictForKernelReason(reason: string): Verdict {
  return REASON_VERDICTS[reason] ?? reason.toLowerCase().replace(/_/g, '-');
}

/** A judged candidate to its drop event; `upstreamPath`: its packet's hops on earlier nodes. */
export function explainVanished(input: JudgedCandidate, upstreamPath: readonly Hop[] = input.candidate.upstreamPath): ExplainedDrop {
  const g = input.candidate;
  const node = input.node;
  const id = g.identity;
  const proto = ipProtoName(id.proto);
  const evidence: Evidence[] = [];
  const kernel = g.kernel;
  const asymmetricExits = input.reverseExits.filter((x) => x !== g.iface);

  evidence.push({ kind: 'missing-hop', detail: missingHopDetail(g, node, input.expectedExit) });

  let verdict: Verdict = 'vanished';
  let confidence: Confidence = 'possible';
  const reasons = Object.entries(kernel?.dropReasons ?? {}).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  const top = reasons[0];
  if (top) {
    verdict = verdictForKernelReason(top[0]);
    confidence = 'confirmed';
    for (const [reason, n] of reasons) evidence.push({ kind: 'ebpf-drop-reason', detail: `${reason} x${n} on ${g.iface}` });
  }
  if (kernel?.rpFilter) {
    const r = kernel.rpFilter;
    evidence.push({ kind: 'rp-filter', detail: `effective rp_filter on ${g.iface} is ${r.effective} (all=${r.all}, ${g.iface}=${r.iface})${r.effective === 1 ? ': strict' : r.effective === 2 ? ': loose' : ': off'}` });
  }
  if (kernel?.routeBackIface) evidence.push({ kind: 'route-back', detail: `the route back to ${id.src} leaves by ${kernel.routeBackIface}` });
  if (kernel?.routeCheckError) evidence.push({ kind: 'route-check', detail: `ip route get ${id.dst} from ${id.src} iif ${g.iface}: ${kernel.routeCheckError}` });
  if (kernel?.rpFilterCounterDelta !== undefined) evidence.push({ kind: 'netstat-counter', detail: `TcpExtIPReversePathFilter +${kernel.rpFilterCounterDelta}` });
  if (asymmetricExits.length > 0) {
    evidence.push({ kind: 'asymmetric-path', detail: `traffic from ${id.dst} to ${id.src} leaves ${node} by ${asymmetricExits.join(', ')}, not by ${g.iface} where these packets arrive` });
  }

  if (!top && id.ipVersion === 4) {
    const strict = kernel?.rpFilter?.effective === 1;
    const routeBackElsewhere = kernel?.routeBackIface !== undefined && kernel.routeBackIface !== g.iface;
    if (strict && routeBackElsewhere && (kernel?.rpFilterCounterDelta ?? 0) > 0) {
      verdict = 'reverse-path';
      confidence = 'likely';
    } else if (asymmetricExits.length > 0 || routeBackElsewhere) {
      verdict = 'reverse-path';
      confidence = 'possible';
    }
  }

  const replyExit = kernel?.routeBackIface ?? asymmetricExits[0] ?? null;
  let remedy: string;
  if (verdict === 'reverse-path') {
    remedy = reversePathRemedy({ iface: g.iface, src: id.src, dst: id.dst, node, replyExit, allValue: kernel?.rpFilter?.all ?? null });
  } else if (verdict === 'netfilter') remedy = netfilterRemedy(id.dst);
  else if (verdict === 'no-route') remedy = noRouteRemedy(id.src, id.dst, g.iface);
  else remedy = vanishedRemedy(id.src, id.dst, g.iface);

  const key = { node, iface: g.iface, src: id.src, dst: id.dst, proto, sport: id.sport, dport: id.dport };
  const event: DropEvent = {
    id: dropEventId(key),
    ...key,
    packets: g.packets,
    firstSeen: new Date(g.firstSeen).toISOString(),
    lastSeen: new Date(g.lastSeen).toISOString(),
    verdict,
    confidence,
    evidence,
    remedy,
  };
  return { event, path: [...upstreamPath, ...g.path] };
}

/** A packet that left one node encapsulated toward another watched node and never arrived there. */
export function explainTransitLoss(loss: TransitLoss): ExplainedDrop {
  const d = loss.departure;
  const path = d.path;
  const last = path[path.length - 1];
  const node = last?.node ?? loss.fromNode;
  const iface = last?.iface ?? '';
  const id = d.identity;
  const key = { node, iface, src: id.src, dst: id.dst, proto: ipProtoName(id.proto), sport: id.sport, dport: id.dport };
  const when = new Date(d.ts).toISOString();
  const event: DropEvent = {
    id: dropEventId(key),
    ...key,
    packets: 1,
    firstSeen: when,
    lastSeen: when,
    verdict: 'vanished',
    confidence: 'possible',
    evidence: [{ kind: 'missing-hop', detail: `left ${node} by ${iface} encapsulated (${last?.encap ?? '?'}) toward ${loss.targetNode} (${d.outerDst}), never seen arriving there` }],
    remedy: transitLossRemedy(node, loss.targetNode, d.outerDst),
  };
  return { event, path };
}

function missingHopDetail(g: VanishCandidate, node: string, expectedExit: string | null): string {
  const arrival = [...g.path].reverse().find((h) => h.iface === g.iface && h.direction !== 'out') ?? g.path[g.path.length - 1];
  const via = arrival && arrival.encap !== 'none' ? ` (${arrival.encap} from ${arrival.outerSrc ?? '?'})` : '';
  const tunnelled = g.path.find((h) => h.encap !== 'none' && h.direction !== 'out');
  const decap = tunnelled && tunnelled.iface !== g.iface ? `, decapsulated from ${tunnelled.encap}${tunnelled.vni !== null ? ` VNI ${tunnelled.vni}` : ''} that arrived on ${tunnelled.iface} from ${tunnelled.outerSrc ?? '?'}` : '';
  const exit = expectedExit ? `; expected to leave by ${expectedExit}, where ${g.identity.dst} lives` : '';
  return `${g.packets} packet(s) seen in on ${g.iface}${via}${decap}, never seen leaving ${node}${exit}`;
}
