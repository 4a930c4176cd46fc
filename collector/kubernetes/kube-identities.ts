/**
 * Who an address is, from the Kubernetes API: pods (by their addresses), nodes (by name and
 * InternalIP), and Calico IPAM blocks (which node owns the block an address falls in). Kept current by
 * one list-then-watch loop per resource (resource-reflector.ts), answered from memory: lookups never
 * wait for the API, and keep answering from the last state while it is unreachable.
 *
 * Lifecycle: start() resolves after pods and nodes were listed once (and the blocks tried once), or
 * rejects with one line when the API cannot be reached or refuses; after that, failures are retried
 * in the background with a backoff and show in status(). stop() ends every request and timer (a
 * watch request still waiting for its response headers cannot be aborted by the client before they
 * arrive: stop() waits for them, at most requestTimeoutMs, then leaves that one socket to close itself).
 */
import { CoreV1Api, CustomObjectsApi, Observable, Watch, type KubeConfig, type ObservableMiddleware } from '@kubernetes/client-node';
import { asArray, asObject, asString, metadataOf } from './json-fields.js';
import { PrefixTable, normalizeIp } from './ip-prefix.js';
import { decodeIpamBlock, type BlockOwner, type IpamBlockRecord } from './ipam-block-record.js';
import { decodeNode, type NodeIdentity, type NodeRecord } from './node-record.js';
import { PodIndex } from './pod-index.js';
import { decodePod, type PodIdentity, type PodRecord } from './pod-record.js';
import { ResourceReflector, type ListPage, type ReflectorOptions } from './resource-reflector.js';

export type { PodIdentity } from './pod-record.js';
export type { NodeIdentity } from './node-record.js';
export type { BlockOwner } from './ipam-block-record.js';

export interface KubeIdentitiesOptions {
  /** Most pods held (default 100 000); pods beyond are refused and counted in status().refusedPods. */
  readonly maxPods?: number;
  /** How long a deleted pod still answers for its addresses (default 10 min). */
  readonly forgetDeletedAfterMs?: number;
  /** Milliseconds clock for the deleted-pod memory (default Date.now). */
  readonly now?: () => number;
  /** First retry delay after a failure (default 1 s), doubling up to retryMaxMs (default 30 s). */
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
  /** timeoutSeconds asked for each watch (default 300): the server ends it then and it is resumed. */
  readonly watchTimeoutSeconds?: number;
  /** Bound on each list request (default 60 s). */
  readonly requestTimeoutMs?: number;
  /** Objects per list page (default 500). */
  readonly listPageSize?: number;
  /** One line per change of connection state ("... connection refused ...", "... reachable again"). */
  readonly log?: (line: string) => void;
}

export interface KubeIdentitiesStatus {
  /** Pods and nodes are listed and their watches are up. */
  readonly connected: boolean;
  readonly pods: number;
  readonly nodes: number;
  /** Blocks held, or 'unavailable' when the cluster has no Calico IPAM blocks API (or it was not read yet). */
  readonly blocks: number | 'unavailable';
  /** The current failure, one line (pods first, then nodes, then blocks); null when all is well. */
  readonly lastError: string | null;
  readonly refusedPods: number;
}

const CALICO_GROUP = 'crd.projectcalico.org';
const CALICO_VERSION = 'v1';
const CALICO_BLOCKS = 'ipamblocks';

/** A list request's paging arguments: the page size, and where the previous page ended (none for the first). */
function pageArgs(limit: number, continueToken: string | null): { limit: number; _continue?: string } {
  return continueToken !== null ? { limit, _continue: continueToken } : { limit };
}

const DEFAULTS = {
  maxPods: 100_000,
  forgetDeletedAfterMs: 10 * 60_000,
  retryInitialMs: 1_000,
  retryMaxMs: 30_000,
  watchTimeoutSeconds: 300,
  requestTimeoutMs: 60_000,
  listPageSize: 500,
} as const;

/**
 * Per-call options that put an AbortSignal on the generated client's request: its list calls take
 * no signal parameter, but a middleware may set one on the request context (node-fetch honours it).
 */
