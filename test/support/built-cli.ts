/**
 * Tests that exercise the contract run the real command (`node bin/pathwatch.js`), which loads the
 * compiled dist/. ensureBuilt() compiles first when any source is newer than the build, so a test
 * run never checks stale code.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
// Every directory tsconfig.json compiles (as scripts/ensure-ready.mjs checks them).
const SOURCE_DIRS = ['core', 'schemas', 'agent', 'collector', 'modes', 'cli', 'lab', 'bench'];

function newestSource(dir: string): number {
  let newest = 0;
  if (!existsSync(dir)) return 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

export function ensureBuilt(): void {
  const entry = join(ROOT, 'dist/cli/main.js');
  const newest = Math.max(...SOURCE_DIRS.map((d) => newestSource(join(ROOT, d))));
  if (existsSync(entry) && statSync(entry).mtimeMs >= newest) return;
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'pipe', timeout: 180_000 });
  } catch (e) {
    // tsc still emits when some file has type errors; the build check below decides.
    if (!existsSync(entry)) throw e;
  }
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function runPathwatch(args: readonly string[], options: { input?: Buffer; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolvePromise) => {
    const child = execFile(process.execPath, [join(ROOT, 'bin/pathwatch.js'), ...args], { cwd: ROOT, timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err && typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : err ? 1 : 0;
      resolvePromise({ code, stdout, stderr });
    });
    if (options.input) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}
