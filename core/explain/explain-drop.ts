/**
 * The one producer of drop events: from a judged candidate (packets that vanished at one node), or a
 * transit loss (packets that left one node and never reached the next), to the verdict, how sure we
 * are, the evidence and the remedy. The same rules serve the live collector (with kernel evidence
 * from the agent), watch, and replay (traffic only):
 *   confirmed  the kernel's own drop event (eBPF skb:kfree_skb) of at least one of these packets,
 *              matched by its fingerprint, with a reason a cause of the catalog claims, or one the
 *              node's configuration explains; a reason that says nothing (NOT_SPECIFIED) and no
 *              such cause give the verdict `vanished`, with where in the kernel it was freed;
 *   likely     the node's configuration and counters support a cause (forwarding off, a discarding
 *              route, a dropping netfilter rule that counted them, strict rp_filter with the way
 *              back elsewhere and IPReversePathFilter growing);
 *   possible   only the traffic: replies from the destination to the source were seen leaving by
 *              another interface (an asymmetric path), or nothing at all (verdict `vanished`).
 * The causes, their evidence and remedies are in causes/ (catalog.ts).
 */
import type { TransitLoss } from '../correlate/tunnel-stitcher.js';
import type { Hop } from '../findings/hop.js';
import { arrivalHop, type VanishCandidate } from '../findings/node-findings.js';
import type { JudgedCandidate } from '../judge/judge-findings.js';
import { ipProtoName } from '../net/address.js';
import { dropEventId, type Confidence, type DropEvent, type Evidence, type Verdict } from './drop-event.js';
import { isGenericKernelReason } from '../findings/kernel-evidence.js';
import { causeForKernelReason, CAUSES } from './causes/catalog.js';
import type { Cause, CauseInput } from './causes/cause.js';
import { transitLossRemedy, vanishedRemedy } from './remedy.js';

export interface ExplainedDrop {
  readonly event: DropEvent;
  /** The first packet's whole path (other nodes, then this one), for drawing. */
  readonly path: readonly Hop[];
}

export function verdictForKernelReason(reason: string): Verdict {
  if (isGenericKernelReason(reason)) return 'vanished';
  return causeForKernelReason(reason)?.verdict ?? reason.toLowerCase().replace(/_/g, '-');
}

interface DecidedCause {
  readonly verdict: Verdict;
  readonly confidence: Confidence;
  readonly evidence: readonly Evidence[];
  readonly remedy: string;
}

/**
 * The catalog's rule (causes/catalog.ts): the cause the kernel's reason confirms; else, when the
 * reason says nothing or no cause claims it but the node's configuration supports one, that cause,
 * still confirmed (the kernel did drop these packets); else the first cause the node supports
 * (likely), then the first the traffic suggests (possible). Undefined when none applies.
 */
function decideCause(input: CauseInput): DecidedCause | undefined {
  const reason = input.kernelReason;
  const explained = (cause: Cause, confidence: Confidence): DecidedCause => {
    const e = cause.explain(input);
    return { verdict: e.verdict ?? cause.verdict, confidence, evidence: e.evidence, remedy: e.remedy };
  };
  const claimed = reason !== null ? causeForKernelReason(reason, input) : undefined;
  if (claimed) return explained(claimed, 'confirmed');
  const byNode = CAUSES.find((c) => c.supportedByNode(input));
  if (reason !== null) return byNode ? explained(byNode, 'confirmed') : undefined;
  if (byNode) return explained(byNode, 'likely');
  const byTraffic = CAUSES.find((c) => c.supportedByTraffic(input));
  return byTraffic ? explained(byTraffic, 'possible') : undefined;
}

/** The evidence line of a kernel drop reason: `IP_RPFILTER x5 on tunl0 (5 of 5 packet(s) matched by fingerprint)`. */
export function kernelDropDetail(reason: string, matched: number, iface: string, packets: number, where?: string): string {
  return `${reason} x${matched} on ${iface} (${matched} of ${packets} packet(s) matched by fingerprint)${where ? `, freed in ${where}` : ''}`;
}

const KERNEL_DROP_DETAIL = /^(\S+) x\d+ on (\S+) \(\d+ of \d+ packet\(s\) matched by fingerprint\)(?:, freed in (.+))?$/;

/**
 * An event's evidence with its kernel reason's line counted again for the event's (merged) kernel
 * summary and packets: a group reported in parts says how many of all its packets the kernel
 * dropped, not how many of the last part's.
 */
export function recountKernelEvidence(event: Pick<DropEvent, 'evidence' | 'kernel' | 'packets'>): Evidence[] {
  const k = event.kernel;
  if (!k) return event.evidence;
  return event.evidence.map((e) => {
    const m = e.kind === 'ebpf-drop-reason' ? KERNEL_DROP_DETAIL.exec(e.detail) : null;
    return m && m[1] === k.reason ? { kind: e.kind, detail: kernelDropDetail(k.reason, k.packets, m[2] as string, event.packets, m[3]) } : e;
  });
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
  // The reason that says why wins over one that does not, then the one with more packets.
  const reasons = Object.entries(kernel?.dropReasons ?? {})
    .filter(([, n]) => n > 0)
    .sort((a, b) => Number(isGenericKernelReason(a[0])) - Number(isGenericKernelReason(b[0])) || b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const top = reasons[0];
  if (top) {
    confidence = 'confirmed';
    for (const [reason, n] of reasons) evidence.push({ kind: 'ebpf-drop-reason', detail: kernelDropDetail(reason, n, g.iface, g.packets, kernel?.dropLocations?.[reason]) });
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

  const decided = decideCause({ group: g, node, kernel, asymmetricExits, reverseExits: input.reverseExits, forwardExits: input.forwardExits, kernelReason: top?.[0] ?? null });
  if (decided) {
    verdict = decided.verdict;
    confidence = decided.confidence;
    evidence.push(...decided.evidence);
  } else if (top) {
    verdict = verdictForKernelReason(top[0]);
  }
  const remedy = decided?.remedy ?? vanishedRemedy(id.src, id.dst, g.iface);

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
    kernel: top ? { reason: top[0], packets: top[1] } : null,
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
    kernel: null,
  };
  return { event, path };
}

function missingHopDetail(g: VanishCandidate, node: string, expectedExit: string | null): string {
  const arrival = arrivalHop(g);
  const via = arrival && arrival.encap !== 'none' ? ` (${arrival.encap} from ${arrival.outerSrc ?? '?'})` : '';
  const tunnelled = g.path.find((h) => h.encap !== 'none' && h.direction !== 'out');
  const decap = tunnelled && tunnelled.iface !== g.iface ? `, decapsulated from ${tunnelled.encap}${tunnelled.vni !== null ? ` VNI ${tunnelled.vni}` : ''} that arrived on ${tunnelled.iface} from ${tunnelled.outerSrc ?? '?'}` : '';
  const exit = expectedExit ? `; expected to leave by ${expectedExit}, where ${g.identity.dst} lives` : '';
  return `${g.packets} packet(s) seen in on ${g.iface}${via}${decap}, never seen leaving ${node}${exit}`;
}
