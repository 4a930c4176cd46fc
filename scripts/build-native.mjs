#!/usr/bin/env node
// Builds the native packet engine (binding.gyp) with node-gyp against the running Node's own headers,
// never a download: npm's `install` step runs it at `npm ci`, and ensure-ready.mjs runs it again when
// a native source is newer than the addon. Needs a C compiler, make, python3, libpcap-dev,
// libbpf-dev and zlib1g-dev (ensure-ready installs them as root); without them it says which is missing, in one line.
// Usage: node scripts/build-native.mjs [--debug]
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

function fail(msg) {
  process.stderr.write(`pathwatch native build: ${msg}\n`);
  process.exit(1);
}

/** The folder whose include/node holds node_api.h for this Node: npm's nodedir, or Node's install prefix. */
function nodeDir() {
  const candidates = [process.env.npm_config_nodedir, dirname(dirname(realpathSync(process.execPath)))].filter(Boolean);
  for (const dir of candidates) if (existsSync(join(dir, 'include', 'node', 'node_api.h'))) return dir;
  fail(`no Node headers (include/node/node_api.h) under ${candidates.join(' or ')}; install Node with its headers (Debian: nodejs, libnode-dev)`);
}

/** npm's own node-gyp: npm names it in its scripts' environment, else it sits beside npm's CLI. */
function nodeGyp() {
  const candidates = [process.env.npm_config_node_gyp];
  if (process.env.npm_execpath) candidates.push(join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  const npm = spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout.trim();
  if (npm) candidates.push(join(dirname(realpathSync(npm)), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  const found = candidates.find((c) => c && existsSync(c));
  if (!found) fail('node-gyp not found (it comes with npm)');
  return found;
}

const tools = { cc: 'a C compiler (Debian: build-essential)', make: 'make (Debian: build-essential)', python3: 'python3 (node-gyp runs on it)' };
for (const [cmd, what] of Object.entries(tools)) {
  if (spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status !== 0) fail(`${what} is not installed`);
}
for (const [header, pkg] of [['/usr/include/pcap/pcap.h', 'libpcap-dev'], ['/usr/include/zlib.h', 'zlib1g-dev'], ['/usr/include/bpf/libbpf.h', 'libbpf-dev']]) {
  if (!existsSync(header)) fail(`${header} is missing: install ${pkg}`);
}

const args = [nodeGyp(), 'rebuild', `--nodedir=${nodeDir()}`, ...(process.argv.includes('--debug') ? ['--debug'] : [])];
const r = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
if (r.status !== 0) {
  process.stderr.write(r.stdout + r.stderr);
  fail(`node-gyp rebuild failed (exit ${r.status ?? r.signal}); its output is above`);
}
