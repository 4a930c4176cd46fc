/**
 * Ships the agent's encoded batches to its collectors: POST /api/v1/ingest with the protobuf bytes
 * and a bearer token, over TCP, TLS or a unix socket.
 *
 * Every batch goes to its collector's on-disk spool first and leaves it only when the collector
 * answered 2xx, so nothing is lost to an outage or an agent restart short of the spool's size limit
 * (at-least-once; the collector dedups by agent, boot and sequence). Each collector has its own spool
 * and sends one batch at a time, oldest first: batches arrive in order, and one collector being down
 * does not hold up the others.
 *
 * Which answer means what:
 *  - 2xx: delivered, removed from the spool.
 *  - connection errors, timeouts, 408, 429, 5xx: the collector is busy or away; retry the same batch
 *    with jittered exponential backoff, or when its Retry-After says. A TLS certificate that does not
 *    verify (against caFile, else the system's trust store) is such a failed attempt too, with a log
 *    line of its own that says so.
 *  - 401, 403: a configuration problem (token). The batch stays spooled; the token file is read again
 *    (it may have been rotated) and, unless it changed, the collector is tried again only slowly.
 *  - 3xx, 404, 405: not a pathwatch collector's ingest endpoint (wrong URL, proxy); kept and retried
 *    slowly like an auth failure, since dropping would lose everything while someone fixes the URL.
 *  - 400 and other 4xx: this batch is bad and no retry will change that; dropped, counted, logged.
 *
 * Keyed batches go to the collector rendezvous hashing picks for the key (the same one from every
 * node, even while it is down: its batches wait in its spool). Unkeyed batches (flow records) go
 * round-robin to collectors that are currently delivering.
 *
 * The spool directory belongs to one shipper: it is locked (spool-lock.ts) from construction until
 * stop(), and a shipper of another agent on the same directory is refused at construction. Two
 * shippers on one directory would reuse each other's batch file names and delete each other's
 * batches.
 */
import { readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { backoffPolicy, parseRetryAfter, retryDelayMs, type BackoffPolicy } from './backoff.js';
import { parseCollectorUrls, rendezvousPick, type CollectorTarget } from './collector-target.js';
import { DiskSpool, type SpooledBatch } from './spool.js';
import { SpoolLock, SpoolLockError } from './spool-lock.js';

export const INGEST_PATH = '/api/v1/ingest';
export const BATCH_CONTENT_TYPE = 'application/x-protobuf';

/** One POST as the shipper asks for it. */
export interface PostRequest {
  readonly target: CollectorTarget;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
  readonly timeoutMs: number;
  /** Aborted when the shipper stops. */
  readonly signal: AbortSignal;
}

export interface PostResponse {
  readonly status: number;
  readonly retryAfter: string | undefined;
  /** The start of the response body, for messages. */
  readonly bodyText: string;
}

/** How batches reach a collector: node:http by default; tests may substitute their own. */
export interface Transport {
  /** Resolves with any HTTP answer; rejects on connection errors, timeouts and aborts. */
  post(request: PostRequest): Promise<PostResponse>;
  /** Releases kept-alive connections. */
  close(): void;
}

export interface ShipperOptions {
  /** Collector URLs (http://host:port, https://host:port, unix:/path) or targets parsed already. */
  readonly targets: readonly (string | CollectorTarget)[];
  /** File holding the bearer token; without it, no Authorization header is sent. */
  readonly tokenFile?: string;
  /**
   * PEM file of the CA certificate(s) that https:// collectors' certificates must chain to (a private CA,
   * or a self-signed collector certificate itself); without it, the system's trust store. Read once,
   * at construction. Ignored when a transport is given.
   */
  readonly caFile?: string;
  /**
   * Each collector gets a subdirectory here. The directory is locked to this shipper (another agent's
   * shipper on it is refused with a SpoolLockedError) until stop().
   */
  readonly spoolDir: string;
  /** Bound on all spools together; each collector gets an equal share. */
  readonly spoolMaxBytes: number;
  /** One POST, connecting included. */
  readonly timeoutMs: number;
  readonly transport?: Transport;
  readonly backoff?: Partial<BackoffPolicy>;
  /** Wait after an auth or configuration failure (default 30 s). */
  readonly configRetryMs?: number;
  /** One line per event worth a human's attention (default: stderr). */
  readonly log?: (line: string) => void;
  /** The batches are already compressed this way (sent as Content-Encoding). */
  readonly contentEncoding?: 'gzip';
}

export interface EnqueueOptions {
  readonly sequence: number;
  /** Packet fingerprint or group key; absent for batches any collector may take. */
  readonly routingKey?: string;
}

export type TargetState = 'idle' | 'sending' | 'backoff' | 'auth-failed' | 'config-error' | 'stopped';

export interface DeliveryCounters {
  sent: number;
  sentBytes: number;
  /** Attempts that failed and were scheduled again. */
  retried: number;
  /** Batches the collector rejected as bad (400 and other 4xx): dropped. */
  droppedBadRequest: number;
  authFailures: number;
  configFailures: number;
  /** Batches and bytes waiting in the spool. */
  spooledBatches: number;
  spooledBytes: number;
  /** Batches and bytes the spool had to drop (full, unwritable, unreadable). */
  lostBatches: number;
  lostBytes: number;
  lastError: string | undefined;
}

export interface TargetStats extends DeliveryCounters {
  readonly label: string;
  readonly state: TargetState;
}

export interface ShipperStats extends DeliveryCounters {
  readonly targets: TargetStats[];
}

export class ShipperConfigError extends Error {
  override readonly name = 'ShipperConfigError';
}

const DEFAULT_CONFIG_RETRY_MS = 30_000;
const USER_AGENT = 'pathwatch-agent';

type Outcome =
  | { readonly kind: 'next' }
  | { readonly kind: 'wait'; readonly delayMs: number; readonly state: TargetState }
  | { readonly kind: 'stopped' };

/** What a status code means for the batch (see the header comment). */
export function classifyStatus(status: number): 'delivered' | 'retry' | 'auth' | 'config' | 'rejected' {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 408 || status === 429 || status >= 500) return 'retry';
  if (status === 401 || status === 403) return 'auth';
  if (status < 200 || (status >= 300 && status < 400) || status === 404 || status === 405) return 'config';
  return 'rejected';
}

