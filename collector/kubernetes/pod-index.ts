/**
 * The pods the collector knows, by address: bounded, and remembering recently deleted pods.
 *
 * - Bounded: at most `maxPods` pods are held. Beyond that, new pods are refused (not evicting known
 *   ones, which would make answers flap) and counted, so status() can say the cache is incomplete.
 * - Deleted pods are remembered by address for `forgetDeletedAfterMs`: a drop is often seen just
 *   before (and because) its pod went away, and is resolved after the watch delivered the deletion.
 * - Several pods can claim one address at once: a finished Job pod keeps status.podIP after the
 *   kubelet released the address, and a terminating pod's object outlives its sandbox, so the address
 *   may already belong to a new pod. An address resolves, in this order, to an active pod, a
 *   terminating pod, a recently deleted pod, a finished pod; among equals, the most recently seen.
 */
import type { PodIdentity, PodLifecycle, PodRecord } from './pod-record.js';
import { normalizeIp } from './ip-prefix.js';

export interface PodIndexOptions {
  readonly maxPods: number;
  readonly forgetDeletedAfterMs: number;
  /** Milliseconds clock for the deleted-pod memory (injected by tests). */
  readonly now: () => number;
}

interface Entry {
  record: PodRecord;
  /** Order of the last update: the most recent of equal claims to an address wins. */
  seq: number;
}

interface Remembered {
  readonly identity: PodIdentity;
  readonly deletedAt: number;
}

const RANK: Readonly<Record<PodLifecycle, number>> = { active: 3, terminating: 2, finished: 0 };
/** A remembered deletion ranks between a terminating pod and a finished one. */
const DELETED_RANK = 1;

export type PodChange = 'ADDED' | 'MODIFIED';

export class PodIndex {
  private readonly entries = new Map<string, Entry>();
  private readonly byIp = new Map<string, Entry[]>();
  /** Insertion order is deletion order: expired memories are always at the front. */
  private readonly deleted = new Map<string, Remembered>();
  private seq = 0;
  private refusedCount = 0;

  constructor(private readonly options: PodIndexOptions) {}

  get size(): number {
    return this.entries.size;
  }

  /** Pods the cluster has that are not held because of the bound (exact after a list, tracked by watch events since). */
  get refused(): number {
    return this.refusedCount;
  }

  /** The state after a full list: pods not in it were deleted meanwhile and are remembered as such. */
  replaceAll(records: readonly PodRecord[]): void {
    const previous = new Map(this.entries);
    this.entries.clear();
    this.byIp.clear();
    let refused = 0;
    for (const record of records) {
      if (this.entries.has(record.key)) continue; // a list names each pod once; be safe anyway
      if (this.entries.size >= this.options.maxPods) {
        refused++;
        continue;
      }
      const old = previous.get(record.key);
      const sameObject = old !== undefined && (old.record.uid === record.uid || old.record.uid === null || record.uid === null);
      // Unchanged pods keep their place in the "most recently seen" order; replaced ones are new.
      const entry: Entry = { record, seq: sameObject ? old.seq : ++this.seq };
      if (sameObject) previous.delete(record.key);
      this.entries.set(record.key, entry);
      this.index(entry);
    }
    for (const gone of previous.values()) this.remember(gone.record);
    this.refusedCount = refused;
  }

  /** A watch ADDED or MODIFIED event. */
  upsert(record: PodRecord, change: PodChange): void {
    const entry = this.entries.get(record.key);
    if (entry !== undefined) {
      this.unindex(entry);
      if (entry.record.uid !== null && record.uid !== null && entry.record.uid !== record.uid) {
        // Same name, new pod (the deletion of the old one was missed): the old one is gone.
        this.remember(entry.record);
      }
      entry.record = record;
      entry.seq = ++this.seq;
      this.index(entry);
      return;
    }
    if (this.entries.size >= this.options.maxPods) {
      // A MODIFIED event for a pod that is not held is a pod refused earlier (counted then).
      if (change === 'ADDED') this.refusedCount++;
      return;
    }
    if (change === 'MODIFIED' && this.refusedCount > 0) this.refusedCount--; // a refused pod admitted now
    const added: Entry = { record, seq: ++this.seq };
    this.entries.set(record.key, added);
    this.index(added);
  }

  /** A watch DELETED event. */
  remove(record: PodRecord): void {
    const entry = this.entries.get(record.key);
    if (entry === undefined) {
      if (this.refusedCount > 0) this.refusedCount--; // a refused pod went away
      return;
    }
    if (entry.record.uid !== null && record.uid !== null && entry.record.uid !== record.uid) return; // an older pod of that name
    this.unindex(entry);
    this.entries.delete(record.key);
    // The cached state has the addresses; the final object may have lost them. Keep whichever has some.
    this.remember(entry.record.ips.length > 0 ? entry.record : record);
  }

  lookup(ip: string): PodIdentity | null {
    this.forgetExpired();
    let key = ip;
    let claims = this.byIp.get(key);
    let remembered = this.deleted.get(key);
    if (claims === undefined && remembered === undefined) {
      // Not found as given: try the canonical spelling (upper-case IPv6, IPv4-mapped, ...).
      const canonical = normalizeIp(ip);
      if (canonical === null || canonical === ip) return null;
      key = canonical;
      claims = this.byIp.get(key);
      remembered = this.deleted.get(key);
    }
    let best: Entry | null = null;
    for (const claim of claims ?? []) {
      if (best === null || RANK[claim.record.lifecycle] > RANK[best.record.lifecycle] || (RANK[claim.record.lifecycle] === RANK[best.record.lifecycle] && claim.seq > best.seq)) {
        best = claim;
      }
    }
    if (best !== null && RANK[best.record.lifecycle] > DELETED_RANK) return best.record.identity;
    if (remembered !== undefined && this.options.now() - remembered.deletedAt < this.options.forgetDeletedAfterMs) return remembered.identity;
    return best?.record.identity ?? null;
  }

  private index(entry: Entry): void {
    for (const ip of entry.record.ips) {
      const claims = this.byIp.get(ip);
      if (claims === undefined) this.byIp.set(ip, [entry]);
      else claims.push(entry);
    }
  }

  private unindex(entry: Entry): void {
    for (const ip of entry.record.ips) {
      const claims = this.byIp.get(ip);
      if (claims === undefined) continue;
      const rest = claims.filter((c) => c !== entry);
      if (rest.length === 0) this.byIp.delete(ip);
      else this.byIp.set(ip, rest);
    }
  }

  private remember(record: PodRecord): void {
    // A finished pod gave its address back when it finished, maybe long ago: its deletion says nothing
    // about who used the address lately, and must not hide a pod deleted since that really used it.
    if (record.lifecycle === 'finished' || this.options.forgetDeletedAfterMs <= 0) return;
    const deletedAt = this.options.now();
    for (const ip of record.ips) {
      this.deleted.delete(ip); // re-inserted at the back: the map stays in deletion order
      this.deleted.set(ip, { identity: record.identity, deletedAt });
    }
    // Bounded like the live pods: the oldest memories go first.
    for (const ip of this.deleted.keys()) {
      if (this.deleted.size <= this.options.maxPods) break;
      this.deleted.delete(ip);
    }
  }

  private forgetExpired(): void {
    if (this.deleted.size === 0) return;
    const now = this.options.now();
    for (const [ip, remembered] of this.deleted) {
      if (now - remembered.deletedAt < this.options.forgetDeletedAfterMs) break;
      this.deleted.delete(ip);
    }
  }
}
