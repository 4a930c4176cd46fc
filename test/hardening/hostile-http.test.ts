/**
 * Hostile HTTP against a running collector (startCollector, embedded store in a temporary
 * directory, port 0, both tokens): missing and wrong tokens, garbage bodies, decompression bombs,
 * oversized bodies, batches with thousands of records, very long strings, hostile query strings
 * (SQL fragments in every parameter, bad addresses, absurd time ranges and limits, repeated
 * parameters, unicode, path traversal). Every answer must come quickly and be a 4xx with a one-line
 * JSON error (or a 200 for what is valid after all), never a 5xx or a hang; and afterwards the
 * collector still answers /healthz and a normal query.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGzip, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBatch } from '../../schemas/wire-codec.js';
import { WireDirection, type WireFlowRecord } from '../../schemas/wire-types.js';
import { startCollector, type RunningCollector } from '../../collector/collector-runner.js';
import { startCollectorWithTokens } from '../support/token-collector.js';
import type { DropEvent } from '../../core/explain/drop-event.js';
import { T0, batch, encoded, hop, rpfVanished } from '../support/wire-batches.js';

const INGEST_TOKEN = 'hostile-ingest-token-0123456789';
const READ_TOKEN = 'hostile-read-token-0123456789';
/** A refusal must come at once; even a big valid batch is stored well within this. */
const ANSWER_MS = 15_000;

let dir: string;
let collector: RunningCollector;
let base: string;
let host: string;
let port: number;
/** Lines the collector logged (a 5xx is logged with its stack). */
const logged: string[] = [];
/** Every request made and what it got, for the failure message. */
const seen: string[] = [];

interface Answer {
  status: number;
  text: string;
  ms: number;
  headers: Headers;
}

/** path: on this collector, or a full URL. */
async function send(path: string, init: RequestInit = {}): Promise<Answer> {
  const t0 = Date.now();
  const res = await fetch(path.startsWith('http') ? path : `${base}${path}`, { ...init, signal: AbortSignal.timeout(ANSWER_MS) });
  const text = await res.text();
  const a = { status: res.status, text, ms: Date.now() - t0, headers: res.headers };
  seen.push(`${init.method ?? 'GET'} ${path.slice(0, 120)} -> ${a.status} ${text.slice(0, 120)}`);
  return a;
}

/** token null: no Authorization header at all. */
function read(path: string, token: string | null = READ_TOKEN, headers: Record<string, string> = {}): Promise<Answer> {
  return send(path, { headers: { ...(token !== null ? { authorization: `Bearer ${token}` } : {}), ...headers } });
}