function readToken(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ShipperConfigError(`token file ${path} does not exist`);
    throw new ShipperConfigError(`cannot read token file ${path}: ${code ?? String(err)}`);
  }
  const token = text.trim();
  if (token === '') throw new ShipperConfigError(`token file ${path} is empty`);
  if (/[\r\n]/.test(token)) throw new ShipperConfigError(`token file ${path} holds more than one line`);
  return token;
}

/** Reads the CA file: one line (ShipperConfigError) when it is missing, unreadable or holds no PEM certificate. */
export function readCaFile(path: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ShipperConfigError(`CA file ${path} does not exist`);
    throw new ShipperConfigError(`cannot read CA file ${path}: ${code ?? String(err)}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new ShipperConfigError(`CA file ${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  try {
    createSecureContext({ ca: pem });
  } catch (err) {
    throw new ShipperConfigError(`CA file ${path}: not a usable certificate (${(err as Error).message.split('\n')[0]})`);
  }
  return pem;
}

/** OpenSSL's and node's codes for a peer certificate that does not verify (tls.TLSSocket.authorizationError). */
const CERTIFICATE_ERRORS = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Codes meaning "signed by no CA we trust": the cure is --ca-file. */
const UNTRUSTED_ISSUER = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY']);

/** The certificate problem behind a failed POST (one line, with a hint), or undefined when it failed for another reason. */
export function certificateProblem(err: unknown): string | undefined {
  const code = err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
  if (code === undefined || !CERTIFICATE_ERRORS.has(code)) return undefined;
  const detail = `${code}: ${(err as Error).message.split('\n')[0]}`;
  if (UNTRUSTED_ISSUER.has(code)) return `${detail}; give the CA that signed it with --ca-file`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'HOSTNAME_MISMATCH') return `${detail}; the collector URL must name a host or address the certificate lists`;
  return detail;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code !== undefined && !err.message.includes(code) ? `${code} ${err.message}` : err.message;
  }
  return String(err);
}

