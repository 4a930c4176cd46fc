import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCollectorUrl, parseCollectorUrls, rendezvousPick, type CollectorTarget } from '../../../agent/ship/collector-target.js';
import { BatchShipper, classifyStatus, type ShipperOptions } from '../../../agent/ship/shipper.js';
import { backoffDelayMs, parseRetryAfter, DEFAULT_BACKOFF } from '../../../agent/ship/backoff.js';

interface Received {
  readonly body: string;
  readonly auth: string | undefined;
  readonly contentType: string | undefined;
  readonly at: number;
}

interface Answer {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly delayMs?: number;
}

/** A stand-in collector: records what it is sent; answers from a script, then 200. */
interface Collector {
  readonly received: Received[];
  readonly requests: Received[];
  script: Answer[];
  requiredToken: string | undefined;
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pathwatch-ship-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function startCollector(listen: { port?: number; path?: string } = {}): Promise<Collector> {
  const app: FastifyInstance = Fastify({ logger: false, forceCloseConnections: true });
  const state = { received: [] as Received[], requests: [] as Received[], script: [] as Answer[], requiredToken: undefined as string | undefined };
  app.addContentTypeParser('application/x-protobuf', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.post('/api/v1/ingest', async (request, reply) => {
    const entry: Received = {
      body: Buffer.isBuffer(request.body) ? request.body.toString() : '',
      auth: request.headers.authorization,
      contentType: request.headers['content-type'],
      at: Date.now(),
    };
    state.requests.push(entry);
    const answer = state.script.shift();
    if (answer?.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
    if (state.requiredToken !== undefined && entry.auth !== `Bearer ${state.requiredToken}`) {
      return reply.code(401).send({ error: 'bad token' });
    }
    if (answer !== undefined && answer.status !== 200) {
      return reply.code(answer.status).headers(answer.headers ?? {}).send({ error: `scripted ${answer.status}` });
    }
    state.received.push(entry);
    return reply.code(200).send({ ok: true });
  });
  let url: string;
  let port = 0;
  if (listen.path !== undefined) {
    await app.listen({ path: listen.path });
    url = `unix:${listen.path}`;
  } else {
    await app.listen({ host: '127.0.0.1', port: listen.port ?? 0 });
    const address = app.server.address();
    port = typeof address === 'object' && address !== null ? address.port : 0;
    url = `http://127.0.0.1:${port}`;
  }
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await app.close();
  };
  cleanups.push(close);
  return Object.assign(state, { url, port, close });
}

/** A port nothing listens on (for now). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

function shipper(options: Partial<ShipperOptions> & Pick<ShipperOptions, 'targets'>, logs: string[] = []): BatchShipper {
  const s = new BatchShipper({
    spoolDir: options.spoolDir ?? tempDir(),
    spoolMaxBytes: 1_000_000,
    timeoutMs: 2000,
    backoff: { baseMs: 20, maxMs: 100 },
    log: (line) => logs.push(line),
    ...options,
  });
  cleanups.push(() => s.stop());
  return s;
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const batch = (seq: number): Buffer => Buffer.from(`batch-${seq}`);
const bodies = (c: Collector): string[] => c.received.map((r) => r.body);
const range = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, i) => `batch-${from + i}`);

function tokenFile(token: string): string {
  const path = join(tempDir(), 'token');
  writeFileSync(path, `${token}\n`);
  return path;
}

describe('BatchShipper delivery', () => {
  it('posts protobuf batches in order with the bearer token, and empties the spool', async () => {
    const collector = await startCollector();
    const spoolDir = tempDir();
    const s = shipper({ targets: [collector.url], tokenFile: tokenFile('secret-1'), spoolDir });
    s.start();
    for (let seq = 1; seq <= 3; seq++) s.enqueue(batch(seq), { sequence: seq });
    await waitFor('3 batches', () => collector.received.length === 3);
    expect(bodies(collector)).toEqual(range(1, 3));
    expect(collector.received.every((r) => r.auth === 'Bearer secret-1' && r.contentType === 'application/x-protobuf')).toBe(true);
    await waitFor('spool empty', () => s.stats.spooledBatches === 0);
    expect(s.stats).toMatchObject({ sent: 3, retried: 0, droppedBadRequest: 0, lostBatches: 0, lastError: undefined });
    // The collector's spool directory, beside the spool directory's lock file.
    const [laneDir] = readdirSync(spoolDir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    expect(readdirSync(join(spoolDir, laneDir as string))).toEqual([]);
  });

  it('posts over a unix socket', async () => {
    const collector = await startCollector({ path: join(tempDir(), 'collector.sock') });
    const s = shipper({ targets: [collector.url], tokenFile: tokenFile('unix-token') });
    s.start();
    s.enqueue(batch(1), { sequence: 1 });
    await waitFor('the batch', () => collector.received.length === 1);
    expect(collector.received[0]?.auth).toBe('Bearer unix-token');
    expect(s.stats.targets[0]?.label).toBe(collector.url);
  });

  it('stop({flushMs}) delivers what is queued before it resolves', async () => {
    const collector = await startCollector();
    const s = shipper({ targets: [collector.url] });
    s.start();
    for (let seq = 1; seq <= 20; seq++) s.enqueue(batch(seq), { sequence: seq });
    await s.stop({ flushMs: 3000 });
    expect(bodies(collector)).toEqual(range(1, 20));
    expect(s.stats.targets[0]?.state).toBe('stopped');
  });

  it('retries after a 500 and counts the retry', async () => {
    const collector = await startCollector();
    collector.script = [{ status: 500 }];
    const s = shipper({ targets: [collector.url] });
    s.start();
    s.enqueue(batch(1), { sequence: 1 });
    await waitFor('the batch', () => collector.received.length === 1 && s.stats.sent === 1);
    expect(collector.requests).toHaveLength(2);
    expect(s.stats).toMatchObject({ sent: 1, retried: 1 });
  });

  it('waits as long as Retry-After says after a 429', async () => {
    const collector = await startCollector();
    collector.script = [{ status: 429, headers: { 'retry-after': '1' } }];
    const s = shipper({ targets: [collector.url] });
    s.start();
    s.enqueue(batch(1), { sequence: 1 });
    await waitFor('the batch', () => collector.received.length === 1, 4000);
    const [first, second] = collector.requests;
    const waited = (second?.at ?? 0) - (first?.at ?? 0);
    expect(waited).toBeGreaterThanOrEqual(950);
    expect(waited).toBeLessThan(2500);
    expect(s.stats.retried).toBe(1);
  });

  it('drops a batch answered 400 without retrying, counts it and logs it once', async () => {
    const collector = await startCollector();
    collector.script = [{ status: 400 }];
    const logs: string[] = [];
    const s = shipper({ targets: [collector.url] }, logs);
    s.start();
    s.enqueue(batch(1), { sequence: 1 });
    s.enqueue(batch(2), { sequence: 2 });
    await waitFor('batch 2', () => collector.received.length === 1 && s.stats.sent === 1);
    await new Promise((resolve) => setTimeout(resolve, 150)); // room for a wrong retry to show up
    expect(collector.requests.map((r) => r.body)).toEqual(['batch-1', 'batch-2']);
    expect(s.stats).toMatchObject({ sent: 1, droppedBadRequest: 1, retried: 0, spooledBatches: 0 });
    expect(logs.filter((l) => l.includes('rejected batch 1'))).toHaveLength(1);
    expect(s.stats.lastError).toMatch(/batch 1 rejected: 400/);
  });

  it('times out a collector that does not answer and sends the batch again (at least once)', async () => {
    const collector = await startCollector();
    collector.script = [{ status: 200, delayMs: 600 }];
    const s = shipper({ targets: [collector.url], timeoutMs: 200 });
    s.start();
    s.enqueue(batch(1), { sequence: 1 });
    await waitFor('both copies', () => collector.received.length === 2, 4000);
    expect(bodies(collector)).toEqual(['batch-1', 'batch-1']);
    expect(s.stats.retried).toBeGreaterThanOrEqual(1);
    expect(s.stats.targets[0]?.lastError).toMatch(/no answer within 200 ms/);
  });
});

describe('BatchShipper outages, restarts and limits', () => {
  it('spools while the collector is down and delivers everything exactly once, in order, when it is back', async () => {
    const up = await startCollector();
    const logs: string[] = [];
    const s = shipper({ targets: [up.url] }, logs);
    s.start();
    for (let seq = 1; seq <= 3; seq++) s.enqueue(batch(seq), { sequence: seq });
    await waitFor('first batches', () => up.received.length === 3);
    await up.close();

    for (let seq = 4; seq <= 10; seq++) s.enqueue(batch(seq), { sequence: seq });
    await waitFor('retries against the closed port', () => s.stats.retried >= 3);
    expect(s.stats.spooledBatches).toBe(7);
    await waitFor('backoff state', () => s.stats.targets[0]?.state === 'backoff');
    expect(s.stats.lastError).toMatch(/unreachable \(connect ECONNREFUSED/);

    const back = await startCollector({ port: up.port });
    for (let seq = 11; seq <= 12; seq++) s.enqueue(batch(seq), { sequence: seq });
    await waitFor('all batches', () => back.received.length >= 9 && s.stats.sent === 12);
    await new Promise((resolve) => setTimeout(resolve, 100)); // room for a duplicate to show up
    expect([...bodies(up), ...bodies(back)]).toEqual(range(1, 12));
    expect(s.stats).toMatchObject({ sent: 12, spooledBatches: 0, lostBatches: 0 });
    // One line for the outage, one for the recovery.
    expect(logs.filter((l) => l.includes('unreachable'))).toHaveLength(1);
    expect(logs.filter((l) => l.includes('delivering again'))).toHaveLength(1);
  });

  it('a new shipper on an existing spool directory delivers what the last one left', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const spoolDir = tempDir();
    const first = shipper({ targets: [url], spoolDir });
    first.start();
    for (let seq = 500; seq < 505; seq++) first.enqueue(batch(seq), { sequence: seq });
    await waitFor('a failed attempt', () => first.stats.retried >= 1);
    await first.stop({ flushMs: 100 }); // nothing to flush to: returns with the batches spooled
    expect(first.stats.spooledBatches).toBe(5);

    const collector = await startCollector({ port });
    const logs: string[] = [];
    const second = shipper({ targets: [url], spoolDir }, logs);
    expect(second.stats.spooledBatches).toBe(5);
    expect(logs[0]).toMatch(/5 batch\(es\) .* left in the spool by an earlier run/);
    second.start();
    second.enqueue(batch(0), { sequence: 0 }); // new boot: sequence starts over, still delivered last
    await waitFor('spooled batches', () => collector.received.length === 6);
    expect(bodies(collector)).toEqual([...range(500, 504), 'batch-0']);
  });

  it('drops the oldest batches when the spool is full, and keeps the running total of the loss', async () => {
    const port = await freePort();
    const logs: string[] = [];
    const s = shipper({ targets: [`http://127.0.0.1:${port}`], spoolMaxBytes: 450 }, logs);
    s.start();
    const hundred = (seq: number): Buffer => Buffer.concat([batch(seq), Buffer.alloc(100 - batch(seq).length, 0x2e)]);
    for (let seq = 1; seq <= 10; seq++) s.enqueue(hundred(seq), { sequence: seq });
    expect(s.stats).toMatchObject({ spooledBatches: 4, spooledBytes: 400, lostBatches: 6, lostBytes: 600 });
    expect(s.lossSoFar()).toEqual({ batches: 6, bytes: 600 });
    expect(s.lossSoFar()).toEqual({ batches: 6, bytes: 600 });
    expect(logs.filter((l) => l.includes('full'))).toHaveLength(1);

    const collector = await startCollector({ port });
    await waitFor('the newest batches', () => collector.received.length === 4);
    expect(bodies(collector).map((b) => b.replace(/\.+$/, ''))).toEqual(range(7, 10));
  });

  it('keeps batches spooled on 401, rereads a rotated token file and then delivers', async () => {
    const collector = await startCollector();
    collector.requiredToken = 'new-token';
    const file = tokenFile('old-token');
    const logs: string[] = [];
    const s = shipper({ targets: [collector.url], tokenFile: file, configRetryMs: 100 }, logs);
    s.start();
    s.enqueue(batch(1), { sequence: 1 });
    await waitFor('an auth failure', () => s.stats.targets[0]?.state === 'auth-failed');
    expect(s.stats.authFailures).toBeGreaterThanOrEqual(1);
    expect(s.stats.spooledBatches).toBe(1);
    expect(logs.filter((l) => l.includes('401'))).toHaveLength(1);
    writeFileSync(file, 'new-token\n');
    await waitFor('delivery with the new token', () => collector.received.length === 1, 3000);
    expect(collector.received[0]?.auth).toBe('Bearer new-token');
  });

  it('says when a spool belongs to a collector no longer configured', async () => {
    const spoolDir = tempDir();
    const before = shipper({ targets: ['http://10.1.1.1:7000'], spoolDir });
    before.enqueue(batch(1), { sequence: 1 });
    await before.stop(); // releases the spool directory for the next agent
    const logs: string[] = [];
    shipper({ targets: ['http://10.1.1.2:7000'], spoolDir }, logs);
    expect(logs).toEqual([expect.stringMatching(/holds 1 batch\(es\) for a collector no longer configured/)]);
  });

  it('stops within flushMs when the collector is down, leaving the batches spooled', async () => {
    const port = await freePort();
    const s = shipper({ targets: [`http://127.0.0.1:${port}`] });
    s.start();
    s.enqueue(batch(1), { sequence: 1 });
    const began = Date.now();
    await s.stop({ flushMs: 300 });
    expect(Date.now() - began).toBeLessThan(1000);
    expect(s.stats.spooledBatches).toBe(1);
    s.enqueue(batch(2), { sequence: 2 }); // after stop: spooled only
    expect(s.stats.spooledBatches).toBe(2);
  });
});

describe('several collectors', () => {
  const targets = parseCollectorUrls(['http://10.0.0.1:7000', 'http://10.0.0.2:7000', 'unix:/run/pathwatch/c.sock']);

  it('rendezvous picks the same collector for a key, whatever the list order', () => {
    const reversed = [...targets].reverse();
    for (let i = 0; i < 200; i++) {
      const key = `fp-${i}`;
      expect(rendezvousPick(targets, key)).toBe(rendezvousPick(targets, key));
      expect(rendezvousPick(reversed, key).label).toBe(rendezvousPick(targets, key).label);
    }
  });

  it('rendezvous spreads keys over 3 collectors and moves only the keys of a removed one', () => {
    const count = new Map<string, number>();
    const before = new Map<string, CollectorTarget>();
    for (let i = 0; i < 900; i++) {
      const pick = rendezvousPick(targets, `group-${i}`);
      before.set(`group-${i}`, pick);
      count.set(pick.label, (count.get(pick.label) ?? 0) + 1);
    }
    for (const target of targets) expect(count.get(target.label) ?? 0).toBeGreaterThan(200);
    const remaining = targets.slice(1);
    for (const [key, pick] of before) {
      if (pick !== targets[0]) expect(rendezvousPick(remaining, key)).toBe(pick);
    }
  });

  it('routes keyed batches to their collector; one collector down does not hold up the others', async () => {
    const collectors = [await startCollector(), await startCollector(), await startCollector()];
    const s = shipper({ targets: collectors.map((c) => c.url) });
    s.start();
    const down = collectors[1] as Collector;
    await down.close();
    const expected = new Map<string, string[]>(collectors.map((c) => [c.url, []]));
    for (let seq = 1; seq <= 30; seq++) {
      const key = `fingerprint-${seq}`;
      s.enqueue(batch(seq), { sequence: seq, routingKey: key });
      expected.get(rendezvousPick(s.targets, key).label)?.push(`batch-${seq}`);
    }
    for (const [url, list] of expected) expect(list.length, url).toBeGreaterThan(0);
    const upOnes = [collectors[0], collectors[2]] as Collector[];
    await waitFor('the two live collectors', () => upOnes.every((c) => c.received.length === expected.get(c.url)?.length));
    for (const c of upOnes) expect(bodies(c)).toEqual(expected.get(c.url));
    expect(s.stats.targets[1]?.spooledBatches).toBe(expected.get(down.url)?.length);

    // Unkeyed batches go to collectors that are delivering.
    await waitFor('the down collector noticed', () => (s.stats.targets[1]?.retried ?? 0) > 0);
    for (let seq = 31; seq <= 36; seq++) s.enqueue(batch(seq), { sequence: seq });
    await waitFor('unkeyed batches', () => upOnes.reduce((n, c) => n + c.received.length, 0) === 30 - (expected.get(down.url)?.length ?? 0) + 6);

    const back = await startCollector({ port: down.port });
    await waitFor('the collector that was down', () => back.received.length === expected.get(down.url)?.length);
    expect(bodies(back)).toEqual(expected.get(down.url));
  });
});

describe('configuration errors are one line', () => {
  it('rejects bad collector URLs', () => {
    const bad: [string, RegExp][] = [
      ['', /empty/],
      ['localhost:8080', /missing scheme/],
      ['ftp://collector:21', /unsupported scheme "ftp:"/],
      ['http://collector:99999', /port 99999 is out of range/],
      ['http://collector:0', /out of range/],
      ['http://user:pw@collector:8080', /credentials/],
      ['http://collector:8080/api/v1/ingest', /unexpected path/],
      ['http://collector:8080/?x=1', /query or fragment/],
      ['http://:8080', /not a valid URL|missing host/],
      ['unix:', /missing socket path/],
      ['unix:relative/c.sock', /must be absolute/],
      ['unix://host/c.sock', /must be absolute/],
      ['unix:/run/dir/', /directory/],
      [`unix:/${'x'.repeat(120)}`, /longer than 107 bytes/],
      ['http://collector\n:8080', /whitespace/],
    ];
    for (const [url, reason] of bad) {
      let message = '';
      try {
        parseCollectorUrl(url);
      } catch (err) {
        message = err instanceof Error ? err.message : String(err);
      }
      expect(message, url).toMatch(/^bad collector URL ".*": /);
      expect(message, url).toMatch(reason);
      expect(message, url).not.toContain('\n');
    }
    expect(() => parseCollectorUrls(['http://a:1', 'http://A:1/'])).toThrow(/listed twice/);
    expect(() => parseCollectorUrls([])).toThrow(/no collector URL/);
  });

  it('accepts the three kinds of URL', () => {
    expect(parseCollectorUrl('http://collector:8080')).toEqual({ kind: 'tcp', host: 'collector', port: 8080, socketPath: undefined, tls: false, label: 'http://collector:8080' });
    expect(parseCollectorUrl('https://[::1]')).toMatchObject({ host: '::1', port: 443, tls: true, label: 'https://[::1]:443' });
    expect(parseCollectorUrl('unix:///run/pathwatch/c.sock')).toMatchObject({ kind: 'unix', socketPath: '/run/pathwatch/c.sock', label: 'unix:/run/pathwatch/c.sock' });
  });

  it('a missing token file or a bad URL stops the shipper at construction', () => {
    const spoolDir = tempDir();
    expect(() => new BatchShipper({ targets: ['http://127.0.0.1:1'], tokenFile: join(spoolDir, 'nope'), spoolDir, spoolMaxBytes: 1000, timeoutMs: 1000 })).toThrow(
      /^token file .*nope does not exist$/,
    );
    expect(() => new BatchShipper({ targets: ['htp://x'], spoolDir, spoolMaxBytes: 1000, timeoutMs: 1000 })).toThrow(/unsupported scheme "htp:"/);
  });
});

describe('retry policy', () => {
  it('classifies answers', () => {
    expect([200, 204, 400, 401, 403, 404, 408, 413, 429, 500, 503].map(classifyStatus)).toEqual([
      'delivered', 'delivered', 'rejected', 'auth', 'auth', 'config', 'retry', 'rejected', 'retry', 'retry', 'retry',
    ]);
  });

  it('backs off exponentially with full jitter up to 30 s and parses Retry-After', () => {
    const top = { ...DEFAULT_BACKOFF, random: () => 0.999999 };
    expect(backoffDelayMs(0, top)).toBe(199);
    expect(backoffDelayMs(3, top)).toBe(1599);
    expect(backoffDelayMs(50, top)).toBe(29_999);
    expect(backoffDelayMs(5, { ...DEFAULT_BACKOFF, random: () => 0 })).toBe(0);
    const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
    expect(parseRetryAfter('1', now)).toBe(1000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('1.5', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});