function ingest(body: Uint8Array, headers: Record<string, string> = {}, token: string | null = INGEST_TOKEN, to: string = base): Promise<Answer> {
  return send(`${to === base ? '' : to}/api/v1/ingest`, {
    method: 'POST',
    headers: { ...(token !== null ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip', ...headers },
    body: body as Uint8Array<ArrayBuffer>,
  });
}

/** A 4xx whose body is one line of JSON {"error": "..."} with nothing else in it. */
function expectRefusal(a: Answer, what: string, statuses?: readonly number[]): string {
  const context = `${what}: ${a.status} ${a.text.slice(0, 300)}`;
  if (statuses) expect(statuses, context).toContain(a.status);
  expect(a.status, context).toBeGreaterThanOrEqual(400);
  expect(a.status, context).toBeLessThan(500);
  expect(a.headers.get('content-type') ?? '', context).toMatch(/^application\/json/);
  expect(a.text, context).not.toMatch(/\n/);
  const body = JSON.parse(a.text) as { error?: unknown };
  expect(Object.keys(body), context).toEqual(['error']);
  expect(typeof body.error, context).toBe('string');
  expect(body.error as string, context).not.toMatch(/\n|    at /);
  expect(a.ms, context).toBeLessThan(ANSWER_MS);
  return body.error as string;
}

/** 200 with JSON, or a proper refusal: for values that may be valid (a node name with a quote in it). */
function expectAnswer(a: Answer, what: string): void {
  if (a.status === 200) {
    expect(() => JSON.parse(a.text), what).not.toThrow();
    return;
  }
  expectRefusal(a, what);
}

/** A request as raw bytes on a socket: for what fetch would normalise or refuse to send. */
function raw(requestText: string | Buffer, waitMs = 5000): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${waitMs} ms to ${String(requestText).slice(0, 80)}`));
    }, waitMs);
    socket.on('data', (d) => (data += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(data)?.[1] ?? 0);
      resolve({ status, text: data.slice(data.indexOf('\r\n\r\n') + 4) });
    });
    // Not end(): a half-closed client may lose an answer that takes a moment. Every request here
    // makes the server close (HTTP/1.0, Connection: close, or a parse error).
    socket.write(requestText);
  });
}

/**
 * A raw answer in the collector's shape: a 4xx with one line of JSON carrying an `error` string,
 * also where fastify's router (a path parameter over maxParamLength) or node's HTTP parser refuses.
 */
function expectRawRefusal(r: { status: number; text: string }, what: string, statuses: readonly number[]): void {
  const context = `${what}: ${r.status} ${r.text.slice(0, 300)}`;
  expect(statuses, context).toContain(r.status);
  expect(r.text, context).not.toMatch(/\n/);
  let body: { error?: unknown } = {};
  expect(() => (body = JSON.parse(r.text) as { error?: unknown }), context).not.toThrow();
  expect(typeof body.error, context).toBe('string');
  expect(Object.keys(body), context).toEqual(['error']);
}

function rawGet(path: string, headers = `Authorization: Bearer ${READ_TOKEN}\r\n`): Promise<{ status: number; text: string }> {
  return raw(`GET ${path} HTTP/1.1\r\nHost: x\r\n${headers}Connection: close\r\n\r\n`);
}

function flow(o: Partial<WireFlowRecord>): WireFlowRecord {
  return {
    iface: 'eth0', direction: WireDirection.DIRECTION_IN, src: new Uint8Array([100, 64, 0, 1]), dst: new Uint8Array([10, 91, 0, 2]), proto: 6, sport: 40000, dport: 80,
    encap: 'none', vni: -1, packets: 1, bytes: 60, first_seen_ms: T0, last_seen_ms: T0 + 1, ...o,
  };
}

let sequence = 100;
const nextSeq = (): number => ++sequence;
/** The drop stored before the attack, which the normal query must still find afterwards. */
let normalDrop: DropEvent;

/** Distinct vanished groups (one drop event each), as a busy node in trouble would send. */
function manyVanished(n: number) {
  return Array.from({ length: n }, (_, i) => rpfVanished({ proto: 6, sport: 1 + (i % 65000), dport: 80 + Math.floor(i / 65000), first_seen_ms: T0 + i, last_seen_ms: T0 + i + 10 }));
}

async function gzipOfZeros(size: number): Promise<Buffer> {
  const gz = createGzip({ level: 9 });
  const parts: Buffer[] = [];
  gz.on('data', (d: Buffer) => parts.push(d));
  const done = new Promise((r) => gz.on('end', r));
  const zeros = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < size / zeros.length; i++) if (!gz.write(zeros)) await new Promise((r) => gz.once('drain', r));
  gz.end();
  await done;
  return Buffer.concat(parts);
}

// One collector for everything below but the last block (chDB allows one embedded store per process).
describe('a collector under attack', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pathwatch-hostile-'));
    collector = await startCollectorWithTokens(dir, { ingest: INGEST_TOKEN, read: READ_TOKEN }, { log: (line) => void logged.push(line) });
    base = `http://${collector.addresses[0]}`;
    const url = new URL(base);
    host = url.hostname;
    port = Number(url.port);
    const first = await ingest(encoded(batch({ sequence: 1, vanished: [rpfVanished()] })));
    expect(first.status, first.text).toBe(200);
    const drops = JSON.parse((await read('/api/v1/drops')).text) as { drops: DropEvent[] };
    expect(drops.drops).toHaveLength(1);
    normalDrop = drops.drops[0]!;
  }, 120_000);

  afterAll(async () => {
    await collector?.close();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  describe('tokens', () => {
    const READ_PATHS = ['/api/v1/drops', '/api/v1/flows', '/api/v1/nodes', '/api/v1/drops/00000000000000000000', '/api/v1/paths/00000000000000000000', '/api/v1/export.pcapng?id=00000000000000000000', '/api/v1/events', '/metrics', '/', '/search', '/ui/app.js', '/nope'];
    const WRONG: Array<[string, Record<string, string>]> = [
      ['no header', {}],
      ['empty bearer', { authorization: 'Bearer ' }],
      ['wrong token', { authorization: 'Bearer wrong-token-wrong-token' }],
      ['the ingest token', { authorization: `Bearer ${INGEST_TOKEN}` }],
      ['the right token as Basic', { authorization: `Basic ${READ_TOKEN}` }],
      ['the right token with a suffix', { authorization: `Bearer ${READ_TOKEN}x` }],
      ['the right token twice', { authorization: `Bearer ${READ_TOKEN} ${READ_TOKEN}` }],
      ['an 8 KB token', { authorization: `Bearer ${'A'.repeat(8192)}` }],
      ['a wrong cookie', { cookie: 'pathwatch_token=wrong; other=1' }],
      ['SQL in the header', { authorization: "Bearer ' OR '1'='1" }],
    ];

    it('every read route refuses a missing or wrong token with 401 and one line', async () => {
      for (const path of READ_PATHS) {
        for (const [what, headers] of WRONG) {
          const a = await send(path, { headers });
          expectRefusal(a, `${path} with ${what}`, [401]);
        }
      }
    });

    it('ingest refuses a missing or wrong token (the read token too) before the body', async () => {
      const body = encoded(batch({ sequence: nextSeq(), vanished: [rpfVanished()] }));
      for (const token of [null, '', 'wrong-token-wrong-token', READ_TOKEN, `${INGEST_TOKEN} `.repeat(2)]) {
        expectRefusal(await ingest(body, {}, token), `ingest with token ${String(token).slice(0, 20)}`, [401]);
      }
      // A body announced as 1 GB is never read: the answer comes after its first bytes.
      const answer = await new Promise<number>((resolve, reject) => {
        const req = httpRequest({ host, port, method: 'POST', path: '/api/v1/ingest', headers: { 'content-type': 'application/x-protobuf', 'content-length': String(1e9), authorization: 'Bearer wrong-token-wrong-token' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
          req.destroy();
        });
        req.on('error', reject);
        req.write(Buffer.alloc(1024));
      });
      expect(answer).toBe(401);
    });

    it('the UI login link with a wrong token is a 401, not a cookie', async () => {
      for (const path of ['/?token=wrong-token-wrong-token', `/?token=${INGEST_TOKEN}`, '/?token=', "/?token=' OR 1=1 --", `/?token=${'x'.repeat(4000)}`]) {
        const a = await send(path, { redirect: 'manual' });
        expectRefusal(a, path, [401]);
        expect(a.headers.get('set-cookie'), path).toBeNull();
      }
    });
  });

  describe('ingest bodies', () => {
    it('garbage, wrong types and encodings: 400 or 415', async () => {
      const cases: Array<[string, Uint8Array, Record<string, string>]> = [
        ['empty gzip body', new Uint8Array(0), {}],
        ['empty identity body', new Uint8Array(0), { 'content-encoding': 'identity' }],
        ['random bytes as gzip', Buffer.from('1f8b0800000000000003ffffffff', 'hex'), {}],
        ['text as gzip', Buffer.from('hello world'), {}],
        ['random bytes as protobuf', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) & 255)), { 'content-encoding': 'identity' }],
        ['gzip of random bytes', gzipSync(Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 97 + 3) & 255))), {}],
        ['a gzip stream cut short', gzipSync(encodeBatch(batch({ sequence: 5, vanished: [rpfVanished()] }))).subarray(0, 40), {}],
        ['gzip with trailing garbage', Buffer.concat([gzipSync(encodeBatch(batch({ sequence: 5 }))), Buffer.from('garbage')]), {}],
        ['JSON', Buffer.from('{"agent_id":"x","sequence":1}'), { 'content-type': 'application/json', 'content-encoding': 'identity' }],
        ['no content type', gzipSync(encodeBatch(batch({ sequence: 5 }))), { 'content-type': '' }],
        ['text/plain', gzipSync(encodeBatch(batch({ sequence: 5 }))), { 'content-type': 'text/plain' }],
        ['multipart', Buffer.from('--x\r\n\r\n--x--'), { 'content-type': 'multipart/form-data; boundary=x' }],
        ['brotli', Buffer.from('x'), { 'content-encoding': 'br' }],
        ['deflate', Buffer.from('x'), { 'content-encoding': 'deflate' }],
        ['gzip, gzip', gzipSync(gzipSync(encodeBatch(batch({ sequence: 5 })))), { 'content-encoding': 'gzip, gzip' }],
        ['an encoding with SQL in it', Buffer.from('x'), { 'content-encoding': "gzip'; DROP TABLE drops; --" }],
        ['no agent_id', Buffer.from([0x18, 0x01]), { 'content-encoding': 'identity' }],
        ['no sequence', Buffer.from([0x0a, 0x01, 0x61]), { 'content-encoding': 'identity' }],
        ['no node', Buffer.from([0x0a, 0x01, 0x61, 0x12, 0x01, 0x62, 0x18, 0x01]), { 'content-encoding': 'identity' }],
        ['an absurd length prefix', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x61]), { 'content-encoding': 'identity' }],
        ['field number 0', Buffer.from([0x00, 0x01]), { 'content-encoding': 'identity' }],
        ['a group wire type', Buffer.from([0x0b, 0x0c]), { 'content-encoding': 'identity' }],
        ['a 10-byte varint sequence', Buffer.from([0x0a, 0x01, 0x61, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), { 'content-encoding': 'identity' }],
      ];
      for (const [what, body, headers] of cases) expectRefusal(await ingest(body, headers), what);
    });

    it('SQL and markup in every string field are refused or stored as plain text', async () => {
      const evil = ["n2'; DROP TABLE drops; --", 'n2\\', 'n2"', '<script>alert(1)</script>', "' OR '1'='1", 'n2%00', '😀', '\u202egnp.exe', 'ｎ２'];
      for (const s of evil) {
        const b = batch({ sequence: nextSeq(), node: s, agent_id: `agent ${s}`, boot_id: s, vanished: [rpfVanished({ iface: s, expected_exit: s, reverse_exits: [s], fingerprints: [s], role: s })] });
        const a = await ingest(encoded(b));
        if (a.status === 200) {
          // Stored verbatim, found by exactly that name, and nothing else matched by it.
          const found = JSON.parse((await read(`/api/v1/drops?node=${encodeURIComponent(s)}`)).text) as { drops: DropEvent[] };
          expect(found.drops.map((d) => [d.node, d.iface]), s).toEqual([[s, s]]);
        } else {
          expectRefusal(a, `node ${s}`, [400]);
        }
      }
      expect(JSON.parse((await read(`/api/v1/drops?node=${encodeURIComponent("' OR '1'='1")}`)).text).drops.every((d: DropEvent) => d.node === "' OR '1'='1")).toBe(true);
    });

    it('very long strings (1 MB node, agent, interface and address) are refused with 400', async () => {
      const mb = 'n'.repeat(1 << 20);
      const cases = [
        batch({ sequence: nextSeq(), node: mb }),
        batch({ sequence: nextSeq(), agent_id: mb }),
        batch({ sequence: nextSeq(), boot_id: mb }),
        batch({ sequence: nextSeq(), vanished: [rpfVanished({ iface: mb })] }),
        batch({ sequence: nextSeq(), vanished: [rpfVanished({ src: `${'1'.repeat(1 << 20)}.1.1.1` })] }),
        batch({ sequence: nextSeq(), vanished: [rpfVanished({ path: [hop({ iface: 'eth0', node: mb, direction: WireDirection.DIRECTION_IN, ts_ms: T0 })] })] }),
        batch({ sequence: nextSeq(), flows: [flow({ iface: mb })] }),
        batch({ sequence: nextSeq(), cross_node: [{ fingerprint: 'f'.repeat(1 << 20), departure: false, outer_peer: '', ts_ms: T0, path: [], src: '', dst: '', proto: 0, sport: 0, dport: 0 }] }),
        batch({ sequence: nextSeq(), status: { interfaces: [], addresses: [`${'a:'.repeat(1 << 19)}1`], agent_version: 'x', kernel_drops: [] } }),
      ];
      for (const b of cases) expectRefusal(await ingest(encoded(b)), 'a 1 MB string', [400]);
    });

    it('a decompression bomb (256 MiB of zeros in 256 KiB of gzip) is refused with 413 at once', async () => {
      const gz = await gzipOfZeros(256 * 1024 * 1024);
      expect(gz.length).toBeLessThan(512 * 1024);
      const rssBefore = process.memoryUsage().rss;
      const a = await ingest(gz);
      expect(expectRefusal(a, 'gzip bomb', [413])).toMatch(/exceeds/);
      expect(a.ms).toBeLessThan(5000);
      // The collector stops inflating at its 16 MiB limit (this process hosts it).
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(128 * 1024 * 1024);
    });

    it('oversized raw bodies (17 MiB, 64 MiB) are refused with 413 without reading them all', async () => {
      for (const size of [17 * 1024 * 1024, 64 * 1024 * 1024]) {
        const status = await new Promise<number | string>((resolve) => {
          const req = httpRequest({ host, port, method: 'POST', path: '/api/v1/ingest', headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/x-protobuf', 'content-length': String(size) } }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          // The server may close the connection while we still write: that is a refusal too.
          req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
          const chunk = Buffer.alloc(1024 * 1024);
          let sent = 0;
          const pump = (): void => {
            while (sent < size) {
              sent += chunk.length;
              if (!req.write(chunk)) {
                req.once('drain', pump);
                return;
              }
            }
            req.end();
          };
          pump();
        });
        seen.push(`POST /api/v1/ingest ${size} raw bytes -> ${status}`);
        expect([413, 'ECONNRESET', 'EPIPE'], `${size} bytes`).toContain(status);
      }
      // Sent with a chunked body and no length: the same limit holds.
      const chunked = await send('/api/v1/ingest', {
        method: 'POST',
        headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/x-protobuf', 'content-encoding': 'identity' },
        body: new ReadableStream({
          start(c) {
            for (let i = 0; i < 20; i++) c.enqueue(new Uint8Array(1024 * 1024));
            c.close();
          },
        }),
        duplex: 'half',
      } as RequestInit);
      expectRefusal(chunked, 'chunked 20 MiB', [413]);
    });

    it('a batch with 20,000 flows and 200 vanished groups is accepted (or refused with a 4xx) in time', async () => {
      const big = batch({
        sequence: nextSeq(),
        flows: Array.from({ length: 20_000 }, (_, i) => flow({ sport: 1024 + (i % 60000), first_seen_ms: T0 + i, last_seen_ms: T0 + i + 1 })),
        vanished: manyVanished(200),
      });
      const body = encoded(big);
      const a = await ingest(body);
      seen.push(`big batch: ${body.length} bytes gzip, ${a.status} in ${a.ms} ms`);
      if (a.status === 200) {
        expect(JSON.parse(a.text)).toEqual({ outcome: 'stored' });
        const drops = JSON.parse((await read('/api/v1/drops?limit=10000')).text) as { drops: DropEvent[] };
        expect(drops.drops.length).toBeGreaterThanOrEqual(200);
        const flows = JSON.parse((await read('/api/v1/flows?limit=10000')).text) as { flows: unknown[] };
        expect(flows.flows).toHaveLength(10_000);
      } else {
        expectRefusal(a, 'big batch');
      }
      expect(a.ms).toBeLessThan(ANSWER_MS);
    }, 60_000);

    it('100,000 empty records in one batch are refused with 400 quickly', async () => {
      const head = encodeBatch(batch({ sequence: nextSeq() }));
      for (const tag of [0x32, 0x3a, 0x42, 0x4a]) {
        // flows, vanished, kernel_drops, cross_node: each entry 2 bytes, an empty message.
        const n = 100_000;
        const b = new Uint8Array(head.length + 2 * n);
        b.set(head, 0);
        for (let i = 0; i < n; i++) b[head.length + 2 * i] = tag;
        const a = await ingest(gzipSync(b));
        expectRefusal(a, `100,000 empty records (tag 0x${tag.toString(16)})`, [400]);
        expect(a.ms).toBeLessThan(5000);
      }
    });
  });

  describe('hostile query strings', () => {
    const SQL = ["' OR '1'='1", "1; DROP TABLE drops; --", "1' UNION SELECT * FROM system.users --", '1)) OR ((1=1', '\\', "'", '"', '`', '/*', '--', 'SLEEP(10)', '${jndi:ldap://x}', '%27', '%00', '\u0000'];
    const NUMBERS = ['', ' ', '-1', '0x10', '1e9', '1.5', '+1', 'NaN', 'Infinity', '99999999999999999999', '9'.repeat(400), '١٢٣', '１２３', '1,2', '1 '];
    const ADDRESSES = ['10.0.0.256', '1.2.3', '1.2.3.4.5', '::g', '1::2::3', 'fe80::1%eth0', '::ffff:1.2.3.4/32', 'localhost', '0', '10.0.0.1 ', ' 10.0.0.1', '10.0.0.1\n'];
    const TIMES = ['0', '2026-02-30T00:00:00Z', '9999999999999999', '99999999999999999', '-1', '2026-13-01T00:00:00Z', '2026-01-01', 'yesterday', '1e12', '8640000000000001', '2026-01-01T25:00:00Z', '+275760-09-13T00:00:00.000Z'];

    async function each(route: string, params: readonly string[], values: readonly string[], allowValid: boolean): Promise<void> {
      for (const p of params) {
        for (const v of values) {
          const path = `${route}?${p}=${encodeURIComponent(v)}`;
          const a = await read(path);
          if (allowValid) expectAnswer(a, path);
          else expectRefusal(a, path, [400]);
        }
      }
    }

    it('SQL fragments in every parameter: refused, or (for a node name) matching nothing', async () => {
      await each('/api/v1/drops', ['since', 'until', 'src', 'dst', 'limit'], SQL, false);
      await each('/api/v1/flows', ['since', 'until', 'src', 'dst', 'limit', 'port', 'proto'], SQL, false);
      for (const route of ['/api/v1/drops', '/api/v1/flows']) {
        for (const v of SQL) {
          const a = await read(`${route}?node=${encodeURIComponent(v)}`);
          expectAnswer(a, `${route} node=${v}`);
          if (a.status === 200) {
            const body = JSON.parse(a.text) as { drops?: DropEvent[]; flows?: Array<{ node: string }> };
            for (const row of [...(body.drops ?? []), ...(body.flows ?? [])]) expect(row.node, `node=${v}`).toBe(v);
          }
        }
      }
    });

    it('bad numbers, addresses and times: 400', async () => {
      await each('/api/v1/drops', ['limit'], [...NUMBERS, '0', '10001', '1000000000'], false);
      await each('/api/v1/flows', ['limit', 'port'], [...NUMBERS, '65536'], false);
      await each('/api/v1/flows', ['proto'], [...NUMBERS, '256', 'tcp; --', 'TCPX'], false);
      await each('/api/v1/drops', ['src', 'dst'], ADDRESSES, false);
      await each('/api/v1/drops', ['since', 'until'], TIMES.filter((t) => t !== '0'), false);
    });

    it('absurd but well-formed time ranges and limits are answered, not failed', async () => {
      for (const q of ['since=0&until=8640000000000000', 'since=0', 'until=0', 'since=8640000000000000', 'since=1&until=1', 'limit=10000', 'limit=1', 'since=1970-01-01T00:00:00Z&until=9999-12-31T23:59:59.999Z', 'until=2262-04-11T23:47:16.854Z', 'since=2299-12-31T23:59:59Z']) {
        for (const route of ['/api/v1/drops', '/api/v1/flows']) {
          const a = await read(`${route}?${q}`);
          expect(a.status, `${route}?${q}: ${a.text}`).toBe(200);
        }
      }
      expectRefusal(await read('/api/v1/drops?since=0&until=9999999999999999'), 'since=0&until=9999999999999999', [400]);
      expectRefusal(await read('/api/v1/drops?limit=1e9'), 'limit=1e9', [400]);
      expectRefusal(await read('/api/v1/drops?since=2&until=1'), 'since after until', [400]);
    });

    it('repeated, unknown, array-style and prototype parameters: 400 (or ignored), never 5xx', async () => {
      for (const q of ['limit=1&limit=2', 'node=a&node=a', 'since=1&since=1', 'src=1.1.1.1&src=1.1.1.1', 'limit[]=1', 'limit[0]=1', 'bogus=1', 'constructor=1', 'toString=1', 'hasOwnProperty=1', 'node', `${'a'.repeat(5000)}=1`]) {
        for (const route of ['/api/v1/drops', '/api/v1/flows', '/api/v1/export.pcapng']) expectRefusal(await read(`${route}?${q}`), `${route}?${q}`, [400]);
      }
      // Empty or undecodable pieces: parsed as something harmless, or refused.
      for (const q of ['__proto__=1', '__proto__[x]=1', '=', '&&&', '&=&=', 'limit=%', 'node=%E0%A4%A', 'node=%FF%FE', 'node=%']) {
        for (const route of ['/api/v1/drops', '/api/v1/flows']) expectAnswer(await read(`${route}?${q}`), `${route}?${q}`);
      }
    });

    it('unicode anywhere: answered or 400', async () => {
      const values = ['😀', 'ñ', '\u202e', '\ufeff', 'ｎ２', 'n2\u0301', '\u0085', '\u2028', 'a'.repeat(257), 'a'.repeat(256)].map(encodeURIComponent);
      // A lone surrogate (not encodable as UTF-8 by encodeURIComponent) and overlong UTF-8.
      values.push('%ED%A0%80', '%C0%AF', '%F4%90%80%80');
      for (const v of values) {
        for (const route of ['/api/v1/drops', '/api/v1/flows']) {
          for (const p of ['node', 'src', 'since', 'limit']) expectAnswer(await read(`${route}?${p}=${v}`), `${route} ${p}=${v}`);
        }
      }
    });

    it('a query string past the header limit is refused by the HTTP parser, not a hang', async () => {
      const r = await rawGet(`/api/v1/drops?node=${'n'.repeat(1 << 20)}`);
      seen.push(`1 MB query string -> ${r.status}`);
      // Node's HTTP parser refuses it before the app sees the request; the answer is still ours.
      expectRawRefusal(r, '1 MB query string', [431]);
    });

    it('requests the HTTP parser refuses get one JSON line too', async () => {
      for (const req of ['GARBAGE\r\n\r\n', 'GET / HTTP/9.9\r\n\r\n', 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n', 'GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n', 'GET /\u0000 HTTP/1.1\r\n\r\n']) {
        const r = await raw(req);
        seen.push(`${JSON.stringify(req.slice(0, 40))} -> ${r.status} ${r.text.slice(0, 100)}`);
        expectRawRefusal(r, JSON.stringify(req), [400]);
      }
    });
  });

  describe('path traversal and odd paths', () => {
    it('drop ids: anything but 20 hex digits is a 400 (or a 404 for no route), never a file', async () => {
      const ids = ['..%2F..%2Fetc%2Fpasswd', '%2e%2e', '..', '.', '00000000000000000000%00', '0000000000000000000G', '0'.repeat(21), '0'.repeat(19), 'AAAAAAAAAAAAAAAAAAAA', "'%20OR%201=1--", '%E0%A4%A', '%FF', '%F0%9F%98%80', 'a'.repeat(199), 'a'.repeat(5000)];
      for (const route of ['/api/v1/drops/', '/api/v1/paths/', '/drops/']) {
        for (const id of ids) {
          const r = await rawGet(`${route}${id}`);
          seen.push(`GET ${route}${id.slice(0, 40)} -> ${r.status} ${r.text.slice(0, 100)}`);
          expectRawRefusal(r, `${route}${id.slice(0, 60)}`, [400, 404, 414]);
          expect(r.text).not.toMatch(/root:|"name":\s*"pathwatch"/);
        }
      }
      expectRefusal(await read('/api/v1/export.pcapng?id=..%2F..%2Fetc%2Fpasswd'), 'export id traversal', [400]);
    });

    it('/ui/ serves only its own files: traversal, encodings and absolute paths are 404s', async () => {
      const names = ['..%2Fpackage.json', '..%2F..%2F..%2Fetc%2Fpasswd', '%2e%2e%2fpackage.json', '..%5C..%5Cpackage.json', 'app.js%00.css', '.%2Fapp.js', '%2Fetc%2Fpasswd', 'index.html%3F', '..', '.', 'app.js/', 'APP.JS', 'tsconfig.json', '.gitignore', 'app.js.map', '%252e%252e%252fpackage.json', 'a'.repeat(300)];
      for (const n of names) {
        const r = await rawGet(`/ui/${n}`);
        seen.push(`GET /ui/${n.slice(0, 40)} -> ${r.status} ${r.text.slice(0, 100)}`);
        expectRawRefusal(r, `/ui/${n.slice(0, 60)}`, [400, 404, 414]);
        expect(r.text).not.toMatch(/root:|"name":\s*"pathwatch"|compilerOptions/);
      }
      // Unnormalised dot segments on the wire (fetch would resolve them first).
      for (const p of ['/ui/../package.json', '/ui/../../../../etc/passwd', '/ui/./../collector-runner.ts', '/api/v1/../../package.json', '//etc/passwd', '/ui//etc/passwd']) {
        const r = await rawGet(p);
        seen.push(`GET ${p} -> ${r.status} ${r.text.slice(0, 100)}`);
        expectRawRefusal(r, p, [400, 404]);
        expect(r.text).not.toMatch(/root:|"name":\s*"pathwatch"|startCollector/);
      }
    });

    it('other methods and odd requests: 4xx, never 5xx', async () => {
      for (const method of ['PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
        for (const path of ['/api/v1/drops', '/api/v1/ingest', '/healthz', `/api/v1/drops/${normalDrop.id}`]) {
          const a = await send(path, { method, headers: { authorization: `Bearer ${READ_TOKEN}` } });
          expectRefusal(a, `${method} ${path}`);
        }
      }
      // Requests Node's HTTP parser refuses itself (400, no body): smuggling-style framing, non-ASCII
      // in the request line, no request line at all.
      const parserRefuses = [
        `POST /api/v1/ingest HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${INGEST_TOKEN}\r\nContent-Type: application/x-protobuf\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n`,
        `GET /api/v1/drops/\u{1f600} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
        'GARBAGE\r\n\r\n',
        `GET /api/v1/drops HTTP/1.1\r\nHost: x\r\nBad Header\r\nConnection: close\r\n\r\n`,
      ];
      for (const req of parserRefuses) {
        const r = await raw(req);
        seen.push(`raw ${req.slice(0, 40).replace(/\r\n/g, ' ')} -> ${r.status}`);
        expect(r.status, req).toBe(400);
      }
      // The app's answers: no Host and HTTP/1.0 is fine; of two Authorization headers Node keeps the
      // first, so a wrong one first is refused whatever follows.
      const ok = await raw(`GET /api/v1/drops?limit=1 HTTP/1.0\r\nAuthorization: Bearer ${READ_TOKEN}\r\n\r\n`);
      expect(ok.status, ok.text).toBe(200);
      expectRawRefusal(await rawGet('/api/v1/drops', `Authorization: Bearer wrong-token-wrong-token\r\nAuthorization: Bearer ${READ_TOKEN}\r\n`), 'two Authorization headers', [401]);
      expectRawRefusal(await rawGet('/api/v1/drops', ''), 'no Authorization header', [401]);
    });
  });

  describe('after all that', () => {
    it('the collector still answers /healthz and a normal query, and logged no internal error', async () => {
      const health = await send('/healthz');
      expect(health.status).toBe(200);
      expect(JSON.parse(health.text)).toMatchObject({ status: 'ok', storage: { up: true } });
      const a = await read(`/api/v1/drops?node=n2&src=100.64.0.1&dst=10.91.1.130&limit=10000`);
      expect(a.status, a.text).toBe(200);
      const drops = (JSON.parse(a.text) as { drops: DropEvent[] }).drops;
      expect(drops.find((d) => d.id === normalDrop.id)).toMatchObject({ node: 'n2', iface: 'tunl0', verdict: 'reverse-path' });
      const one = await read(`/api/v1/drops/${normalDrop.id}`);
      expect(one.status).toBe(200);
      const fresh = await ingest(encoded(batch({ sequence: nextSeq(), vanished: [rpfVanished({ dst: '10.91.1.131' })] })));
      expect(fresh.status, fresh.text).toBe(200);
      // A 5xx would have been logged with its stack.
      expect(logged, seen.filter((s) => / -> 5\d\d/.test(s)).join('\n')).toEqual([]);
      expect(seen.filter((s) => / -> 5\d\d/.test(s))).toEqual([]);
    });
  });
});

// A batch's drop events are read from the store in one go (collector/correlate/drop-accumulator.ts
// asks Storage.getDrops for every id its cache does not hold: a few statements of up to 1,000 ids),
// not one read per new drop event (~10 ms each with the embedded store, which kept the ingest queue
// busy for ~30-50 s with this batch: it and every other agent's batch got a 503 after the 10 s store
// timeout). So even 5,000 new vanished groups are stored well within the timeout, and the queue is
// free again for the next agent right after.
describe('a batch with 20,000 flows and 5,000 vanished groups (own collector)', () => {
  let own: RunningCollector | undefined;
  let ownDir: string;
  beforeAll(async () => {
    ownDir = mkdtempSync(join(tmpdir(), 'pathwatch-hostile-big-'));
    own = await startCollector({ listen: ['127.0.0.1:0'], store: `embedded:${join(ownDir, 'data')}`, log: () => undefined });
  }, 120_000);
  afterAll(async () => {
    await own?.close();
    rmSync(ownDir, { recursive: true, force: true });
  }, 60_000);

  it('is accepted, or refused with a 4xx, within 10 s, and the collector keeps taking batches', async () => {
    const to = `http://${own!.addresses[0]}`;
    const big = batch({ sequence: 1, flows: Array.from({ length: 20_000 }, (_, i) => flow({ sport: i % 65536, first_seen_ms: T0 + i, last_seen_ms: T0 + i + 1 })), vanished: manyVanished(5_000) });
    const a = await ingest(encoded(big), {}, null, to);
    seen.push(`big batch (own collector) -> ${a.status} ${a.text} in ${a.ms} ms`);
    expect(a.ms).toBeLessThan(10_000);
    if (a.status !== 200) expectRefusal(a, 'big batch');
    const small = await ingest(encoded(batch({ sequence: 2, agent_id: 'another-agent', vanished: [rpfVanished()] })), {}, null, to);
    expect(small.status, small.text).toBe(200);
  }, 60_000);
});
