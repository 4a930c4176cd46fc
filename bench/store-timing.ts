/**
 * What the collector's store costs in time, and how long it holds the event loop while it works.
 *
 *   node dist/bench/store-timing.js [--server clickhouse://user[:password]@host:port] [--runs K]
 *
 * Stores, one after the other (chDB binds one data directory per process, so each embedded store is
 * closed before the next opens), all through openStorage as the collector opens them:
 *   - chDB, current profile, in a temporary directory;
 *   - chDB running the legacy SQL (forceProfile 'legacy'), in another temporary directory;
 *   - a ClickHouse server, when --server URL or PATHWATCH_CLICKHOUSE_URL is given. The bench writes into
 *     a database of its own there (pathwatch_bench_<random>, whatever database the URL names) and drops
 *     it at the end.
 * For each: the open; after a warm-up write (the first write compiles the row codec), K writes of
 * 10,000 flow rows and K writes of 1,000 drops (median time, and the longest stall of the event loop
 * over all K); then the median latency of 20 runs each of queryDrops, queryFlows and hasBatch.
 *
 * The event loop is watched with a 1 ms timer: a stall is the longest gap between two of its ticks
 * (a loop that is never blocked shows ~1 ms), and "stalled >= 5 ms" adds up every gap of 5 ms or more.
 * Exit status 0 when every store ran, 1 when one failed (the others are still measured), 2 for bad
 * arguments.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropEventId, type DropEvent } from '../core/explain/drop-event.js';
import { ClickHouseExecutor } from '../collector/store/backends/clickhouse-executor.js';
import { openStorage, type OpenStorageOptions } from '../collector/store/open-storage.js';
import { render, sql, SqlIdentifier } from '../collector/store/sql/fragment.js';
import { parseStoreSpec } from '../collector/store/store-spec.js';
import type { Storage, StoredDrop, StoredFlow } from '../collector/store/storage.js';

const USAGE = `usage: node dist/bench/store-timing.js [--server URL] [--runs K]

  --server URL  also measure the ClickHouse server at URL (clickhouse://user[:password]@host:port);
                default PATHWATCH_CLICKHOUSE_URL when set. Uses and then drops a database of its own.
  --runs K      timed writes of each kind per store, median reported (default 3)
`;

const FLOW_ROWS = 10_000;
const DROP_ROWS = 1_000;
const QUERY_RUNS = 20;
const STALL_THRESHOLD_MS = 5;

class UsageError extends Error {}

interface Options {
  readonly server: string | undefined;
  readonly runs: number;
}

function parseArgs(argv: readonly string[]): Options | null {
  let server = process.env.PATHWATCH_CLICKHOUSE_URL || undefined;
  let runs = 3;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '--help' || a === '-h') return null;
    else if (a === '--server') server = value();
    else if (a === '--runs') {
      const v = value();
      runs = Number(v);
      if (!Number.isSafeInteger(runs) || runs < 1) throw new UsageError(`--runs: not a positive integer: ${v}`);
    } else throw new UsageError(`unknown argument: ${a}`);
  }
  if (server !== undefined && parseStoreSpec(server).kind !== 'clickhouse') throw new UsageError(`--server: not a clickhouse:// URL: ${server}`);
  return { server, runs };
}

// ----- the event loop -----------------------------------------------------------------------------

interface Watched<T> {
  readonly result: T;
  readonly ms: number;
  /** The longest gap between two ticks of a 1 ms timer. */
  readonly maxStallMs: number;
  /** Every gap of STALL_THRESHOLD_MS or more, added up. */
  readonly stalledMs: number;
}

/** Runs `work` while a 1 ms timer watches the event loop. */
async function watchLoop<T>(work: () => Promise<T>): Promise<Watched<T>> {
  let last = performance.now();
  let maxStallMs = 0;
  let stalledMs = 0;
  const gap = (now: number): void => {
    const g = now - last;
    last = now;
    maxStallMs = Math.max(maxStallMs, g);
    if (g >= STALL_THRESHOLD_MS) stalledMs += g;
  };
  const timer = setInterval(() => gap(performance.now()), 1);
  const start = performance.now();
  try {
    const result = await work();
    const end = performance.now();
    gap(end);
    return { result, ms: end - start, maxStallMs, stalledMs };
  } finally {
    clearInterval(timer);
  }
}

// ----- rows ---------------------------------------------------------------------------------------

const BASE_MS = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;

