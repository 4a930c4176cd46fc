/**
 * The collector's HTTP API on fastify: ingest for agents, queries, server-sent events, the pcapng
 * export, metrics and health. Every listener serves the same routes. Tokens are checked before a
 * body is read (401 whatever the body); every error is JSON `{"error": "..."}` with one line, and a
 * user's mistake is always a 4xx.
 */
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { decodeBatch, WireDecodeError } from '../../schemas/wire-codec.js';
import type { AlertRules } from '../alert/alert-rules.js';
import { BatchIngest, checkBatch, IngestOverloadedError } from '../ingest/batch-ingest.js';
import { WireContentError } from '../ingest/from-wire.js';
import { StorageUnavailableError, type Storage, type StoredDrop } from '../store/storage.js';
import type { BearerToken } from './bearer-token.js';
import { MAX_EVENT_STREAMS, type DropEventHub } from './drop-event-hub.js';
import { writePcapng } from './pcapng-writer.js';
import { parseDropId, parseDropQuery, parseFlowQuery, QueryParamError } from './query-params.js';
import { cookieAuthorizations, tokenLogin } from './ui-token-cookie.js';
import { isUiPage, registerUiRoutes } from './ui-routes.js';

const gunzipAsync = promisify(gunzip);

export interface CollectorAppOptions {
  readonly storage: Storage;
  readonly ingest: BatchIngest;
  readonly hub: DropEventHub;
  readonly alerts: AlertRules;
  readonly ingestToken: BearerToken | undefined;
  readonly readToken: BearerToken | undefined;
  /** Decompressed body limit for ingest (default 16 MiB): 413 past it. */
  readonly maxBodyBytes?: number;
  /** How long an ingest request waits for storage before answering 503 (default 10 s). */
  readonly storeTimeoutMs?: number;
  readonly log: (line: string) => void;
  /** Set by the app: ingest answers by status, for metrics. */
  readonly answers: Record<string, number>;
  readonly metrics: () => Registry;
  readonly storageUp: { value: boolean };
}

const DEFAULT_MAX_BODY = 16 * 1024 * 1024;
/** Packets of one drop event in an export. */
const EXPORT_PACKET_LIMIT = 10_000;

class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 300);
}

