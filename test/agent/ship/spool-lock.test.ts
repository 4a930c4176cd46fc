/**
 * Issue 12: agents sharing a spool directory lost each other's batches. A spool directory belongs to
 * one agent: a second one is refused with one line, a lock left by a crash is taken over, a stopped
 * agent lets the next one in, and the default directory is one per node.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { AGENT_USAGE, DEFAULT_SPOOL_ROOT, defaultSpoolDir, nodePathComponent } from '../../../cli/agent-command.js';
import { BatchShipper, type ShipperOptions } from '../../../agent/ship/shipper.js';
import { SPOOL_LOCK_FILE, SpoolLock, SpoolLockedError, parseSpoolLock, processStartTime, readSpoolLock, type SpoolLockRecord } from '../../../agent/ship/spool-lock.js';
import { ROOT, ensureBuilt, runPathwatch } from '../../support/built-cli.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pathwatch-spool-lock-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function lock(dir: string, logs: string[] = [], options: { heartbeatMs?: number } = {}): SpoolLock {
  const l = SpoolLock.acquire(dir, { log: (line) => logs.push(line), ...options });
  cleanups.push(() => l.release());
  return l;
}

function shipper(options: Partial<ShipperOptions> & Pick<ShipperOptions, 'spoolDir'>, logs: string[] = []): BatchShipper {
  const s = new BatchShipper({
    targets: ['unix:/nonexistent/pathwatch-collector.sock'],
    spoolMaxBytes: 1_000_000,
    timeoutMs: 1000,
    backoff: { baseMs: 20, maxMs: 100 },
    log: (line) => logs.push(line),
    ...options,
  });
  cleanups.push(() => s.stop());
  return s;
}

/** The message a refused construction throws, or '' when it was not refused. */
function refusal(make: () => unknown): string {
  try {
    make();
  } catch (err) {
    expect(err).toBeInstanceOf(SpoolLockedError);
    return (err as Error).message;
  }
  return '';
}

/** Batch files under a spool directory (every collector's subdirectory), by name, with their bytes. */
function batchFiles(spoolDir: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const entry of readdirSync(spoolDir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    for (const name of readdirSync(join(spoolDir, entry.name))) {
      if (name.endsWith('.batch')) found.set(`${entry.name}/${name}`, readFileSync(join(spoolDir, entry.name, name), 'utf8'));
    }
  }
  return found;
}

