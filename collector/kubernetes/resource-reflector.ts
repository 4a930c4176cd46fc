/**
 * List-then-watch for one resource, kept running until stopped: the equivalent of client-go's
 * reflector, built on the client's Watch (the streaming request and its line parsing) and the
 * generated list calls.
 *
 * Why not the client's ListWatch/makeInformer (cache.ts in @kubernetes/client-node 1.4)? It resumes
 * a closed watch from the last resourceVersion and relists on 410 correctly, but:
 * - on any other failure (connection refused, 5xx, 403, a failed list) it calls the error callbacks
 *   and stops for good: the caller must restart it, with no backoff of its own;
 * - it keeps every object it lists in full (a V1Pod with spec, status and managedFields, tens of
 *   kilobytes each) in an unbounded map, beside whatever the caller keeps;
 * - it lists in one request (no `limit`), so 100 000 pods arrive as one response;
 * - stop() during a list, or while a watch request is connecting, still opens the watch afterwards
 *   (it checks `stopped` only before listing), leaking a socket;
 * - it cannot pass `allowWatchBookmarks` or `timeoutSeconds` to the watch.
 * So this loop does the same resourceVersion handling, and adds the rest:
 * - list in pages (`limit` + `continue`); the list's resourceVersion starts the watch;
 * - every event (BOOKMARK too) advances the resourceVersion; a watch the server ends (timeoutSeconds,
 *   an apiserver restart) is resumed from it at once, without relisting;
 * - 410 Gone, as an ERROR event in the stream or as the HTTP status, forgets the resourceVersion:
 *   the next round relists, and the relist replaces the whole state (deletions missed meanwhile included);
 * - any other failure is reported (one line, see kube-errors.ts) and retried after a backoff doubling
 *   from retryInitialMs to retryMaxMs; the state is kept and keeps answering meanwhile, and the retry
 *   resumes from the resourceVersion when there is one;
 * - a watch that ends before delivering anything and within healthyAfterMs counts as a failure for
 *   the backoff, so a server that accepts and drops watches at once is not hammered;
 * - a watch silent for longer than the server's timeoutSeconds plus a margin is presumed dead (a
 *   half-open TCP connection delivers nothing and never ends) and restarted;
 * - stop() aborts the list (an AbortSignal on the request), the watch (its AbortController), the
 *   backoff sleep, and waits for a watch request still connecting, so nothing is left open.
 */
import { resourceVersionOf } from './json-fields.js';
import { KubeApiError, toKubeApiError, watchStatusError } from './kube-errors.js';

export interface ListPage {
  readonly items: readonly unknown[];
  readonly resourceVersion: string | null;
  readonly continueToken: string | null;
}

export type WatchChange = 'ADDED' | 'MODIFIED' | 'DELETED';

/** What a reflector feeds: how to list and watch the resource, and where its objects go. */
export interface ReflectorTarget<T> {
  /** For messages: "pods", "ipamblocks (crd.projectcalico.org/v1)". */
  readonly resource: string;
  /** The collection's path, watched with ?watch=true: "/api/v1/pods". */
  readonly watchPath: string;
  listPage(continueToken: string | null, limit: number, signal: AbortSignal): Promise<ListPage>;
  /** Reduces an object to what is kept; null skips it. */
  decode(raw: unknown): T | null;
  /** The whole state after a (re)list. */
  replace(items: readonly T[]): void;
  apply(change: WatchChange, item: T): void;
}

/** The client's Watch, as used here (its own declaration types the objects `any`). */
export interface WatchClient {
  watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController>;
}

export interface ReflectorOptions {
  /** The API server's URL, for messages. */
  readonly server: string;
  readonly watch: WatchClient;
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
  /** Asked of the server for each watch; it ends the watch then, and the watch is resumed. */
  readonly watchTimeoutSeconds: number;
  /** Bound on one list page request (a watch has none: it lasts). */
  readonly requestTimeoutMs: number;
  readonly listPageSize: number;
  /** A watch that lived this long (or delivered an event) was healthy: the backoff starts over. */
  readonly healthyAfterMs: number;
  /**
   * Optional resources (Calico's blocks) may not exist: a 404 makes the reflector unavailable and
   * ends it quietly, and a failed first list does not fail the first sync.
   */
  readonly optional: boolean;
  /** Called whenever `connected`, `lastError` or `state` changed. */
  readonly onChange: () => void;
}

export type ReflectorState = 'idle' | 'syncing' | 'synced' | 'unavailable' | 'failed' | 'stopped';

type WatchOutcome =
  | { readonly kind: 'ended'; readonly healthy: boolean }
  | { readonly kind: 'gone'; readonly healthy: boolean }
  | { readonly kind: 'stopped' };

class Stopped extends Error {}

function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}

