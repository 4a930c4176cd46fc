#!/usr/bin/env node
// Builds the kernel drop monitor's BPF object (issue 15) from native/bpf/drop_monitor.bpf.c with
// clang: `npm run build:bpf` writes native/bpf/drop_monitor.bpf.o, which is committed (so `npm ci`
// needs no clang), and test/native/bpf-object.test.ts rebuilds it and fails when the two differ.
// Paths in the object's debug information are made relative to the repository, so the same source
// gives the same bytes wherever it is built. One line on stderr and exit 1 when it cannot.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = join('native', 'bpf', 'drop_monitor.bpf.c');
const outArg = process.argv.indexOf('--out');
const out = resolve(outArg > 0 ? (process.argv[outArg + 1] ?? '') : join(ROOT, 'native', 'bpf', 'drop_monitor.bpf.o'));
const clang = process.env.CLANG ?? 'clang';

function fail(message) {
  process.stderr.write(`build-bpf: ${message}\n`);
  process.exit(1);
}

if (spawnSync(clang, ['--version'], { stdio: 'ignore' }).status !== 0) fail(`${clang} not found: install clang (Debian: apt-get install clang)`);
if (!existsSync('/usr/include/bpf/bpf_helpers.h')) fail('/usr/include/bpf/bpf_helpers.h is missing: install libbpf-dev');
// <linux/types.h> includes <asm/types.h>, which Debian keeps under the multiarch directory.
const multiarch = spawnSync('gcc', ['-print-multiarch'], { encoding: 'utf8' }).stdout?.trim() || 'x86_64-linux-gnu';
mkdirSync(dirname(out), { recursive: true });
const args = ['-O2', '-g', '-target', 'bpf', '-D__TARGET_ARCH_x86', `-I/usr/include/${multiarch}`, '-Inative/bpf', `-fdebug-prefix-map=${ROOT}=.`, '-c', SOURCE, '-o', out];
const r = spawnSync(clang, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
if (r.status !== 0) fail(`clang failed (exit ${r.status ?? r.signal}); its output is above`);
