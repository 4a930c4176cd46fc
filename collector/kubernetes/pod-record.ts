/**
 * What the collector keeps of a pod: who it is (namespace, name, owning workload, node, labels) and
 * the addresses it answers on. Everything else in the object (spec, containers, managedFields) is
 * dropped at decode time, so the cache costs a few hundred bytes per pod, not the tens of kilobytes
 * a full V1Pod takes.
 */
import { asArray, asObject, asString, asStringMap, metadataOf } from './json-fields.js';
import { normalizeIp } from './ip-prefix.js';

export interface PodIdentity {
  readonly namespace: string;
  readonly name: string;
  /** `Kind/name` of the controller that owns the pod ("Deployment/web", "StatefulSet/db"), or null for a bare pod. */
  readonly workload: string | null;
  /** spec.nodeName: null until the pod is scheduled. */
  readonly node: string | null;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * Where a pod is in its life, for choosing between pods that claim the same address:
 * - active: scheduled or running; it owns its address.
 * - terminating: deletionTimestamp set; it may still hold its address while its containers stop.
 * - finished: Succeeded or Failed; the kubelet released its address (status.podIP stays set), which
 *   another pod may already have.
 */
export type PodLifecycle = 'active' | 'terminating' | 'finished';

export interface PodRecord {
  /** namespace/name: the key the API itself uses (watch events of one pod share it). */
  readonly key: string;
  /** metadata.uid: tells a pod from a later one of the same name (a StatefulSet's pods are recreated so). */
  readonly uid: string | null;
  readonly identity: PodIdentity;
  /** Canonical addresses (status.podIPs, both families); empty for hostNetwork pods and unassigned ones. */
  readonly ips: readonly string[];
  readonly lifecycle: PodLifecycle;
}

const POD_TEMPLATE_HASH = 'pod-template-hash';

// The CronJob controller names each Job `<cronjob>-<scheduled time in minutes since the epoch>`
// (kubernetes pkg/controller/cronjob: getJobName). Accepting only 8-digit numbers between 2015 and
// 2100 keeps hand-named Jobs such as `migrate-20240101` (a date, below the range) out.
const CRONJOB_JOB_NAME = /^(.+)-(\d{8})$/;
const CRONJOB_MINUTES_MIN = 23_667_840; // 2015-01-01T00:00Z
const CRONJOB_MINUTES_MAX = 68_374_080; // 2100-01-01T00:00Z

/**
 * The workload owning a pod, from its controller owner reference alone (no extra API reads):
 * - ReplicaSet created by a Deployment: the Deployment names it `<deployment>-<pod-template-hash>` and
 *   copies that hash to the pod's `pod-template-hash` label, so stripping `-<hash>` gives the Deployment.
 *   A ReplicaSet without the label (created by hand, or by another controller) stays a ReplicaSet.
 * - Job created by a CronJob: recognised by the CronJob controller's naming (above); otherwise a Job.
 * - StatefulSet, DaemonSet, and any other kind: as they are.
 */
export function workloadOf(ownerReferences: unknown, labels: Readonly<Record<string, string>>): string | null {
  const refs = asArray(ownerReferences).map(asObject).filter((r): r is NonNullable<typeof r> => r !== null);
  // Only one owner can be the controller; without one, the first owner is the best guess.
  const ref = refs.find((r) => r['controller'] === true) ?? refs[0];
  if (ref === undefined) return null;
  const kind = asString(ref['kind']);
  const name = asString(ref['name']);
  if (kind === null || name === null) return null;
  if (kind === 'ReplicaSet') {
    const hash = labels[POD_TEMPLATE_HASH];
    if (hash !== undefined && hash !== '' && name.length > hash.length + 1 && name.endsWith(`-${hash}`)) {
      return `Deployment/${name.slice(0, -(hash.length + 1))}`;
    }
    return `ReplicaSet/${name}`;
  }
  if (kind === 'Job') {
    const m = CRONJOB_JOB_NAME.exec(name);
    const minutes = Number(m?.[2]);
    if (m?.[1] !== undefined && minutes >= CRONJOB_MINUTES_MIN && minutes <= CRONJOB_MINUTES_MAX) return `CronJob/${m[1]}`;
    return `Job/${name}`;
  }
  return `${kind}/${name}`;
}

function lifecycleOf(metadata: Readonly<Record<string, unknown>>, status: Readonly<Record<string, unknown>> | null): PodLifecycle {
  const phase = asString(status?.['phase']);
  if (phase === 'Succeeded' || phase === 'Failed') return 'finished';
  // A string in raw watch JSON, a Date in the client's list models: either way, present means terminating.
  const deletion = metadata['deletionTimestamp'];
  return deletion !== undefined && deletion !== null ? 'terminating' : 'active';
}

/** All of a pod's addresses: status.podIPs (dual stack lists both), falling back to status.podIP. */
function podIpsOf(status: Readonly<Record<string, unknown>> | null): string[] {
  const texts: string[] = [];
  for (const entry of asArray(status?.['podIPs'])) {
    const ip = asString(asObject(entry)?.['ip']);
    if (ip !== null) texts.push(ip);
  }
  const single = asString(status?.['podIP']);
  if (single !== null) texts.push(single);
  const ips: string[] = [];
  for (const text of texts) {
    const ip = normalizeIp(text);
    if (ip !== null && !ips.includes(ip)) ips.push(ip);
  }
  return ips;
}

/** A pod object (list model or watch JSON) reduced to a PodRecord; null when it has no namespace/name. */
export function decodePod(raw: unknown): PodRecord | null {
  const metadata = metadataOf(raw);
  const namespace = asString(metadata?.['namespace']);
  const name = asString(metadata?.['name']);
  if (metadata === null || namespace === null || name === null) return null;
  const pod = asObject(raw);
  const spec = asObject(pod?.['spec']);
  const status = asObject(pod?.['status']);
  const labels = asStringMap(metadata['labels']);
  const identity: PodIdentity = Object.freeze({
    namespace,
    name,
    workload: workloadOf(metadata['ownerReferences'], labels),
    node: asString(spec?.['nodeName']),
    labels: Object.freeze(labels),
  });
  // A hostNetwork pod answers on its node's address, as every other hostNetwork pod on that node does:
  // indexing them would make the node's address name whichever of them was seen last.
  const ips = spec?.['hostNetwork'] === true ? [] : podIpsOf(status);
  return { key: `${namespace}/${name}`, uid: asString(metadata['uid']), identity, ips, lifecycle: lifecycleOf(metadata, status) };
}