/** A spool subdirectory name that is readable, filesystem-safe and unique per collector. */
function spoolDirName(target: CollectorTarget): string {
  const readable = target.label.replace(/[^A-Za-z0-9.-]+/g, '_').slice(0, 80);
  return `${readable}-${createHash('sha256').update(target.label).digest('hex').slice(0, 8)}`;
}

/** What the lanes share with the shipper. */
interface LaneContext {
  readonly timeoutMs: number;
  readonly transport: Transport;
  readonly backoff: BackoffPolicy;
  readonly configRetryMs: number;
  readonly log: (line: string) => void;
  readonly running: () => boolean;
  readonly headers: () => Record<string, string>;
  /** Reads the token file again; true when the token changed. */
  readonly rereadToken: () => boolean;
  /** A lane finished a delivery or went quiet. */
  readonly settled: () => void;
}

/** One collector: its spool, its single in-flight POST and its retry schedule. */
class TargetLane {
  state: TargetState = 'stopped';
  readonly counters = { sent: 0, sentBytes: 0, retried: 0, droppedBadRequest: 0, authFailures: 0, configFailures: 0 };
  lastError: string | undefined;
  private attempt = 0;
  /** Kind of the current run of failures ('' while delivering): a new kind gets its own log line. */
  private failing = '';
  private tokenRetried = false;
  /** The spool's losses were logged since the last delivery: one line per run of losses. */
  private lossLogged = false;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: AbortController | undefined;
  private pumping: Promise<void> | undefined;

  constructor(
    readonly target: CollectorTarget,
    readonly spool: DiskSpool,
    private readonly ctx: LaneContext,
  ) {}

  get label(): string {
    return this.target.label;
  }

  /** Healthy enough to take unkeyed batches. */
  get delivering(): boolean {
    return this.failing === '' && (this.state === 'idle' || this.state === 'sending');
  }

  /** Nothing left to send and nothing on the wire. */
  get drained(): boolean {
    return this.spool.size === 0 && this.pumping === undefined;
  }

