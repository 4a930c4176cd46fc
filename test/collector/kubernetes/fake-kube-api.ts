/**
 * A small stand-in for kube-apiserver, enough for list-then-watch clients: collections at their API
 * paths, a global resourceVersion that every change increments (as etcd's revision does), lists
 * shaped as the API returns them (kind XList, metadata.resourceVersion, items; `limit` and `continue`
 * paging over a snapshot), and watches as newline-delimited JSON events honouring
 * `?watch=true&resourceVersion=`: history after that version first, then live changes.
 *
 * Failure modes for tests: a collection can answer every request with a status (403, 404); its
 * history can be compacted, after which a watch from an older version gets 410 Gone, either as the
 * real server sends it (HTTP 200 and an ERROR event with a Status of code 410) or as an HTTP 410;
 * watches can be ended cleanly (as the server's timeoutSeconds does); the whole server can go away
 * (sockets destroyed) and come back on the same port.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface FakeObject {
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string; [key: string]: unknown };
  [key: string]: unknown;
}

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

interface HistoryEntry {
  readonly rv: number;
  readonly type: EventType;
  readonly object: FakeObject;
}

interface Collection {
  readonly listKind: string;
  readonly apiVersion: string;
  readonly objects: Map<string, FakeObject>;
  history: HistoryEntry[];
  /** Watches from a resourceVersion below this get 410. */
  compactedBefore: number;
  readonly watchers: Set<ServerResponse>;
  failure: { status: number; reason: string; message: string } | null;
}

export interface RequestRecord {
  readonly path: string;
  readonly watch: boolean;
  readonly query: Readonly<Record<string, string>>;
}

export const PODS = '/api/v1/pods';
export const NODES = '/api/v1/nodes';
export const BLOCKS = '/apis/crd.projectcalico.org/v1/ipamblocks';

function keyOf(o: FakeObject): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
}

function statusBody(code: number, reason: string, message: string): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

export class FakeKubeApi {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly collections = new Map<string, Collection>();
  private readonly snapshots = new Map<string, FakeObject[]>();
  private port = 0;
  private revision = 1000;
  /** How a too-old watch is answered. */
  goneAs: 'event' | 'http' = 'event';
  /** While true, watch requests get no answer at all (not even headers) until releaseHungWatches(). */
  hangWatches = false;
  private readonly hung: { c: Collection; query: Record<string, string>; res: ServerResponse }[] = [];
  readonly requests: RequestRecord[] = [];

  constructor() {
    this.collections.set(PODS, this.collection('PodList', 'v1'));
    this.collections.set(NODES, this.collection('NodeList', 'v1'));
    this.collections.set(BLOCKS, this.collection('IPAMBlockList', 'crd.projectcalico.org/v1'));
  }