export async function buildCollectorApp(o: CollectorAppOptions): Promise<FastifyInstance> {
  const maxBody = o.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const app = Fastify({
    logger: false,
    // Raw (maybe compressed) bodies may not exceed the decompressed limit either.
    bodyLimit: maxBody,
    // Hostile clients: no slow-loris, no huge URLs.
    connectionTimeout: 0,
    requestTimeout: 30_000,
    routerOptions: { maxParamLength: 200 },
    return503OnClosing: true,
    // Fastify's own answers for these echo the whole path back; ours are one short line.
    frameworkErrors: (err, _req, reply: FastifyReply) => {
      const tooLong = err.code === 'FST_ERR_MAX_PARAM_LENGTH';
      void reply
        .code(tooLong ? 414 : 400)
        .type('application/json')
        .send({ error: tooLong ? 'a path segment is longer than 200 characters' : 'the path is not valid URL encoding' });
    },
  });

  app.addContentTypeParser('application/x-protobuf', { parseAs: 'buffer', bodyLimit: maxBody }, (_req, body, done) => done(null, body));

  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    if (path === '/healthz') return;
    const token = path === '/api/v1/ingest' ? o.ingestToken : o.readToken;
    if (token && !token.accepts(req.headers.authorization)) {
      // The UI in a browser: `/?token=` once sets the read token as a cookie, which then stands for
      // the header on reads (GET/HEAD) only; never for ingest.
      if (token === o.readToken && (req.method === 'GET' || req.method === 'HEAD')) {
        const login = tokenLogin(req.url, token, req.protocol === 'https');
        if (login) return reply.code(303).headers({ 'set-cookie': login.setCookie, location: login.location, 'cache-control': 'no-store' }).send();
        if (cookieAuthorizations(req.headers.cookie).some((a) => token.accepts(a))) return;
      }
      reply.header('www-authenticate', 'Bearer');
      throw new HttpError(401, isUiPage(path) ? 'missing or wrong bearer token (in a browser, open /?token=TOKEN once)' : 'missing or wrong bearer token');
    }
  });

  app.setErrorHandler((err: Error & { statusCode?: number; headers?: Record<string, string> }, req: FastifyRequest, reply: FastifyReply) => {
    let status = err.statusCode ?? 500;
    let message = err.message;
    if (err instanceof QueryParamError || err instanceof WireContentError || err instanceof WireDecodeError) status = 400;
    if (err instanceof StorageUnavailableError) {
      status = 503;
      reply.header('retry-after', '5');
    }
    if (status >= 500 && status !== 503) {
      o.log(`${req.method} ${req.url.slice(0, 200)}: ${oneLine(err.stack ?? err.message)}`);
      message = 'internal error';
    }
    if (err instanceof HttpError) for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
    if (req.url.startsWith('/api/v1/ingest')) o.answers[String(status)] = (o.answers[String(status)] ?? 0) + 1;
    void reply.code(status).type('application/json').send({ error: oneLine(message) });
  });

  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).type('application/json').send({ error: `no route ${req.method} ${req.url.split('?')[0]?.slice(0, 100)}` });
  });

  /** Runs a storage call, keeping the up/down state and turning failures into 503. */
  const stored = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      const r = await run();
      o.storageUp.value = true;
      return r;
    } catch (e) {
      o.storageUp.value = false;
      if (e instanceof StorageUnavailableError) throw e;
      throw new StorageUnavailableError(`storage failed: ${oneLine((e as Error).message)}`);
    }
  };

  app.get('/healthz', async () => ({ status: 'ok', storage: { ...o.storage.info, up: o.storageUp.value } }));

  app.post('/api/v1/ingest', async (req, reply) => {
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim();
    if (type !== 'application/x-protobuf') throw new HttpError(415, 'Content-Type must be application/x-protobuf');
    // A full queue refuses before the body is decompressed and decoded: that work would be thrown away.
    if (o.ingest.full) {
      o.ingest.stats.refusedOverloaded++;
      throw new HttpError(429, `${o.ingest.queueLength} batches are waiting for storage`, { 'retry-after': '2' });
    }
    let body = req.body as Buffer;
    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (encoding === 'gzip') {
      try {
        body = await gunzipAsync(body, { maxOutputLength: maxBody });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new HttpError(413, `decompressed body exceeds ${maxBody} bytes`);
        throw new HttpError(400, `body is not valid gzip: ${oneLine((e as Error).message)}`);
      }
    } else if (encoding !== 'identity') {
      throw new HttpError(415, `Content-Encoding ${encoding.slice(0, 40)} is not supported (gzip or none)`);
    }
    const decoded = decodeBatch(body);
    const checked = checkBatch(decoded, decoded.source === 'replay' ? 'replay' : 'live', Date.now());
    const timeoutMs = o.storeTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StorageUnavailableError(`storage did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      let result;
      try {
        result = await Promise.race([o.ingest.submit(checked), timeout]);
      } catch (e) {
        if (e instanceof IngestOverloadedError) throw new HttpError(429, oneLine(e.message), { 'retry-after': '2' });
        if (e instanceof WireContentError) throw e;
        o.storageUp.value = false;
        throw e instanceof StorageUnavailableError ? e : new StorageUnavailableError(`storage failed: ${oneLine((e as Error).message)}`);
      }
      o.storageUp.value = true;
      const now = Date.now();
      for (const d of result.drops) {
        o.hub.publish(d.event);
        o.alerts.observe(d.event, result.added.get(d.event.id) ?? 0, now);
      }
      o.answers['200'] = (o.answers['200'] ?? 0) + 1;
      return reply.code(200).send({ outcome: result.outcome });
    } finally {
      clearTimeout(timer);
    }
  });

  app.get('/api/v1/drops', async (req) => {
    const filter = parseDropQuery(req.query as Record<string, unknown>);
    const drops = await stored(() => o.storage.queryDrops(filter));
    return { drops: drops.map((d) => d.event) };
  });

  app.get('/api/v1/drops/:id', async (req) => {
    const drop = await findDrop((req.params as { id: string }).id);
    return { drop: drop.event, path: drop.path, source: drop.source };
  });

  app.get('/api/v1/paths/:id', async (req) => {
    const drop = await findDrop((req.params as { id: string }).id);
    return { id: drop.event.id, node: drop.event.node, iface: drop.event.iface, verdict: drop.event.verdict, hops: drop.path };
  });

  app.get('/api/v1/flows', async (req) => {
    const filter = parseFlowQuery(req.query as Record<string, unknown>);
    const flows = await stored(() => o.storage.queryFlows(filter));
    return { flows };
  });

  app.get('/api/v1/nodes', async () => {
    const agents = await stored(() => o.storage.agents());
    return {
      storage: { ...o.storage.info, up: o.storageUp.value },
      nodes: agents.map((a) => ({ node: a.node, agentId: a.agentId, bootId: a.bootId, lastBatch: new Date(a.lastBatchMs).toISOString(), ...(JSON.parse(a.statusJson) as object) })),
    };
  });

  app.get('/api/v1/events', (_req, reply) => {
    if (o.hub.full) {
      // Streams are long-lived: without a bound, a client could hold sockets and memory at will.
      throw new HttpError(503, `too many event streams open (${MAX_EVENT_STREAMS}); try again later`, { 'retry-after': '30' });
    }
    reply.hijack();
    o.hub.attach(reply.raw);
  });

  app.get('/api/v1/export.pcapng', async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    for (const name of Object.keys(q)) if (name !== 'id') throw new QueryParamError(`unknown parameter ${name.slice(0, 64)} (export.pcapng takes id=DROP_ID)`);
    if (typeof q['id'] !== 'string') throw new QueryParamError('id=DROP_ID is required, once');
    const drop = await findDrop(q['id']);
    const packets = await stored(() => o.storage.packetsOf(drop.event.id, EXPORT_PACKET_LIMIT));
    const e = drop.event;
    const comment = `pathwatch ${e.id}: ${e.verdict} (${e.confidence}) at ${e.node}/${e.iface}; ${e.evidence.map((x) => x.detail).join('; ')}`;
    const file = writePcapng(packets.map((p) => ({ ...p, comment })));
    return reply
      .code(200)
      .type('application/x-pcapng')
      .header('content-disposition', `attachment; filename="pathwatch-${e.id}.pcapng"`)
      .send(Buffer.from(file.buffer, file.byteOffset, file.byteLength));
  });

  app.get('/metrics', async (_req, reply) => {
    const registry = o.metrics();
    return reply.code(200).type(registry.contentType).send(await registry.metrics());
  });

  registerUiRoutes(app);

  async function findDrop(idText: string): Promise<StoredDrop> {
    const id = parseDropId(idText);
    const drop = await stored(() => o.storage.getDrop(id));
    if (!drop) throw new HttpError(404, `no drop event ${id}`);
    return drop;
  }

  await app.ready();
  return app;
}