  /** Starts sending unless already sending or waiting out a retry delay. */
  kick(): void {
    if (!this.ctx.running() || this.pumping !== undefined || this.timer !== undefined) return;
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
      // A batch enqueued after pump() saw an empty spool, but before this ran, found pumping set.
      if (this.spool.size > 0) this.kick();
      this.ctx.settled();
    });
  }

  /** Cuts a pending retry delay short (a last attempt while stopping). */
  hurry(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.kick();
  }

  /** Clears timers and aborts the POST on the wire; the batch stays spooled. */
  async halt(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.inFlight?.abort();
    await this.pumping;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.state = 'stopped';
  }

  private async pump(): Promise<void> {
    this.state = 'sending';
    while (this.ctx.running()) {
      const batch = this.spool.peekOldest();
      if (batch === undefined) {
        this.state = 'idle';
        return;
      }
      let outcome: Outcome;
      try {
        outcome = await this.deliver(batch);
      } catch (err) {
        // A bug, not a collector answer: keep the batch and try again later rather than spin.
        outcome = this.retry(`internal error: ${describe(err)}`, undefined);
      } finally {
        this.spool.unpin();
      }
      if (outcome.kind === 'stopped' || !this.ctx.running()) return;
      if (outcome.kind === 'wait') {
        this.state = outcome.state;
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.kick();
        }, outcome.delayMs);
        this.timer.unref();
        return;
      }
      this.ctx.settled();
    }
  }

  private async deliver(batch: SpooledBatch): Promise<Outcome> {
    const abort = new AbortController();
    this.inFlight = abort;
    this.spool.pin(batch.id);
    let response: PostResponse;
    try {
      response = await this.ctx.transport.post({
        target: this.target,
        path: INGEST_PATH,
        headers: { ...this.ctx.headers(), 'content-length': String(batch.bytes.byteLength) },
        body: batch.bytes,
        timeoutMs: this.ctx.timeoutMs,
        signal: abort.signal,
      });
    } catch (err) {
      if (abort.signal.aborted) return { kind: 'stopped' };
      const certificate = certificateProblem(err);
      if (certificate !== undefined) {
        return this.retry(`TLS certificate not trusted (${certificate})`, undefined, 'certificate');
      }
      return this.retry(`unreachable (${describe(err)})`, undefined);
    } finally {
      this.inFlight = undefined;
    }
    const status = response.status;
    const detail = response.bodyText.trim().replace(/\s+/g, ' ').slice(0, 200);
    const answer = `${status}${detail === '' ? '' : ` ${detail}`}`;
    switch (classifyStatus(status)) {
      case 'delivered':
        this.spool.removeOldest(batch.id);
        this.counters.sent++;
        this.counters.sentBytes += batch.bytes.byteLength;
        if (this.failing !== '') this.ctx.log(`collector ${this.target.label}: delivering again after ${this.attempt} failed attempt(s)`);
        this.failing = '';
        this.attempt = 0;
        this.tokenRetried = false;
        this.lossLogged = false;
        return { kind: 'next' };
      case 'rejected':
        this.spool.removeOldest(batch.id);
        this.counters.droppedBadRequest++;
        this.lastError = `batch ${batch.sequence} rejected: ${answer}`;
        this.ctx.log(`collector ${this.target.label} rejected batch ${batch.sequence} (${batch.bytes.byteLength} bytes) with ${answer}; dropped, not retried`);
        return { kind: 'next' };
      case 'retry':
        return this.retry(`answered ${answer}`, parseRetryAfter(response.retryAfter));
      case 'auth':
        return this.authFailure(answer);
      case 'config':
        return this.slowRetry('config-error', `answered ${answer} (is this the collector's URL?)`);
    }
  }

  /** A failed attempt retried with backoff; kind separates runs of failures that each get a log line. */
  private retry(why: string, retryAfterMs: number | undefined, kind = 'retry'): Outcome {
    const delayMs = retryDelayMs(this.attempt, retryAfterMs, this.ctx.backoff);
    this.note(kind, `${why}; batches stay spooled, retrying`);
    this.attempt++;
    this.counters.retried++;
    return { kind: 'wait', delayMs, state: 'backoff' };
  }

  private authFailure(answer: string): Outcome {
    this.counters.authFailures++;
    // The token may have been rotated since it was read: one prompt retry with the new one.
    if (this.ctx.rereadToken() && !this.tokenRetried) {
      this.tokenRetried = true;
      this.lastError = `answered ${answer}; token file changed, retrying with the new token`;
      return { kind: 'next' };
    }
    return this.slowRetry('auth-failed', `answered ${answer} (check the token file)`);
  }

  private slowRetry(state: TargetState, why: string): Outcome {
    if (state === 'config-error') this.counters.configFailures++;
    this.note(state, `${why}; batches stay spooled, retrying every ${Math.round(this.ctx.configRetryMs / 1000)} s`);
    this.attempt++;
    this.counters.retried++;
    this.tokenRetried = false;
    return { kind: 'wait', delayMs: this.ctx.configRetryMs, state };
  }

  /** Spools a batch; the first loss in a run of losses gets a log line, the counters tell the rest. */
  enqueue(sequence: number, bytes: Uint8Array): boolean {
    const lostBefore = this.spool.lostBatches;
    const kept = this.spool.append(sequence, bytes);
    if (this.spool.lostBatches > lostBefore && !this.lossLogged) {
      this.lossLogged = true;
      this.ctx.log(`collector ${this.target.label}: ${this.spool.lastError ?? 'spool losing batches'}`);
    }
    if (kept) this.kick();
    return kept;
  }

  /** Records a failure; logs only the first of a run of failures of one kind, so an outage is one line. */
  private note(kind: string, message: string): void {
    this.lastError = message;
    if (this.failing !== kind) this.ctx.log(`collector ${this.target.label}: ${message}`);
    this.failing = kind;
  }
}

export class BatchShipper {
  readonly targets: readonly CollectorTarget[];
  private readonly lanes: TargetLane[];
  private readonly tokenFile: string | undefined;
  private readonly transport: Transport;
  private readonly log: (line: string) => void;
  private token: string | undefined;
  private running = false;
  private stopping: Promise<void> | undefined;
  private roundRobin = 0;
  private onSettled: (() => void) | undefined;
  private readonly contentEncoding: 'gzip' | undefined;
  private readonly spoolDir: string;
  /** The spool directory's lock while this shipper owns it; undefined once stop() released it. */
  private lock: SpoolLock | undefined;