function flows(count: number): StoredFlow[] {
  return Array.from({ length: count }, (_, i) => ({
    node: `node-${i % 5}`,
    iface: 'eth0',
    direction: 'in',
    src: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    dst: i % 2 ? 'fd00::1' : '10.0.0.2',
    proto: 6,
    sport: 1024 + (i % 60000),
    dport: 443,
    encap: 'none',
    outerSrc: '',
    outerDst: '',
    vni: -1,
    packets: 10,
    bytes: 1500,
    firstSeenMs: BASE_MS - 60_000 + i,
    lastSeenMs: BASE_MS - 30_000 + i,
    source: 'live',
  }));
}

function drops(count: number, nodePrefix: string): StoredDrop[] {
  return Array.from({ length: count }, (_, i) => {
    const lastSeenMs = BASE_MS + i;
    const key = {
      node: `${nodePrefix}-${i % 5}`,
      iface: 'tunl0',
      src: `100.64.${(i >> 8) & 255}.${i & 255}`,
      dst: '10.91.1.128',
      proto: 'icmp',
      sport: null,
      dport: null,
    };
    const event: DropEvent = {
      id: dropEventId(key),
      ...key,
      packets: 5,
      firstSeen: new Date(lastSeenMs - 4000).toISOString(),
      lastSeen: new Date(lastSeenMs).toISOString(),
      verdict: 'reverse-path',
      confidence: 'confirmed',
      evidence: [{ kind: 'ebpf-drop-reason', detail: 'IP_RPFILTER x5 on tunl0 (5 of 5 packet(s) matched by fingerprint)' }],
      remedy: 'sysctl -w net.ipv4.conf.tunl0.rp_filter=2',
      kernel: { reason: 'IP_RPFILTER', packets: 5 },
    };
    const path = [{
      node: key.node, iface: 'tunl0', role: 'tunnel', direction: 'in' as const, tsMs: lastSeenMs, encap: 'ipip',
      outerSrc: '192.168.1.10', outerDst: '192.168.1.11', vni: -1, ttl: 63, length: 84,
    }];
    return { event, path, source: 'live' as const, updatedAtMs: lastSeenMs + 1 };
  });
}

// ----- measuring one store ------------------------------------------------------------------------

