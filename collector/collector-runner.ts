/**
 * A running collector: storage opened (embedded chDB or a ClickHouse server), the HTTP API on every
 * `--listen` address, alerts evaluated every few seconds, retention enforced hourly. Stops cleanly:
 * listeners close first, batches being stored finish, then the store closes.
 *
 * With a certificate and key (--tls-cert, --tls-key) every TCP listener speaks HTTPS; unix sockets stay
 * plain HTTP (only processes on this machine that may open the socket file reach them).
 */
import { createServer, type Server } from 'node:http';
import { answerClientError } from './api/client-error.js';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createSecureContext } from 'node:tls';
import { existsSync, lstatSync, readFileSync, unlinkSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { AlertRules, DEFAULT_ALERT_RULE, type AlertRuleConfig } from './alert/alert-rules.js';
import { AlertSender, parseAlertTarget, type AlertTarget } from './alert/alert-senders.js';
import { BearerToken } from './api/bearer-token.js';
import { buildCollectorApp } from './api/collector-app.js';
import { createCollectorMetrics } from './api/collector-metrics.js';
import { DropEventHub } from './api/drop-event-hub.js';
import { formatListenAddress, isLocalOnly, parseListenAddress, type ListenAddress } from './api/listen-address.js';
import { BatchIngest } from './ingest/batch-ingest.js';
import { DEFAULT_STITCHER_CONFIG } from '../core/correlate/tunnel-stitcher.js';
import { openStorage } from './store/open-storage.js';
import type { Storage } from './store/storage.js';

export interface CollectorOptions {
  readonly listen: readonly string[];
  readonly store: string;
  readonly tokenFile?: string;
  readonly readTokenFile?: string;
  /** PEM certificate (chain) and its private key: TCP listeners serve HTTPS. Both or neither. */
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  /** A second STORE for the query path: a ClickHouse user of its own (clickhouse:// only). */
  readonly readStore?: string;
  readonly alertmanager?: readonly string[];
  readonly webhook?: readonly string[];
  /** Listen on non-loopback addresses without tokens (the operator's explicit choice). */
  readonly allowInsecureRemote?: boolean;
  readonly retentionDays?: number;
  readonly alertRule?: AlertRuleConfig;
  /** How often alert rules are evaluated (default 5 s). */
  readonly alertTickMs?: number;
  /** How often held cross-node departures are judged (default 5 s). */
  readonly stitchTickMs?: number;
  /** How long a cross-node departure waits for its arrival (default 45 s: agents ship every 10 s). */
  readonly stitchHoldMs?: number;
  readonly log: (line: string) => void;
}

/** A configuration that cannot work (exit 2 with this line). */
export class CollectorConfigError extends Error {
  override name = 'CollectorConfigError';
}

export interface RunningCollector {
  /** Where it listens, with real ports (port 0 chosen by the system). */
  readonly addresses: readonly string[];
  readonly storage: Storage;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

export async function startCollector(o: CollectorOptions): Promise<RunningCollector> {
  const addresses: ListenAddress[] = (o.listen.length > 0 ? o.listen : ['127.0.0.1:7070']).map(parseListenAddress);
  const ingestToken = o.tokenFile ? BearerToken.fromFile(o.tokenFile, '--token-file') : undefined;
  const readToken = o.readTokenFile ? BearerToken.fromFile(o.readTokenFile, '--read-token-file') : undefined;
  const remote = addresses.filter((a) => !isLocalOnly(a));
  if (remote.length > 0 && (!ingestToken || !readToken) && !o.allowInsecureRemote) {
    throw new CollectorConfigError(
      `--listen ${formatListenAddress(remote[0] as ListenAddress)} is reachable from other machines: give --token-file and --read-token-file (or --insecure-listen to allow it without them)`,
    );
  }
  const tls = o.tlsCert !== undefined || o.tlsKey !== undefined ? readTlsFiles(o.tlsCert, o.tlsKey) : undefined;
  const targets: AlertTarget[] = [...(o.alertmanager ?? []).map((u) => parseAlertTarget('alertmanager', u)), ...(o.webhook ?? []).map((u) => parseAlertTarget('webhook', u))];

  const storage = await openStorage(o.store, {
    ...(o.retentionDays !== undefined ? { retentionDays: o.retentionDays } : {}),
    ...(o.readStore !== undefined ? { readStore: o.readStore } : {}),
  });
  const hub = new DropEventHub();
  const ingest = new BatchIngest(storage, o.stitchHoldMs !== undefined ? { stitcher: { ...DEFAULT_STITCHER_CONFIG, holdMs: o.stitchHoldMs } } : {});
  const alerts = new AlertRules(o.alertRule ?? DEFAULT_ALERT_RULE);
  const answers: Record<string, number> = {};
  const storageUp = { value: true };
  const servers: (Server | HttpsServer)[] = [];
  const timers: NodeJS.Timeout[] = [];
  let sender: AlertSender | undefined;
  let app: FastifyInstance | undefined;
  try {
    const metrics = createCollectorMetrics({ ingest, hub, alerts, sender: undefined, answers, storageUp: () => storageUp.value });
    app = await buildCollectorApp({ storage, ingest, hub, alerts, ingestToken, readToken, log: o.log, answers, metrics: () => metrics, storageUp });
    const bound: string[] = [];
    for (const a of addresses) {
      const handler = (req: Parameters<FastifyInstance['routing']>[0], res: Parameters<FastifyInstance['routing']>[1]): void => (app as FastifyInstance).routing(req, res);
      const server = tls && a.kind !== 'unix' ? createHttpsServer({ cert: tls.cert, key: tls.key }, handler) : createServer(handler);
      server.requestTimeout = 30_000;
      server.headersTimeout = 10_000;
      server.on('clientError', answerClientError);
      await listen(server, a);
      servers.push(server);
      const where = server.address();
      bound.push(a.kind === 'unix' ? `unix:${a.path}` : formatListenAddress({ ...a, port: typeof where === 'object' && where ? where.port : a.port }));
    }
    const firstTcp = bound.find((b) => !b.startsWith('unix:'));
    sender = targets.length > 0 ? new AlertSender(targets, firstTcp ? `${tls ? 'https' : 'http'}://${firstTcp}` : 'http://127.0.0.1:7070', o.log) : undefined;
    const alertSender = sender;
    timers.push(
      setInterval(() => {
        const due = alerts.due(Date.now());
        if (due.length > 0 && alertSender) void alertSender.send(due);
      }, o.alertTickMs ?? 5000),
    );
    // Packets that left one node through the tunnel and never arrived at the next.
    timers.push(
      setInterval(() => {
        ingest.expireTransit().then(
          (r) => {
            const now = Date.now();
            for (const d of r.drops) {
              hub.publish(d.event);
              alerts.observe(d.event, r.added.get(d.event.id) ?? 0, now);
            }
          },
          (e: Error) => o.log(`cross-node stitching: transit losses could not be stored (${e.message})`),
        );
      }, o.stitchTickMs ?? 5000),
    );
    timers.push(
      setInterval(() => {
        storage.enforceRetention(Date.now()).catch((e: Error) => o.log(`retention: ${e.message}`));
      }, 3_600_000),
    );
    for (const t of timers) t.unref();
    const runningApp = app;
    return {
      addresses: bound,
      storage,
      app: runningApp,
      close: async () => {
        for (const t of timers) clearInterval(t);
        hub.close();
        await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
        for (const s of servers) s.closeAllConnections();
        // Batches accepted before the stop finish storing (bounded wait).
        const deadline = Date.now() + 10_000;
        while (ingest.queueLength > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        await runningApp.close();
        await storage.close();
      },
    };
  } catch (e) {
    for (const t of timers) clearInterval(t);
    hub.close();
    for (const s of servers) s.close();
    await app?.close();
    await storage.close();
    throw e;
  }
}

/**
 * The certificate and key, read once at start. A file that cannot be read, is not PEM, or a key that
 * does not belong to the certificate is a CollectorConfigError with one line (OpenSSL's reason).
 */
function readTlsFiles(certFile: string | undefined, keyFile: string | undefined): { cert: Buffer; key: Buffer } {
  if (certFile === undefined || keyFile === undefined) throw new CollectorConfigError('--tls-cert and --tls-key go together: give both or neither');
  const read = (file: string, flag: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new CollectorConfigError(`${flag} ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (code ?? (e as Error).message)}`);
    }
  };
  const cert = read(certFile, '--tls-cert');
  const key = read(keyFile, '--tls-key');
  if (!cert.includes('-----BEGIN CERTIFICATE-----')) throw new CollectorConfigError(`--tls-cert ${certFile}: not a PEM certificate`);
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key.toString('latin1'))) throw new CollectorConfigError(`--tls-key ${keyFile}: not a PEM private key`);
  try {
    // What https.createServer would do with them, now, so that a bad pair fails before anything is opened.
    createSecureContext({ cert, key });
  } catch (e) {
    const reason = ((e as Error).message.split('\n')[0] ?? '').replace(/^error:[0-9A-F]+:[^:]*:+/i, '');
    throw new CollectorConfigError(`--tls-cert ${certFile} / --tls-key ${keyFile}: ${/mismatch/i.test(reason) ? 'the key does not belong to the certificate' : `unusable (${reason})`}`);
  }
  return { cert, key };
}

function listen(server: Server | HttpsServer, a: ListenAddress): Promise<void> {
  if (a.kind === 'unix' && existsSync(a.path)) {
    // A socket left by a collector that died; anything else at that path is not ours to remove.
    if (!lstatSync(a.path).isSocket()) return Promise.reject(new CollectorConfigError(`--listen unix:${a.path}: the path exists and is not a socket`));
    unlinkSync(a.path);
  }
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new CollectorConfigError(`cannot listen on ${formatListenAddress(a)}: ${e.code === 'EADDRINUSE' ? 'address in use' : e.code === 'EACCES' ? 'permission denied' : e.message}`)));
    if (a.kind === 'unix') server.listen(a.path, () => resolve());
    else server.listen(a.port, a.host, () => resolve());
  });
}