  /**
   * Validates everything a typo could break (URLs, token file, spool directory) and locks the spool
   * directory; throws one line (ShipperConfigError, or SpoolLockedError when another agent holds the
   * directory, SpoolLockError when it cannot be created).
   */
  constructor(options: ShipperOptions) {
    const targets = options.targets.map((t) => (typeof t === 'string' ? t : t.label));
    this.targets = parseCollectorUrls(targets);
    if (!(options.timeoutMs > 0)) throw new ShipperConfigError(`timeoutMs must be positive, got ${options.timeoutMs}`);
    if (!(options.spoolMaxBytes >= this.targets.length)) {
      throw new ShipperConfigError(`spoolMaxBytes must be positive, got ${options.spoolMaxBytes}`);
    }
    this.tokenFile = options.tokenFile;
    this.contentEncoding = options.contentEncoding;
    if (this.tokenFile !== undefined) this.token = readToken(this.tokenFile);
    const ca = options.caFile !== undefined && options.transport === undefined ? readCaFile(options.caFile) : undefined;
    this.transport = options.transport ?? createHttpTransport(ca !== undefined ? { ca } : {});
    this.log = options.log ?? ((line) => process.stderr.write(`pathwatch ship: ${line}\n`));
    const ctx: LaneContext = {
      timeoutMs: options.timeoutMs,
      transport: this.transport,
      backoff: backoffPolicy(options.backoff),
      configRetryMs: options.configRetryMs ?? DEFAULT_CONFIG_RETRY_MS,
      log: this.log,
      running: () => this.running,
      headers: () => this.headers(),
      rereadToken: () => this.rereadToken(),
      settled: () => this.onSettled?.(),
    };
    const share = Math.floor(options.spoolMaxBytes / this.targets.length);
    this.spoolDir = options.spoolDir;
    // Locked before any spool reads the directory: a refused shipper must not touch another's batches.
    const lock = SpoolLock.acquire(options.spoolDir, { log: this.log });
    this.lock = lock;
    try {
      this.lanes = this.targets.map((target) => {
        const spool = new DiskSpool({ dir: join(options.spoolDir, spoolDirName(target)), maxBytes: share });
        if (spool.recoveredBatches > 0) {
          this.log(`collector ${target.label}: ${spool.recoveredBatches} batch(es) (${spool.bytes} bytes) left in the spool by an earlier run`);
        }
        if (spool.lostBatches > 0) this.log(`collector ${target.label}: ${spool.lostBatches} spooled batch(es) dropped on start: ${spool.lastError}`);
        return new TargetLane(target, spool, ctx);
      });
      this.reportOrphanedSpools(options.spoolDir);
    } catch (err) {
      lock.release();
      this.lock = undefined;
      throw err;
    }
  }

  /**
   * Reads the token (it may have changed since construction) and starts delivering, spooled batches
   * first. After a stop(), takes the spool directory's lock again (SpoolLockedError if another agent
   * took it meanwhile).
   */
  start(): void {
    if (this.running) return;
    if (this.tokenFile !== undefined) this.token = readToken(this.tokenFile);
    this.lock ??= SpoolLock.acquire(this.spoolDir, { log: this.log });
    this.running = true;
    this.stopping = undefined;
    for (const lane of this.lanes) {
      lane.state = 'idle';
      lane.kick();
    }
  }

  /**
   * Spools a batch for its collector and sends it when that collector's turn comes. Returns false
   * when the spool could not keep it (counted as lost). Works before start() and after stop() too:
   * the batch then waits on disk. After stop() the spool directory's lock is taken again first; if
   * another agent holds the directory by then, the batch is not written (false, and a log line).
   */
  enqueue(bytes: Uint8Array, options: EnqueueOptions): boolean {
    if (this.lock === undefined) {
      try {
        this.lock = SpoolLock.acquire(this.spoolDir, { log: this.log });
      } catch (err) {
        if (!(err instanceof SpoolLockError)) throw err;
        this.log(`batch ${options.sequence} not spooled: ${err.message}`);
        return false;
      }
    }
    return this.laneFor(options.routingKey).enqueue(options.sequence, bytes);
  }