export class ResourceReflector<T> {
  private stateValue: ReflectorState = 'idle';
  private connectedValue = false;
  private lastErrorValue: string | null = null;
  private resourceVersion = '';
  private stopped = false;
  private backoffMs: number;
  private loop: Promise<void> | null = null;
  private readonly stopController = new AbortController();
  /** Ends the running watch (settles watchOnce as stopped). */
  private endWatch: (() => void) | null = null;
  /** A watch request still waiting for its response headers: stop() waits for it, then aborts it. */
  private connecting: Promise<void> | null = null;
  /** Ends the backoff sleep early. */
  private wake: (() => void) | null = null;
  private settleFirstSync: { resolve: () => void; reject: (e: Error) => void } | null = null;
  /**
   * Settles after the first list: resolves when it succeeded, rejects with its one-line error when it
   * failed (and the reflector stops). For an optional resource it resolves in every case.
   */
  readonly firstSync: Promise<void>;

  constructor(
    private readonly target: ReflectorTarget<T>,
    private readonly options: ReflectorOptions,
  ) {
    this.backoffMs = options.retryInitialMs;
    this.firstSync = new Promise<void>((resolve, reject) => {
      this.settleFirstSync = { resolve, reject };
    });
    // Nobody may be waiting when it rejects (stopped before start() awaited it): not an unhandled rejection.
    this.firstSync.catch(() => undefined);
  }

  get state(): ReflectorState {
    return this.stateValue;
  }

  /** Listed, and the watch (or the list just made) reached the server; false after any failure until it does again. */
  get connected(): boolean {
    return this.connectedValue;
  }

  /** The current failure, one line; null once the server answers again. */
  get lastError(): string | null {
    return this.lastErrorValue;
  }