/** A node process running `code` (an ES module; process.argv[1...] are args), with its output kept. */
interface Child {
  readonly process: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

function node(code: string, ...args: string[]): Child {
  const child = spawn(process.execPath, ['--input-type=module', '-e', code, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return { process: child, pid: child.pid ?? -1, exited, output: () => out };
}

async function until(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The compiled module, for child processes (they run plain node). */
function dist(module: string): string {
  return JSON.stringify(pathToFileURL(join(ROOT, 'dist', module)).href);
}

/** A stand-in collector on a unix socket: accepts every batch, keeps the bodies. */
async function collector(socket: string): Promise<{ url: string; bodies: string[] }> {
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString());
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((r) => server.listen(socket, r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `unix:${socket}`, bodies };
}

/** A record like this process's own lock, changed by `edit`, written as the directory's lock file. */
function plantLock(dir: string, edit: (own: SpoolLockRecord) => Partial<SpoolLockRecord>): void {
  rmSync(join(dir, SPOOL_LOCK_FILE), { force: true });
  const own = SpoolLock.acquire(dir);
  const record = own.record;
  own.release();
  writeFileSync(join(dir, SPOOL_LOCK_FILE), `${JSON.stringify({ ...record, token: 'planted', ...edit(record) })}\n`);
}

describe('one agent per spool directory (issue 12)', () => {
  it('refuses a second agent on a spool directory, in one line, and the first agent loses no batch', async () => {
    ensureBuilt();
    const dir = tempDir();
    const spoolDir = join(dir, 'spool');
    const socket = join(dir, 'collector.sock');
    // The first agent: its collector is down, so its batches wait in the spool (as in the issue).
    const first = node(
      `import { BatchShipper } from ${dist('agent/ship/shipper.js')};
       const s = new BatchShipper({ targets: ['unix:' + process.argv[2]], spoolDir: process.argv[1], spoolMaxBytes: 1e6, timeoutMs: 1000, log: () => {} });
       for (let seq = 1; seq <= 10; seq++) s.enqueue(Buffer.from('first-' + seq), { sequence: seq });
       s.start();
       process.on('SIGTERM', () => s.stop().then(() => process.exit(0)));
       process.stdout.write('ready\\n');
       setInterval(() => {}, 1000);`,
      spoolDir,
      socket,
    );
    await until('the first agent', () => first.output() !== '' || first.process.exitCode !== null);
    expect(first.output()).toBe('ready\n');
    const before = batchFiles(spoolDir);
    expect(before.size).toBe(10);

    // The second agent on the same directory is refused before it reads or writes a batch.
    const message = refusal(() => new BatchShipper({ targets: [`unix:${socket}`], spoolDir, spoolMaxBytes: 1e6, timeoutMs: 1000, log: () => undefined }));
    expect(message).toBe(`spool directory ${spoolDir} is in use by another agent (pid ${first.pid})`);
    expect(batchFiles(spoolDir)).toEqual(before);
    expect(readSpoolLock(spoolDir)?.pid).toBe(first.pid);

    // The first agent stops, releasing the directory; the next agent there delivers all its batches, in order.
    first.process.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(join(spoolDir, SPOOL_LOCK_FILE))).toBe(false);
    expect(batchFiles(spoolDir)).toEqual(before);
    const c = await collector(socket);
    const next = shipper({ targets: [c.url], spoolDir });
    expect(next.stats.spooledBatches).toBe(10);
    next.start();
    await until('the first agent\'s batches', () => c.bodies.length === 10);
    expect(c.bodies).toEqual(Array.from({ length: 10 }, (_, i) => `first-${i + 1}`));
  }, 120_000);

  it('refuses a second shipper of the same process too', () => {
    const spoolDir = tempDir();
    const s = shipper({ spoolDir });
    for (let seq = 1; seq <= 3; seq++) s.enqueue(Buffer.from(`b${seq}`), { sequence: seq });
    const before = batchFiles(spoolDir);
    expect(refusal(() => shipper({ spoolDir }))).toBe(`spool directory ${spoolDir} is in use by another shipper of this process (pid ${process.pid})`);
    expect(batchFiles(spoolDir)).toEqual(before);
    expect(s.stats.spooledBatches).toBe(3);
  });

  it('takes over a lock left by an agent that was killed, without error', async () => {
    ensureBuilt();
    const spoolDir = tempDir();
    const crashed = node(
      `import { SpoolLock } from ${dist('agent/ship/spool-lock.js')};
       SpoolLock.acquire(process.argv[1]);
       process.kill(process.pid, 'SIGKILL');`,
      spoolDir,
    );
    expect(await crashed.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(readSpoolLock(spoolDir)?.pid).toBe(crashed.pid);

    const logs: string[] = [];
    const s = shipper({ spoolDir }, logs);
    expect(readSpoolLock(spoolDir)?.pid).toBe(process.pid);
    expect(logs).toEqual([`spool directory ${spoolDir}: took over a stale lock (pid ${crashed.pid} is no longer running)`]);
    expect(s.enqueue(Buffer.from('x'), { sequence: 1 })).toBe(true);
  }, 60_000);

  it('takes over a lock whose pid now runs another process, and keeps one whose holder runs', async () => {
    const spoolDir = tempDir();
    const sleeper = node('setTimeout(() => {}, 60_000); process.stdout.write("up\\n");');
    await until('the sleeper', () => sleeper.output() === 'up\n');
    const started = processStartTime(sleeper.pid);
    expect(started).toBeDefined();

    plantLock(spoolDir, () => ({ pid: sleeper.pid, startTime: started }));
    expect(refusal(() => SpoolLock.acquire(spoolDir))).toBe(`spool directory ${spoolDir} is in use by another agent (pid ${sleeper.pid})`);

    // The same pid, started at another time: the holder is gone and its pid was reused.
    plantLock(spoolDir, () => ({ pid: sleeper.pid, startTime: String(Number(started) - 1) }));
    const logs: string[] = [];
    const l = lock(spoolDir, logs);
    expect(l.tookOver).toBe(`pid ${sleeper.pid} is no longer the agent that held it`);
    expect(logs).toHaveLength(1);
  });

  it('judges a holder in another pid namespace by its heartbeat, and a lock from before a reboot as stale', () => {
    const spoolDir = tempDir();
    const path = join(spoolDir, SPOOL_LOCK_FILE);
    plantLock(spoolDir, () => ({ pid: 1, pidNamespace: 'pid:[1]' }));
    expect(refusal(() => SpoolLock.acquire(spoolDir))).toMatch(
      new RegExp(`^spool directory ${spoolDir} is in use by another agent \\(pid 1 in another pid namespace, alive 0 s ago; its lock lapses after 30 s of silence\\)$`),
    );
    const longAgo = new Date(Date.now() - 45_000);
    utimesSync(path, longAgo, longAgo);
    expect(lock(spoolDir).tookOver).toBe('pid 1 in another pid namespace has been silent for 45 s');

    const other = tempDir();
    plantLock(other, () => ({ pid: process.pid, bootId: 'another-boot' }));
    expect(lock(other).tookOver).toBe(`pid ${process.pid} held it before the last reboot`);
  });

  it('a holder refreshes its lock, and says so when someone took it from under it', async () => {
    const spoolDir = tempDir();
    const logs: string[] = [];
    const l = lock(spoolDir, logs, { heartbeatMs: 20 });
    const path = join(spoolDir, SPOOL_LOCK_FILE);
    const longAgo = new Date(Date.now() - 60_000);
    utimesSync(path, longAgo, longAgo);
    await until('a heartbeat', () => Date.now() - statSync(path).mtimeMs < 10_000);
    writeFileSync(path, `${JSON.stringify({ ...l.record, pid: 4242, token: 'someone-else' })}\n`);
    await until('the loss to be noticed', () => logs.length > 0);
    expect(logs).toEqual([`spool directory ${spoolDir}: lost its lock (now held by pid 4242); another agent may be writing to this spool`]);
    l.release();
    expect(readSpoolLock(spoolDir)?.token).toBe('someone-else'); // not ours to delete
  });

  it('takes over an unreadable lock file once it is old, not while it may be being written', () => {
    const spoolDir = tempDir();
    const path = join(spoolDir, SPOOL_LOCK_FILE);
    writeFileSync(path, '');
    expect(refusal(() => SpoolLock.acquire(spoolDir))).toBe(`spool directory ${spoolDir} is in use by another agent (its lock file is being written)`);
    const old = new Date(Date.now() - 10_000);
    utimesSync(path, old, old);
    expect(lock(spoolDir).tookOver).toBe('the lock file held no lock record');
  });

  it('releases the directory on stop, so the next agent starts on it', async () => {
    const spoolDir = tempDir();
    const first = shipper({ spoolDir });
    first.start();
    first.enqueue(Buffer.from('kept'), { sequence: 1 });
    await first.stop({ flushMs: 50 });
    expect(existsSync(join(spoolDir, SPOOL_LOCK_FILE))).toBe(false);
    const logs: string[] = [];
    const second = shipper({ spoolDir }, logs);
    expect(second.stats.spooledBatches).toBe(1);
    expect(logs).toEqual([expect.stringMatching(/1 batch\(es\) .* left in the spool by an earlier run/)]);

    // A shipper that never started releases on stop() too.
    await second.stop();
    expect(existsSync(join(spoolDir, SPOOL_LOCK_FILE))).toBe(false);
    // After stop, enqueue takes the directory back (the batch waits on disk), unless another agent has it.
    expect(second.enqueue(Buffer.from('later'), { sequence: 2 })).toBe(true);
    expect(readSpoolLock(spoolDir)?.token).toBeDefined();
    await second.stop();
    const other = lock(spoolDir);
    expect(second.enqueue(Buffer.from('refused'), { sequence: 3 })).toBe(false);
    expect(logs.at(-1)).toBe(`batch 3 not spooled: spool directory ${spoolDir} is in use by another shipper of this process (pid ${process.pid})`);
    expect(() => second.start()).toThrow(SpoolLockedError);
    other.release();
    second.start();
    expect(second.stats.spooledBatches).toBe(2);
  });

  it('releases the lock when the process exits without stopping', async () => {
    ensureBuilt();
    const spoolDir = tempDir();
    const quitter = node(
      `import { SpoolLock } from ${dist('agent/ship/spool-lock.js')};
       SpoolLock.acquire(process.argv[1]);
       process.exitCode = 0;`,
      spoolDir,
    );
    expect(await quitter.exited).toEqual({ code: 0, signal: null });
    expect(quitter.output()).toBe('');
    expect(readdirSync(spoolDir)).toEqual([]);
  }, 60_000);

  it('pathwatch agent on a directory another agent holds: exit 2, one line, before the capture', async () => {
    ensureBuilt();
    const spoolDir = join(tempDir(), 'spool');
    lock(spoolDir);
    const r = await runPathwatch(['agent', '--collector', 'unix:/nonexistent.sock', '--spool-dir', spoolDir, '--node', 'x'], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toBe(`pathwatch: agent: spool directory ${spoolDir} is in use by another agent (pid ${process.pid}); give each agent its own --spool-dir\n`);
    expect(r.stdout).toBe('');
    // Nothing of the refused agent in the directory: no spool of its collector, no lock of its own.
    expect(readdirSync(spoolDir)).toEqual([SPOOL_LOCK_FILE]);
    expect(readSpoolLock(spoolDir)?.pid).toBe(process.pid);

    const empty = await runPathwatch(['agent', '--collector', 'unix:/nonexistent.sock', '--node', ''], { timeoutMs: 60_000 });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toBe('pathwatch: agent: --node cannot be empty\n');
  }, 200_000);
});

describe('the default spool directory', () => {
  it('is one directory per node under /var/lib/pathwatch/spool', () => {
    expect(DEFAULT_SPOOL_ROOT).toBe('/var/lib/pathwatch/spool');
    expect(defaultSpoolDir('n1')).toBe('/var/lib/pathwatch/spool/n1');
    expect(defaultSpoolDir('ubuntu-3.lab.example')).toBe('/var/lib/pathwatch/spool/ubuntu-3.lab.example');
    expect(defaultSpoolDir('node_7')).not.toBe(defaultSpoolDir('node_8'));
    expect(AGENT_USAGE).toMatch(/--spool-dir DIR .*\(default\s+\/var\/lib\/pathwatch\/spool\/NODE\)/s);
  });

  it('keeps a hostile node name inside /var/lib/pathwatch/spool', () => {
    const hostile = ['../x', 'a/b', '..', '.', '../../etc', '/etc/passwd', 'a\0b', '.hidden', 'x/../../y', '%2E%2E', 'ü/ö', 'a'.repeat(300), `${'../'.repeat(100)}root`];
    const seen = new Set<string>();
    for (const name of hostile) {
      const dir = defaultSpoolDir(name);
      expect(resolve(dir), name).toBe(dir);
      expect(dirname(dir), name).toBe(DEFAULT_SPOOL_ROOT);
      const leaf = basename(dir);
      expect(leaf, name).not.toMatch(/^\.|[/\0]/);
      expect(Buffer.byteLength(leaf), name).toBeLessThanOrEqual(255);
      seen.add(leaf);
    }
    expect(seen.size).toBe(hostile.length); // two names never share a spool
    expect(nodePathComponent('../x')).toBe('%2E.%2Fx');
    expect(nodePathComponent('a/b')).toBe('a%2Fb');
    expect(() => nodePathComponent('')).toThrow(/empty/);
  });
});

describe('lock records', () => {
  it('needs a positive pid and a token', () => {
    expect(parseSpoolLock('{"pid":12,"token":"t","since":"x"}')).toEqual({ pid: 12, token: 't', since: 'x' });
    for (const bad of ['', 'null', '{"pid":0,"token":"t"}', '{"pid":4294967296,"token":"t"}', '{"pid":-1,"token":"t"}', '{"pid":1.5,"token":"t"}', '{"pid":1}', '[1]', 'pid 12']) {
      expect(parseSpoolLock(bad), bad).toBeUndefined();
    }
  });
});