  /**
   * Stops delivering: for up to flushMs, keeps sending what is spooled (a collector waiting out a
   * retry delay gets one more try), then aborts what is on the wire. Whatever is left stays spooled
   * for the next start. Then releases the spool directory's lock (also when the shipper never
   * started), so another agent may take the directory.
   */
  stop(options: { flushMs?: number } = {}): Promise<void> {
    if (!this.running) {
      if (this.stopping === undefined) {
        this.releaseLock();
        return Promise.resolve();
      }
      // A stop in progress, or done (and enqueue() may have locked again since): release after it.
      return this.stopping.then(() => this.releaseLock());
    }
    this.stopping ??= this.flushThenHalt(Math.max(0, options.flushMs ?? 0));
    return this.stopping;
  }

  /**
   * Everything the spools dropped since this shipper started (batches, bytes): every batch carries
   * the running total, so a later batch reports a loss even when the batch built right after it was
   * itself dropped.
   */
  lossSoFar(): { batches: number; bytes: number } {
    return this.totalLoss();
  }

  get stats(): ShipperStats {
    const targets = this.lanes.map((lane): TargetStats => ({
      label: lane.target.label,
      state: lane.state,
      ...lane.counters,
      spooledBatches: lane.spool.size,
      spooledBytes: lane.spool.bytes,
      lostBatches: lane.spool.lostBatches,
      lostBytes: lane.spool.lostBytes,
      lastError: lane.lastError ?? lane.spool.lastError,
    }));
    const sum = (pick: (t: TargetStats) => number): number => targets.reduce((n, t) => n + pick(t), 0);
    const failing = targets.filter((t) => t.lastError !== undefined);
    return {
      sent: sum((t) => t.sent),
      sentBytes: sum((t) => t.sentBytes),
      retried: sum((t) => t.retried),
      droppedBadRequest: sum((t) => t.droppedBadRequest),
      authFailures: sum((t) => t.authFailures),
      configFailures: sum((t) => t.configFailures),
      spooledBatches: sum((t) => t.spooledBatches),
      spooledBytes: sum((t) => t.spooledBytes),
      lostBatches: sum((t) => t.lostBatches),
      lostBytes: sum((t) => t.lostBytes),
      lastError: failing.length === 0 ? undefined : failing.map((t) => `${t.label}: ${t.lastError}`).join('; '),
      targets,
    };
  }

  private async flushThenHalt(flushMs: number): Promise<void> {
    if (flushMs > 0) {
      await new Promise<void>((resolve) => {
        // Not unref()ed: a caller awaiting stop() during shutdown should get the flush it asked for.
        const deadline = setTimeout(done, flushMs);
        function done(): void {
          clearTimeout(deadline);
          resolve();
        }
        this.onSettled = () => {
          if (this.lanes.every((lane) => lane.drained)) done();
        };
        for (const lane of this.lanes) lane.hurry();
        this.onSettled();
      });
    }
    this.onSettled = undefined;
    this.running = false;
    try {
      await Promise.all(this.lanes.map((lane) => lane.halt()));
      this.transport.close();
    } finally {
      // Nothing touches the spools any more.
      this.releaseLock();
    }
  }

  private releaseLock(): void {
    this.lock?.release();
    this.lock = undefined;
  }

  /** Spools of collectors no longer configured are not sent anywhere; say so rather than hide them. */
  private reportOrphanedSpools(spoolDir: string): void {
    const ours = new Set(this.targets.map(spoolDirName));
    let names: string[];
    try {
      names = readdirSync(spoolDir);
    } catch {
      return;
    }
    for (const name of names) {
      if (ours.has(name)) continue;
      try {
        const batches = readdirSync(join(spoolDir, name)).filter((f) => f.endsWith('.batch')).length;
        if (batches > 0) this.log(`spool ${join(spoolDir, name)} holds ${batches} batch(es) for a collector no longer configured; they will not be sent`);
      } catch {
        // Not a directory, or unreadable: not a spool of ours.
      }
    }
  }