  start(): void {
    if (this.loop !== null) return;
    this.setState('syncing');
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    if (this.stopped) {
      await this.loop;
      return;
    }
    this.stopped = true;
    this.stopController.abort();
    this.endWatch?.();
    this.wake?.();
    this.finishFirstSync(new Error(`kubernetes: stopped before ${this.target.resource} were listed`));
    await this.loop;
    // A watch request sent just before stop() still has to get its answer before it can be aborted;
    // a server that never answers would hold stop() forever, so this wait is bounded.
    if (this.connecting !== null) await this.boundedWait(this.connecting, this.options.requestTimeoutMs);
    this.connectedValue = false;
    this.setState('stopped');
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (this.resourceVersion === '') await this.relist();
        const outcome = await this.watchOnce();
        if (outcome.kind === 'stopped') break;
        if (outcome.kind === 'gone') this.resourceVersion = '';
        if (outcome.healthy) {
          this.backoffMs = this.options.retryInitialMs;
          continue;
        }
        await this.sleep(this.nextBackoff());
      } catch (err) {
        if (this.stopped || err instanceof Stopped) break;
        const error = err instanceof KubeApiError ? err : toKubeApiError(err, this.options.server, `with ${this.target.resource}`);
        if (error.status === 410) {
          // HTTP 410 on a watch, or an expired continue token in a paged list: relist from scratch.
          // Expected now and then, so not reported as a failure.
          this.resourceVersion = '';
          await this.sleep(this.nextBackoff());
          continue;
        }
        if (this.options.optional && error.status === 404) {
          // The resource does not exist in this cluster (Calico not installed, or not with CRDs).
          this.connectedValue = false;
          this.lastErrorValue = null;
          this.setState('unavailable');
          this.finishFirstSync(null);
          break;
        }
        this.fail(error.message);
        if (this.stateValue === 'syncing') {
          if (!this.options.optional) {
            // The first list failed: the caller decides (start() rejects with this line); no retrying.
            this.setState('failed');
            this.finishFirstSync(error);
            break;
          }
          this.finishFirstSync(null);
        }
        await this.sleep(this.nextBackoff());
      }
    }
  }

  private nextBackoff(): number {
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.options.retryMaxMs);
    return delay;
  }

  private async relist(): Promise<void> {
    const action = `listing ${this.target.resource}`;
    const items: T[] = [];
    let continueToken: string | null = null;
    let resourceVersion: string | null = null;
    do {
      if (this.stopped) throw new Stopped();
      const timeout = AbortSignal.timeout(this.options.requestTimeoutMs);
      let page: ListPage;
      try {
        page = await this.target.listPage(continueToken, this.options.listPageSize, AbortSignal.any([this.stopController.signal, timeout]));
      } catch (err) {
        if (this.stopped) throw new Stopped();
        if (timeout.aborted) throw new KubeApiError(`kubernetes API ${this.options.server}: no answer within ${formatDuration(this.options.requestTimeoutMs)} ${action}`, null);
        throw toKubeApiError(err, this.options.server, action);
      }
      for (const raw of page.items) {
        const item = this.target.decode(raw);
        if (item !== null) items.push(item);
      }
      // Every page of a paged list carries the resourceVersion of the snapshot they all come from.
      resourceVersion = page.resourceVersion ?? resourceVersion;
      continueToken = page.continueToken;
    } while (continueToken !== null);
    if (this.stopped) throw new Stopped();
    this.target.replace(items);
    this.resourceVersion = resourceVersion ?? '';
    this.succeed();
    if (this.stateValue === 'syncing') {
      this.setState('synced');
      this.finishFirstSync(null);
    }
  }

  private watchOnce(): Promise<WatchOutcome> {
    const action = `watching ${this.target.resource}`;
    const server = this.options.server;
    return new Promise<WatchOutcome>((resolve, reject) => {
      const startedAt = Date.now();
      let delivered = false;
      let settled = false;
      let controller: AbortController | null = null;
      let idleTimer: NodeJS.Timeout | null = null;
      const healthy = (): boolean => delivered || Date.now() - startedAt >= this.options.healthyAfterMs;
      const finish = (outcome: WatchOutcome | Error): void => {
        if (settled) return;
        settled = true;
        if (idleTimer !== null) clearTimeout(idleTimer);
        this.endWatch = null;
        controller?.abort(); // the client's done callback then fires with an AbortError: ignored, settled
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };
      // Until the response headers arrive, the request gets requestTimeoutMs; after that, the stream may
      // stay quiet until the server ends it at timeoutSeconds, plus a margin.
      const idleLimitMs = this.options.watchTimeoutSeconds * 1000 + this.options.requestTimeoutMs;
      const armTimer = (ms: number, what: string): void => {
        if (idleTimer !== null) clearTimeout(idleTimer);
        idleTimer = setTimeout(() => finish(new KubeApiError(`kubernetes API ${server}: ${what} ${formatDuration(ms)} ${action}`, null)), ms);
        idleTimer.unref();
      };
      const armIdleTimer = (): void => armTimer(idleLimitMs, 'no data for');
      this.endWatch = () => finish({ kind: 'stopped' });
      armTimer(this.options.requestTimeoutMs, 'no answer within');

      const onEvent = (type: string, object: unknown): void => {
        if (settled) return;
        // The client swallows exceptions thrown here (it takes them for JSON parse errors): catch them
        // ourselves, or a bug in a decoder would silently drop events.
        try {
          switch (type) {
            case 'ADDED':
            case 'MODIFIED':
            case 'DELETED': {
              const item = this.target.decode(object);
              if (item !== null) this.target.apply(type, item);
              break;
            }
            case 'BOOKMARK':
              break; // only its resourceVersion matters
            case 'ERROR': {
              const error = watchStatusError(object, server, action);
              // 410 Gone/Expired: the resourceVersion is older than the server's history. The server
              // ends the stream after it; ending it here does not depend on that.
              finish(error.status === 410 ? { kind: 'gone', healthy: healthy() } : error);
              return;
            }
            default:
              return;
          }
          delivered = true;
          const rv = resourceVersionOf(object);
          if (rv !== null) this.resourceVersion = rv;
          armIdleTimer();
        } catch (err) {
          finish(new KubeApiError(`kubernetes API ${server}: cannot apply a ${type} event ${action}: ${err instanceof Error ? err.message : String(err)}`, null));
        }
      };
      // Called once: clean end of the stream (null), or failure (refused, non-200, reset, our abort).
      const onDone = (err: unknown): void => {
        if (err === null || err === undefined) finish({ kind: 'ended', healthy: healthy() });
        else finish(toKubeApiError(err, server, action));
      };

      let request: Promise<AbortController>;
      try {
        request = this.options.watch.watch(
          this.target.watchPath,
          { resourceVersion: this.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: this.options.watchTimeoutSeconds },
          onEvent,
          onDone,
        );
      } catch (err) {
        finish(toKubeApiError(err, server, action));
        return;
      }
      // The client returns the request's AbortController only once the response headers arrived (or
      // the request failed, after calling onDone): until then nothing can abort it.
      const connecting = request.then(
        (c) => {
          controller = c;
          if (settled) {
            c.abort(); // stopped, failed or timed out while connecting
            return;
          }
          armIdleTimer();
          this.succeed(); // the server accepted the watch
        },
        (err: unknown) => finish(toKubeApiError(err, server, action)), // credentials or config failed before sending
      );
      this.connecting = connecting;
      void connecting.finally(() => {
        if (this.connecting === connecting) this.connecting = null;
      });
    });
  }

  private succeed(): void {
    if (this.connectedValue && this.lastErrorValue === null) return;
    this.connectedValue = true;
    this.lastErrorValue = null;
    this.options.onChange();
  }

  private fail(message: string): void {
    if (!this.connectedValue && this.lastErrorValue === message) return;
    this.connectedValue = false;
    this.lastErrorValue = message;
    this.options.onChange();
  }

  private setState(state: ReflectorState): void {
    if (this.stateValue === state) return;
    this.stateValue = state;
    this.options.onChange();
  }

  private finishFirstSync(error: Error | null): void {
    const settle = this.settleFirstSync;
    if (settle === null) return;
    this.settleFirstSync = null;
    if (error === null || this.options.optional) settle.resolve();
    else settle.reject(error);
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      // Retrying must not be what keeps a process alive.
      timer.unref();
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }

  private async boundedWait(promise: Promise<void>, ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }
}