interface Figures {
  readonly name: string;
  readonly version: string;
  readonly openMs: number;
  readonly openStallMs: number;
  readonly flowWriteMs: number;
  readonly flowMaxStallMs: number;
  readonly flowStalledMs: number;
  readonly dropWriteMs: number;
  readonly dropMaxStallMs: number;
  readonly dropStalledMs: number;
  readonly queryDropsMs: number;
  readonly queryFlowsMs: number;
  readonly hasBatchMs: number;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function timedWrites(runs: number, write: () => Promise<void>): Promise<{ ms: number; maxStallMs: number; stalledMs: number }> {
  const watched: Watched<void>[] = [];
  for (let i = 0; i < runs; i++) watched.push(await watchLoop(write));
  return {
    ms: median(watched.map((w) => w.ms)),
    maxStallMs: Math.max(...watched.map((w) => w.maxStallMs)),
    stalledMs: median(watched.map((w) => w.stalledMs)),
  };
}

async function medianLatency(run: () => Promise<unknown>): Promise<number> {
  await run(); // warm
  const times: number[] = [];
  for (let i = 0; i < QUERY_RUNS; i++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  return median(times);
}

async function measure(name: string, spec: string, options: OpenStorageOptions, runs: number): Promise<Figures> {
  const opened = await watchLoop(() => openStorage(spec, options));
  const storage: Storage = opened.result;
  try {
    const flowRows = flows(FLOW_ROWS);
    await storage.write({ flows: flowRows.slice(0, 2000), drops: drops(300, 'warm'), packets: [] });
    const flowWrite = await timedWrites(runs, () => storage.write({ flows: flowRows, drops: [], packets: [] }));
    const dropRows = drops(DROP_ROWS, 'node');
    const dropWrite = await timedWrites(runs, () => storage.write({ flows: [], drops: dropRows, packets: [] }));
    return {
      name,
      version: `${storage.info.serverVersion} (${storage.info.profile})`,
      openMs: opened.ms,
      openStallMs: opened.maxStallMs,
      flowWriteMs: flowWrite.ms,
      flowMaxStallMs: flowWrite.maxStallMs,
      flowStalledMs: flowWrite.stalledMs,
      dropWriteMs: dropWrite.ms,
      dropMaxStallMs: dropWrite.maxStallMs,
      dropStalledMs: dropWrite.stalledMs,
      queryDropsMs: await medianLatency(() => storage.queryDrops({ limit: 100 })),
      queryFlowsMs: await medianLatency(() => storage.queryFlows({ limit: 100 })),
      hasBatchMs: await medianLatency(() => storage.hasBatch({ agentId: 'bench', bootId: 'bench', sequence: 1 })),
    };
  } finally {
    await storage.close();
  }
}

async function embedded(name: string, options: OpenStorageOptions, runs: number): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), 'pathwatch-store-timing-'));
  try {
    return await measure(name, `embedded:${dir}`, options, runs);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function server(url: string, runs: number): Promise<Figures> {
  const parsed = parseStoreSpec(url);
  if (parsed.kind !== 'clickhouse') throw new UsageError(`not a clickhouse:// URL: ${url}`);
  const database = `pathwatch_bench_${randomBytes(6).toString('hex')}`;
  const own = new URL(url);
  own.pathname = `/${database}`;
  const spec = own.toString();
  try {
    return await measure(`ClickHouse server ${parsed.httpUrl}`, spec, {}, runs);
  } finally {
    const executor = new ClickHouseExecutor({ url: parsed.httpUrl, username: parsed.username, password: parsed.password, location: parsed.location });
    try {
      await executor.command(render(sql`DROP DATABASE IF EXISTS ${SqlIdentifier.of(database)}`, 'inline'));
    } finally {
      await executor.close();
    }
  }
}

// ----- output -------------------------------------------------------------------------------------

function table(figures: readonly Figures[]): string {
  const ms = (n: number): string => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
  const rows: [string, (f: Figures) => string][] = [
    ['version (profile)', (f) => f.version],
    ['open, ms', (f) => ms(f.openMs)],
    ['  loop max stall, ms', (f) => ms(f.openStallMs)],
    [`write ${FLOW_ROWS} flows, ms`, (f) => ms(f.flowWriteMs)],
    ['  loop max stall, ms', (f) => ms(f.flowMaxStallMs)],
    [`  loop stalled >= ${STALL_THRESHOLD_MS} ms, total ms`, (f) => ms(f.flowStalledMs)],
    [`write ${DROP_ROWS} drops, ms`, (f) => ms(f.dropWriteMs)],
    ['  loop max stall, ms', (f) => ms(f.dropMaxStallMs)],
    [`  loop stalled >= ${STALL_THRESHOLD_MS} ms, total ms`, (f) => ms(f.dropStalledMs)],
    ['queryDrops limit 100, median ms', (f) => ms(f.queryDropsMs)],
    ['queryFlows limit 100, median ms', (f) => ms(f.queryFlowsMs)],
    ['hasBatch, median ms', (f) => ms(f.hasBatchMs)],
  ];
  const header = ['', ...figures.map((f) => f.name)];
  const body = rows.map(([label, cell]) => [label, ...figures.map(cell)]);
  const widths = header.map((_, c) => Math.max(...[header, ...body].map((r) => r[c]!.length)));
  const line = (r: readonly string[]): string =>
    r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd();
  return [line(header), ...body.map(line)].join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  let options: Options | null;
  try {
    options = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    process.stderr.write(`store-timing: ${error.message}\n${USAGE}`);
    return 2;
  }
  if (!options) {
    process.stdout.write(USAGE);
    return 0;
  }
  const runs = options.runs;
  const stores: [string, () => Promise<Figures>][] = [
    ['chDB current', () => embedded('chDB current', {}, runs)],
    ['chDB legacy SQL', () => embedded('chDB legacy SQL', { forceProfile: 'legacy' }, runs)],
  ];
  const url = options.server;
  if (url !== undefined) stores.push(['ClickHouse server', () => server(url, runs)]);

  process.stdout.write(`store timing: node ${process.version}, ${cpus().length} CPUs, ${runs} timed writes per kind, ${QUERY_RUNS} runs per query\n`);
  if (url === undefined) process.stdout.write('(no ClickHouse server: give --server URL or PATHWATCH_CLICKHOUSE_URL to include one)\n');
  const figures: Figures[] = [];
  let failed = false;
  for (const [name, run] of stores) {
    try {
      figures.push(await run());
    } catch (error) {
      failed = true;
      process.stderr.write(`store-timing: ${name} failed: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
  if (figures.length > 0) process.stdout.write(`\n${table(figures)}\n`);
  return failed ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