  private laneFor(routingKey: string | undefined): TargetLane {
    if (this.lanes.length === 1) return this.lanes[0] as TargetLane;
    if (routingKey !== undefined) return rendezvousPick(this.lanes, routingKey);
    const healthy = this.lanes.filter((lane) => lane.delivering);
    const pool = healthy.length > 0 ? healthy : this.lanes;
    this.roundRobin = (this.roundRobin + 1) % pool.length;
    return pool[this.roundRobin] as TargetLane;
  }

  private headers(): Record<string, string> {
    const headers: Record<string, string> = { 'content-type': BATCH_CONTENT_TYPE, 'user-agent': USER_AGENT };
    if (this.contentEncoding) headers['content-encoding'] = this.contentEncoding;
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    return headers;
  }

  private rereadToken(): boolean {
    if (this.tokenFile === undefined) return false;
    try {
      const token = readToken(this.tokenFile);
      const changed = token !== this.token;
      this.token = token;
      return changed;
    } catch (err) {
      // Keep the old token: a rotation in progress may briefly remove the file.
      this.log(describe(err));
      return false;
    }
  }

  private totalLoss(): { batches: number; bytes: number } {
    let batches = 0;
    let bytes = 0;
    for (const lane of this.lanes) {
      batches += lane.spool.lostBatches;
      bytes += lane.spool.lostBytes;
    }
    return { batches, bytes };
  }
}

export interface HttpTransportOptions {
  /** CA certificate(s), PEM: https:// collectors must chain to these instead of the system's trust store. */
  readonly ca?: string | Buffer;
}

/**
 * POSTs with node:http / node:https (unix sockets via socketPath), one kept-alive connection per
 * collector: a TLS handshake per batch would cost more than the batch. Certificates are always
 * verified (and the host name checked against them).
 */
export function createHttpTransport(options: HttpTransportOptions = {}): Transport {
  const tlsOptions = options.ca !== undefined ? { ca: options.ca } : {};
  const agents = new Map<string, http.Agent>();
  function agentFor(target: CollectorTarget): http.Agent {
    let agent = agents.get(target.label);
    if (agent === undefined) {
      agent = target.tls ? new https.Agent({ keepAlive: true, maxSockets: 1, ...tlsOptions }) : new http.Agent({ keepAlive: true, maxSockets: 1 });
      agents.set(target.label, agent);
    }
    return agent;
  }
  return {
    post(request) {
      const { target } = request;
      return new Promise<PostResponse>((resolve, reject) => {
        let settled = false;
        const finish = (err: Error | undefined, response?: PostResponse): void => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          if (err !== undefined) reject(err);
          else resolve(response as PostResponse);
        };
        const send = target.tls ? https.request : http.request;
        const req = send(
          {
            method: 'POST',
            path: request.path,
            headers: request.headers,
            agent: agentFor(target),
            signal: request.signal,
            ...(target.tls ? tlsOptions : {}),
            ...(target.kind === 'unix' ? { socketPath: target.socketPath } : { host: target.host, port: target.port }),
          },
          (res) => {
            const chunks: Buffer[] = [];
            let kept = 0;
            res.on('data', (chunk: Buffer) => {
              if (kept < 512) {
                chunks.push(chunk);
                kept += chunk.length;
              }
            });
            res.on('end', () => {
              const retryAfter = res.headers['retry-after'];
              finish(undefined, {
                status: res.statusCode ?? 0,
                retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
                bodyText: Buffer.concat(chunks).subarray(0, 512).toString('utf8'),
              });
            });
            res.on('error', (err) => finish(err));
            res.on('close', () => finish(new Error('connection closed before the response ended')));
          },
        );
        // The whole exchange, connecting included (the socket's own timeout is only for idleness).
        const timer = setTimeout(() => req.destroy(new Error(`no answer within ${request.timeoutMs} ms`)), request.timeoutMs);
        timer.unref();
        req.on('error', (err) => finish(err));
        req.end(request.body);
      });
    },
    close() {
      for (const agent of agents.values()) agent.destroy();
      agents.clear();
    },
  };
}
