/**
 * `pathwatch lab --ui` end to end (root, network namespaces, eBPF): after the report, one line with
 * the address; the collector and web UI go on serving the story's drops there, with the lab's
 * agents and namespaces already gone; on SIGINT it stops, exit 0, and leaves no namespace, no
 * process and no temporary directory behind.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DropEvent } from '../../core/explain/drop-event.js';
import { STORY } from '../../lab/topology.js';
import { ensureBuilt, ROOT } from '../support/built-cli.js';
import { labUnavailableReason } from '../support/lab-prerequisites.js';

const IN_CI = process.env['CI'] === 'true';
const unavailable = labUnavailableReason('pwlab');

function labNamespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith('pwlab-'));
}

/** pid -> start time (clock ticks since boot: tells a pid reused later apart) of every live process. */
function processTable(): Map<number, { ppid: number; start: string }> {
  const table = new Map<number, { ppid: number; start: string }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name in parentheses (which may hold spaces): state ppid ... starttime (22nd).
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.set(Number(entry), { ppid: Number(rest[1]), start: rest[19] ?? '' });
    } catch {
      // gone meanwhile
    }
  }
  return table;
}

/** The descendants of `root` now, with their start times. */
function descendants(root: number): Map<number, string> {
  const table = processTable();
  const found = new Map<number, string>();
  let frontier = [root];
  while (frontier.length > 0) {
    const next: number[] = [];
    for (const [pid, p] of table) {
      if (frontier.includes(p.ppid) && !found.has(pid)) {
        found.set(pid, p.start);
        next.push(pid);
      }
    }
    frontier = next;
  }
  return found;
}

describe('pathwatch lab --ui: prerequisites', () => {
  it.runIf(IN_CI)('are present in CI', () => {
    expect(unavailable, `the lab cannot run in CI: ${unavailable ?? ''}`).toBeNull();
  });
});

describe.skipIf(unavailable !== null)('pathwatch lab --ui', () => {
  it('serves the story\'s drops after the report until SIGINT, then removes everything and exits 0', async () => {
    ensureBuilt();
    const before = labNamespaces();
    const child = spawn(process.execPath, [join(ROOT, 'bin/pathwatch.js'), 'lab', '--ui', '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    // Every process the lab starts is its descendant while it runs: remember them all, to check none outlives it.
    const seen = new Map<number, string>();
    const watch = setInterval(() => {
      if (child.pid !== undefined) for (const [pid, start] of descendants(child.pid)) seen.set(pid, start);
    }, 200);
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no address line within 150 s\nstdout:\n${stdout}\nstderr:\n${stderr}`)), 150_000);
        const check = (): void => {
          const m = /^pathwatch lab: the collector and web UI are at (http:\/\/127\.0\.0\.1:\d+\/) \(Ctrl-C to stop\)$/m.exec(stdout);
          if (m?.[1]) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        };
        child.stdout.on('data', check);
        void exited.then((r) => reject(new Error(`exited (${r.code ?? r.signal}) before the address line\nstdout:\n${stdout}\nstderr:\n${stderr}`)));
      });
      // The address line comes last, after the report and its drops.
      expect(stdout.trimEnd().split('\n').at(-1)).toMatch(/web UI are at/);
      const reported = [...stdout.matchAll(/^\[\d+\] reverse-path \(confirmed\) at n2 on tunl0: (\w+) (\S+) -> (\S+), \d+ packet\(s\)$/gm)].map((m) => `${m[1]} ${m[2]} -> ${m[3]}`);
      expect(reported.length, stdout).toBeGreaterThan(0);

      // Serving alone: the lab's namespaces and agents are gone already.
      expect(labNamespaces()).toEqual(before);
      expect([...descendants(child.pid as number).keys()], 'processes of the lab still running while it serves').toEqual([]);

      const page = await fetch(url, { signal: AbortSignal.timeout(10_000) });
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
      expect(await page.text()).toContain('<title>pathwatch</title>');

      const api = await fetch(new URL('/api/v1/drops?limit=10000', url), { signal: AbortSignal.timeout(10_000) });
      expect(api.status).toBe(200);
      const drops = ((await api.json()) as { drops: DropEvent[] }).drops;
      const port = (p: number | null): string => (p === null ? '' : `:${p}`);
      const served = drops.map((d) => `${d.proto} ${d.src}${port(d.sport)} -> ${d.dst}${port(d.dport)}`);
      // Every drop of the report is served, and the story's verdicts are there: ICMP and TCP to the asymmetric pod.
      for (const r of reported) expect(served, JSON.stringify(drops)).toContain(r);
      for (const proto of ['icmp', 'tcp']) {
        const found = drops.filter((d) => d.proto === proto && d.node === 'n2' && d.iface === 'tunl0' && d.verdict === 'reverse-path' && d.confidence === 'confirmed' && (d.dst === STORY.asymmetricPod || d.src === STORY.asymmetricPod));
        expect(found.length, `${proto}: ${JSON.stringify(drops)}`).toBeGreaterThan(0);
      }
      const one = await fetch(new URL(`/drops/${encodeURIComponent(drops[0]?.id ?? '')}`, url), { signal: AbortSignal.timeout(10_000) });
      expect(one.status).toBe(200);
      await one.arrayBuffer();

      const workDir = /embedded store in (\/\S+)\)/.exec(stderr)?.[1];
      expect(workDir, stderr).toBeDefined();
      expect(existsSync(workDir as string)).toBe(true);

      child.kill('SIGINT');
      const result = await Promise.race([exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`still running 30 s after SIGINT\nstderr:\n${stderr}`)), 30_000))]);
      expect(result, stderr).toEqual({ code: 0, signal: null });
      expect(stderr).toMatch(/stopped; everything it made was removed/);
      await expect(fetch(url, { signal: AbortSignal.timeout(5_000) })).rejects.toThrow();
      expect(labNamespaces()).toEqual(before);
      expect(existsSync(workDir as string)).toBe(false);
      expect(seen.size, 'the lab started no process: the watch saw none').toBeGreaterThan(0);
      const table = processTable();
      const left = [...seen].filter(([pid, start]) => table.get(pid)?.start === start);
      expect(left.map(([pid]) => `${pid}: ${(() => { try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' '); } catch { return '?'; } })()}`)).toEqual([]);
    } finally {
      clearInterval(watch);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    }
  }, 240_000);
});