function withSignal(signal: AbortSignal): { middleware: ObservableMiddleware[]; middlewareMergeStrategy: 'append' } {
  return {
    middleware: [
      {
        pre: (context) => {
          context.setSignal(signal);
          return new Observable(Promise.resolve(context));
        },
        post: (response) => new Observable(Promise.resolve(response)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

/** Items, resourceVersion and continue token of a list response (a client model or raw JSON). */
function toPage(list: unknown): ListPage {
  const metadata = metadataOf(list);
  return {
    items: asArray(asObject(list)?.['items']),
    resourceVersion: asString(metadata?.['resourceVersion']),
    // The models call ListMeta's `continue` `_continue`; raw JSON (custom objects) keeps `continue`.
    continueToken: asString(metadata?.['_continue']) ?? asString(metadata?.['continue']),
  };
}

export class KubeIdentities {
  private readonly pods: PodIndex;
  private readonly nodes = new Map<string, NodeRecord>();
  private readonly nodeByIp = new Map<string, string>();
  private readonly blocks = new PrefixTable<BlockOwner>();
  private readonly podReflector: ResourceReflector<PodRecord>;
  private readonly nodeReflector: ResourceReflector<NodeRecord>;
  private readonly blockReflector: ResourceReflector<IpamBlockRecord>;
  private readonly server: string;
  private readonly log: (line: string) => void;
  private started = false;
  private stopped = false;
  private blocksListed = false;
  /** Logging starts once start() succeeded: a failing start() reports through its rejection alone. */
  private logging = false;
  private lastLogged: string | null = null;

  constructor(kubeConfig: KubeConfig, options: KubeIdentitiesOptions = {}) {
    const cluster = kubeConfig.getCurrentCluster();
    if (cluster === null) throw new Error('kubernetes: the kubeconfig has no current cluster');
    this.server = cluster.server;
    this.log = options.log ?? (() => undefined);
    this.pods = new PodIndex({
      maxPods: options.maxPods ?? DEFAULTS.maxPods,
      forgetDeletedAfterMs: options.forgetDeletedAfterMs ?? DEFAULTS.forgetDeletedAfterMs,
      now: options.now ?? Date.now,
    });
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const custom = kubeConfig.makeApiClient(CustomObjectsApi);
    const retryInitialMs = options.retryInitialMs ?? DEFAULTS.retryInitialMs;
    const common: Omit<ReflectorOptions, 'optional'> = {
      server: this.server,
      watch: new Watch(kubeConfig),
      retryInitialMs,
      retryMaxMs: Math.max(options.retryMaxMs ?? DEFAULTS.retryMaxMs, retryInitialMs),
      watchTimeoutSeconds: options.watchTimeoutSeconds ?? DEFAULTS.watchTimeoutSeconds,
      requestTimeoutMs: options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
      listPageSize: options.listPageSize ?? DEFAULTS.listPageSize,
      // A watch that stayed up this long was fine, whatever ended it: the next failure starts the backoff over.
      healthyAfterMs: 10_000,
      onChange: () => this.reportChange(),
    };

    this.podReflector = new ResourceReflector<PodRecord>(
      {
        resource: 'pods',
        watchPath: '/api/v1/pods',
        listPage: async (continueToken, limit, signal) =>
          toPage(await core.listPodForAllNamespaces(pageArgs(limit, continueToken), withSignal(signal))),
        decode: decodePod,
        replace: (records) => this.pods.replaceAll(records),
        apply: (change, record) => (change === 'DELETED' ? this.pods.remove(record) : this.pods.upsert(record, change)),
      },
      { ...common, optional: false },
    );

    this.nodeReflector = new ResourceReflector<NodeRecord>(
      {
        resource: 'nodes',
        watchPath: '/api/v1/nodes',
        listPage: async (continueToken, limit, signal) =>
          toPage(await core.listNode(pageArgs(limit, continueToken), withSignal(signal))),
        decode: decodeNode,
        replace: (records) => {
          this.nodes.clear();
          this.nodeByIp.clear();
          for (const record of records) this.putNode(record);
        },
        apply: (change, record) => (change === 'DELETED' ? this.deleteNode(record.key) : this.putNode(record)),
      },
      { ...common, optional: false },
    );

    this.blockReflector = new ResourceReflector<IpamBlockRecord>(
      {
        resource: `${CALICO_BLOCKS} (${CALICO_GROUP}/${CALICO_VERSION})`,
        watchPath: `/apis/${CALICO_GROUP}/${CALICO_VERSION}/${CALICO_BLOCKS}`,
        listPage: async (continueToken, limit, signal) =>
          toPage(
            await custom.listClusterCustomObject(
              { group: CALICO_GROUP, version: CALICO_VERSION, plural: CALICO_BLOCKS, ...pageArgs(limit, continueToken) },
              withSignal(signal),
            ),
          ),
        decode: decodeIpamBlock,
        replace: (records) => {
          this.blocksListed = true;
          this.blocks.clear();
          for (const record of records) this.blocks.set(record.key, record.prefix, record.owner);
        },
        // A block whose spec became invalid or deleted:true decodes to null and is not applied: it is
        // dropped from the table by its DELETED event (or the next relist).
        apply: (change, record) => (change === 'DELETED' ? this.blocks.delete(record.key) : this.blocks.set(record.key, record.prefix, record.owner)),
      },
      { ...common, optional: true },
    );
  }

  /**
   * Lists pods, nodes and Calico blocks, then keeps watching them. Resolves once pods and nodes are
   * listed (and the blocks were tried: they are optional); rejects with a one-line KubeApiError when
   * pods or nodes cannot be listed (unreachable, 401/403, ...), after stopping everything.
   */
  async start(): Promise<void> {
    if (this.started) throw new Error('kubernetes: KubeIdentities.start() called twice');
    this.started = true;
    this.podReflector.start();
    this.nodeReflector.start();
    this.blockReflector.start();
    try {
      await Promise.all([this.podReflector.firstSync, this.nodeReflector.firstSync]);
    } catch (err) {
      await this.stop();
      throw err;
    }
    await this.blockReflector.firstSync;
    if (this.stopped) throw new Error('kubernetes: stopped while starting');
    this.logging = true;
    this.reportChange(); // a failure of the optional blocks during start, say
  }

  /** Ends all requests and timers; the caches keep answering with what they hold. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([this.podReflector.stop(), this.nodeReflector.stop(), this.blockReflector.stop()]);
  }

  /** The pod answering on `ip` (IPv4 or IPv6, any spelling), a recently deleted one included; null when none. */
  podByIp(ip: string): PodIdentity | null {
    return this.pods.lookup(ip);
  }

  nodeByName(name: string): NodeIdentity | null {
    return this.nodes.get(name)?.identity ?? null;
  }

  /** The node with InternalIP `ip`. */
  nodeByAddress(ip: string): NodeIdentity | null {
    const name = this.nodeByIp.get(ip) ?? this.nodeByIp.get(normalizeIp(ip) ?? ip);
    return name === undefined ? null : this.nodeByName(name);
  }

  /** The Calico block containing `ip` (the longest prefix) and its node; null when none does. */
  blockOwner(ip: string): BlockOwner | null {
    return this.blocks.lookup(ip);
  }

  status(): KubeIdentitiesStatus {
    // Unavailable until listed once, and again if the API stops serving them (Calico removed).
    const blocksListed = this.blocksListed && this.blockReflector.state !== 'unavailable';
    return {
      connected: this.podReflector.connected && this.nodeReflector.connected,
      pods: this.pods.size,
      nodes: this.nodes.size,
      blocks: blocksListed ? this.blocks.size : 'unavailable',
      lastError: this.podReflector.lastError ?? this.nodeReflector.lastError ?? this.blockReflector.lastError,
      refusedPods: this.pods.refused,
    };
  }

  private putNode(record: NodeRecord): void {
    this.deleteNode(record.key);
    this.nodes.set(record.key, record);
    for (const ip of record.internalIps) this.nodeByIp.set(ip, record.key);
  }

  private deleteNode(name: string): void {
    const old = this.nodes.get(name);
    if (old === undefined) return;
    this.nodes.delete(name);
    for (const ip of old.internalIps) if (this.nodeByIp.get(ip) === name) this.nodeByIp.delete(ip);
  }

  /** Logs one line when the connection breaks (each new error) and when it is back. */
  private reportChange(): void {
    if (this.stopped || !this.logging) return;
    const { connected, lastError } = this.status();
    if (lastError !== null && lastError !== this.lastLogged) {
      this.lastLogged = lastError;
      this.log(lastError);
    } else if (lastError === null && this.lastLogged !== null && connected) {
      this.lastLogged = null;
      this.log(`kubernetes API ${this.server}: reachable again`);
    }
  }
}