  private collection(listKind: string, apiVersion: string): Collection {
    return { listKind, apiVersion, objects: new Map(), history: [], compactedBefore: 0, watchers: new Set(), failure: null };
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The current resourceVersion (the last change's). */
  get resourceVersion(): string {
    return String(this.revision);
  }

  /** Open client connections (sockets not yet closed). */
  get openConnections(): number {
    return this.sockets.size;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => this.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    this.port = address.port;
    this.server = server;
  }

  /** Goes away abruptly: listening stops and every connection is destroyed mid-stream. */
  async stop(): Promise<void> {
    const server = this.server;
    if (server === null) return;
    this.server = null;
    for (const c of this.collections.values()) c.watchers.clear();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Comes back on the same port, with the same state. */
  async restart(): Promise<void> {
    await this.start();
  }

  requestsTo(path: string, kind: 'list' | 'watch'): RequestRecord[] {
    return this.requests.filter((r) => r.path === path && r.watch === (kind === 'watch'));
  }

  /** Every request to `path` answers this status (a Status body), until cleared with null. */
  fail(path: string, failure: { status: number; reason: string; message: string } | null): void {
    this.coll(path).failure = failure;
  }

  add(path: string, object: FakeObject, notify = true): void {
    this.change(path, this.coll(path).objects.has(keyOf(object)) ? 'MODIFIED' : 'ADDED', object, notify);
  }

  remove(path: string, key: string, notify = true): void {
    const existing = this.coll(path).objects.get(key);
    if (existing === undefined) throw new Error(`no ${key} in ${path}`);
    this.change(path, 'DELETED', existing, notify);
  }

  /** A BOOKMARK event at the current resourceVersion, to live watchers. */
  bookmark(path: string): void {
    this.revision++;
    const object: FakeObject = { metadata: { name: '', resourceVersion: String(this.revision) } };
    this.send(this.coll(path), { rv: this.revision, type: 'BOOKMARK', object });
  }

  /** Forgets the history: watches from any version before now get 410. */
  compact(path: string): void {
    const c = this.coll(path);
    c.history = [];
    c.compactedBefore = this.revision;
  }

  /** Ends live watches cleanly (as the server does at timeoutSeconds). */
  closeWatches(path?: string): void {
    for (const [p, c] of this.collections) {
      if (path !== undefined && p !== path) continue;
      for (const res of c.watchers) res.end();
      c.watchers.clear();
    }
  }

  /** Answers the watch requests held while hangWatches was set, as if the server had been slow. */
  releaseHungWatches(): void {
    for (const { c, query, res } of this.hung.splice(0)) if (!res.destroyed) this.watch(c, query, res);
  }

  private coll(path: string): Collection {
    const c = this.collections.get(path);
    if (c === undefined) throw new Error(`unknown collection ${path}`);
    return c;
  }

  private change(path: string, type: EventType, object: FakeObject, notify: boolean): void {
    const c = this.coll(path);
    this.revision++;
    const stored: FakeObject = structuredClone(object);
    stored.metadata.resourceVersion = String(this.revision);
    if (type === 'DELETED') c.objects.delete(keyOf(stored));
    else c.objects.set(keyOf(stored), stored);
    const entry: HistoryEntry = { rv: this.revision, type, object: stored };
    c.history.push(entry);
    // Not notifying records the change in history only: a watch resumed later still gets it (or a 410
    // once compacted), as with changes made while a client was disconnected.
    if (notify) this.send(c, entry);
  }

  private send(c: Collection, entry: HistoryEntry): void {
    const line = `${JSON.stringify({ type: entry.type, object: entry.object })}\n`;
    for (const res of c.watchers) res.write(line);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const query = Object.fromEntries(url.searchParams);
    const watch = query['watch'] === 'true';
    this.requests.push({ path: url.pathname, watch, query });
    const c = this.collections.get(url.pathname);
    if (c === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(statusBody(404, 'NotFound', 'the server could not find the requested resource'));
      return;
    }
    if (c.failure !== null) {
      res.writeHead(c.failure.status, { 'content-type': 'application/json' }).end(statusBody(c.failure.status, c.failure.reason, c.failure.message));
      return;
    }
    if (watch && this.hangWatches) this.hung.push({ c, query, res });
    else if (watch) this.watch(c, query, res);
    else this.list(c, query, res);
  }

  private list(c: Collection, query: Record<string, string>, res: ServerResponse): void {
    let snapshotId = query['continue'];
    let offset = 0;
    let items: FakeObject[];
    if (snapshotId !== undefined) {
      const [id, at] = snapshotId.split(':') as [string, string];
      const snapshot = this.snapshots.get(id);
      if (snapshot === undefined) {
        res.writeHead(410, { 'content-type': 'application/json' }).end(statusBody(410, 'Expired', 'the continue token expired'));
        return;
      }
      snapshotId = id;
      offset = Number(at);
      items = snapshot;
    } else {
      items = [...c.objects.values()].sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
      snapshotId = `${this.revision}-${this.snapshots.size}`;
      this.snapshots.set(snapshotId, items);
    }
    const limit = query['limit'] !== undefined ? Number(query['limit']) : Infinity;
    const page = items.slice(offset, offset + limit);
    const more = offset + page.length < items.length;
    const [rv] = snapshotId.split('-') as [string];
    const body = {
      kind: c.listKind,
      apiVersion: c.apiVersion,
      metadata: { resourceVersion: rv, ...(more ? { continue: `${snapshotId}:${offset + page.length}` } : {}) },
      items: page,
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  private watch(c: Collection, query: Record<string, string>, res: ServerResponse): void {
    const from = query['resourceVersion'] ?? '';
    if (from !== '' && from !== '0' && Number(from) < c.compactedBefore) {
      const message = `too old resource version: ${from} (${c.compactedBefore})`;
      if (this.goneAs === 'http') {
        res.writeHead(410, { 'content-type': 'application/json' }).end(statusBody(410, 'Gone', message));
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(`${JSON.stringify({ type: 'ERROR', object: JSON.parse(statusBody(410, 'Expired', message)) })}\n`);
      }
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    if (from === '' || from === '0') {
      for (const object of c.objects.values()) res.write(`${JSON.stringify({ type: 'ADDED', object })}\n`);
    } else {
      for (const entry of c.history) if (entry.rv > Number(from)) res.write(`${JSON.stringify({ type: entry.type, object: entry.object })}\n`);
    }
    c.watchers.add(res);
    res.on('close', () => c.watchers.delete(res));
  }
}
