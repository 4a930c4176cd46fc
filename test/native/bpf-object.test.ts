/**
 * The committed BPF object (native/bpf/drop_monitor.bpf.o, loaded by the kernel drop monitor) is
 * what its source builds to: scripts/build-bpf.mjs rebuilds it into a temporary file with clang and
 * the two must be byte for byte the same, so nobody runs an object whose source says otherwise.
 * Without clang or libbpf-dev the test is skipped with the reason, except under CI=true, where it
 * fails (scripts/ensure-ready.mjs installs both).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const IN_CI = process.env['CI'] === 'true';
const COMMITTED = join(ROOT, 'native', 'bpf', 'drop_monitor.bpf.o');

function unavailableReason(): string | null {
  if (spawnSync(process.env['CLANG'] ?? 'clang', ['--version'], { stdio: 'ignore' }).status !== 0) return 'clang is not installed';
  if (!existsSync('/usr/include/bpf/bpf_helpers.h')) return 'libbpf-dev is not installed';
  return null;
}

const unavailable = unavailableReason();
if (unavailable !== null && !IN_CI) process.stderr.write(`test/native/bpf-object: skipping the rebuild check: ${unavailable}\n`);
const work = mkdtempSync(join(tmpdir(), 'pw-bpf-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the committed BPF object', () => {
  it.runIf(IN_CI)('can be rebuilt in CI', () => {
    expect(unavailable, `the BPF object cannot be rebuilt in CI: ${unavailable ?? ''}`).toBeNull();
  });

  it.skipIf(unavailable !== null)('is what native/bpf/drop_monitor.bpf.c builds to, byte for byte', () => {
    const out = join(work, 'drop_monitor.bpf.o');
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-bpf.mjs'), '--out', out], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const rebuilt = readFileSync(out);
    const committed = readFileSync(COMMITTED);
    expect(rebuilt.length, 'size of the rebuilt object').toBe(committed.length);
    expect(rebuilt.equals(committed), 'the committed object differs from its source: run npm run build:bpf and commit it').toBe(true);
  });
});
