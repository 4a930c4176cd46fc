/**
 * The drop event: a group of packets that vanished at one node, with the verdict on why, how sure we
 * are, the evidence and the remedy. Its JSON shape is the outside contract (CONTRACT.md).
 */
import { createHash } from 'node:crypto';

export type Confidence = 'confirmed' | 'likely' | 'possible';

/** `reverse-path`, `netfilter`, `no-route`, `vanished`, or another kernel drop reason in kebab case. */
export type Verdict = string;

export interface Evidence {
  /** e.g. `ebpf-drop-reason`, `rp-filter`, `netstat-counter`, `route-back`, `asymmetric-path`, `missing-hop`. */
  readonly kind: string;
  readonly detail: string;
}

export interface DropGroupKey {
  readonly node: string;
  readonly iface: string;
  readonly src: string;
  readonly dst: string;
  readonly proto: string;
  readonly sport: number | null;
  readonly dport: number | null;
}

/** The kernel's drop reason, and how many of the group's packets had their own drop event matched by fingerprint (>= 1). */
export interface KernelDropSummary {
  readonly reason: string;
  readonly packets: number;
}

export interface DropEvent extends DropGroupKey {
  readonly id: string;
  readonly packets: number;
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly verdict: Verdict;
  readonly confidence: Confidence;
  readonly evidence: Evidence[];
  readonly remedy: string;
  /** null when no kernel drop event matched these packets. */
  readonly kernel: KernelDropSummary | null;
}

/** Stable id of a drop group: the same for the same group in every query, run and restart. */
export function dropEventId(k: DropGroupKey): string {
  const text = [k.node, k.iface, k.src, k.dst, k.proto, k.sport ?? '', k.dport ?? ''].join('|');
  return createHash('sha256').update(text).digest('hex').slice(0, 20);
}
