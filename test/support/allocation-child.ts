/**
 * The harness of the allocation tests (decode, flow stages): the compiled modules in dist/ must be
 * current (built when stale), and a child `node --expose-gc --max-semi-space-size=1` runs a script
 * that prints one `RESULT {json}` line with the heap growth and the scavenges seen in its loop. With
 * a 1 MB semi-space, even 16 bytes per packet would show up as dozens of scavenges.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** True when a compiled file of these source folders is missing or older than its source. */
export function distIsStale(folders: readonly string[]): boolean {
  for (const dir of folders) {
    for (const f of readdirSync(join(ROOT, dir))) {
      if (!f.endsWith('.ts')) continue;
      const js = join(ROOT, 'dist', dir, f.replace(/\.ts$/, '.js'));
      if (!existsSync(js) || statSync(js).mtimeMs < statSync(join(ROOT, dir, f)).mtimeMs) return true;
    }
  }
  return false;
}

/** Builds dist/ when these folders' output is stale; throws if it still is. */
export function ensureDistFresh(folders: readonly string[]): void {
  if (distIsStale(folders)) {
    try {
      execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'pipe', timeout: 110_000 });
    } catch {
      // Errors elsewhere in the project (files being edited) do not stop tsc from emitting;
      // what matters is that these folders' output is now current, checked below.
    }
  }
  if (distIsStale(folders)) throw new Error(`dist/ is missing or older than ${folders.join(', ')} after tsc -p tsconfig.json`);
}

/** Runs `script` (an ES module's text) in the measuring child with `env`; returns its RESULT. */
export function runAllocationChild<T>(script: string, env: Record<string, string>): T {
  const r = spawnSync(process.execPath, ['--expose-gc', '--max-semi-space-size=1', '--input-type=module', '-e', script], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (r.status !== 0 || line === undefined) throw new Error(`child failed (status ${r.status}): ${r.stderr}\n${r.stdout}`);
  return JSON.parse(line.slice('RESULT '.length)) as T;
}
