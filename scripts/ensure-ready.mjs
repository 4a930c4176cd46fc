#!/usr/bin/env node
// Makes a fresh clone ready before `npm test`, `npm start` and `npm run bench`: when running as root on
// Debian, installs the system tools the given purpose needs (first: the npm install builds against
// libpcap), then the npm dependencies (which builds through `prepare`), and rebuilds when sources are
// newer than the build. Does nothing when all of that is already there.
// Usage: node scripts/ensure-ready.mjs [test|start|bench]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const purpose = process.argv[2] ?? 'test';

/**
 * What `npm ci` needs to build the native packet engine (scripts/build-native.mjs), for every
 * purpose: a C compiler, make and python3 for node-gyp, libpcap, libbpf and zlib to link with.
 */
const NATIVE_BUILD = {
  cc: 'gcc',
  make: 'make',
  python3: 'python3',
  'pcap-config': 'libpcap-dev',
  '/usr/include/zlib.h': 'zlib1g-dev',
  '/usr/include/bpf/libbpf.h': 'libbpf-dev',
};

/** Debian packages per purpose, keyed by a command (or a file) that shows the package is there. */
const SYSTEM_TOOLS = {
  test: {
    ...NATIVE_BUILD,
    tcpdump: 'tcpdump',
    tshark: 'tshark',
    dumpcap: 'wireshark-common',
    ip: 'iproute2',
    python3: 'python3',
    protoc: 'protobuf-compiler',
    // Runs a child without some of root's capabilities (test/agent/capture/live-capture.test.ts).
    capsh: 'libcap2-bin',
    // The kernel's list of BPF programs and links: the tests that check the drop monitor was detached
    // (test/agent/live/live-node-startup.test.ts).
    bpftool: 'bpftool',
    'docker-compose': 'docker-compose',
    // The collector's TLS tests make their certificate with it (test/collector/api/tls.test.ts).
    openssl: 'openssl',
    // The lab's netfilter scenarios write Calico-like rules with it (lab/scenarios/; Debian 12's is
    // iptables-nft): test/lab/scenarios.test.ts and test/story/lab-scenarios.test.ts.
    iptables: 'iptables',
    // Debian's ClickHouse (18.16) for the server storage tests; the test run starts a throwaway one.
    'clickhouse-server': 'clickhouse-server',
    // Headless Chromium for the web UI's browser tests (test/ui).
    chromium: 'chromium',
    // The engine's sanitizer and libFuzzer builds (test/native/sanitizers.test.ts); clang's runtimes are only Recommended.
    clang: 'clang',
    '/usr/lib/clang/14/lib/linux/libclang_rt.fuzzer-x86_64.a': 'libclang-rt-dev',
  },
  bench: { ...NATIVE_BUILD, tcpdump: 'tcpdump', tshark: 'tshark' },
  // The addon's build alone: its drop monitor loads through libbpf, which the build brings (no bpftrace).
  start: { ...NATIVE_BUILD },
};

function say(msg) {
  process.stderr.write(`pathwatch setup: ${msg}\n`);
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    say(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
}

function has(command) {
  if (command.startsWith('/')) return existsSync(command);
  return spawnSync('sh', ['-c', `command -v ${command} || test -x /usr/sbin/${command}`], { stdio: 'ignore' }).status === 0;
}

function newestMtime(dir, extensions = ['.ts']) {
  let newest = 0;
  if (!existsSync(dir)) return 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p, extensions));
    else if (extensions.some((ext) => entry.name.endsWith(ext))) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

// 1. System tools (only as root with apt-get: never ask for a password in the middle of a test run).
const wanted = SYSTEM_TOOLS[purpose] ?? {};
const missing = [...new Set(Object.entries(wanted).filter(([cmd]) => !has(cmd)).map(([, pkg]) => pkg))];
if (missing.length > 0) {
  if (process.getuid?.() === 0 && has('apt-get')) {
    say(`installing ${missing.join(', ')} with apt-get`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const apt = (args) => spawnSync('apt-get', args, { stdio: 'inherit', env }).status === 0;
    if (!apt(['update', '-qq'])) say('apt-get update failed; installing from the package lists there are');
    const install = (pkgs) => apt(['install', '-y', '-qq', '--no-install-recommends', ...pkgs]);
    // One package this release lacks must not keep the others out: on failure, each on its own.
    if (!install(missing)) {
      const failed = missing.filter((pkg) => !install([pkg]));
      if (failed.length > 0) say(`apt-get could not install ${failed.join(', ')}; the tests that need them will say so`);
    }
  } else {
    say(`not installed: ${missing.join(', ')} (run as root, or install them, for the tests that need them)`);
  }
}

// 2. npm dependencies: `npm ci` also builds (prepare).
const lock = join(root, 'package-lock.json');
const installed = join(root, 'node_modules', '.package-lock.json');
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  say('installing npm dependencies (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

// 3. Rebuild the native engine when one of its sources (or binding.gyp) is newer than the addon.
const addon = join(root, 'build', 'Release', 'pathwatch_native.node');
const nativeSources = Math.max(newestMtime(join(root, 'native'), ['.c', '.h']), statSync(join(root, 'binding.gyp')).mtimeMs);
if (!existsSync(addon) || statSync(addon).mtimeMs < nativeSources) {
  say('building the native engine (node-gyp)');
  run(process.execPath, [join(root, 'scripts', 'build-native.mjs')]);
}

// 4. Build when any source is newer than the compiled entry point.
const builtEntry = join(root, 'dist', 'cli', 'main.js');
const sources = Math.max(...['core', 'schemas', 'agent', 'collector', 'modes', 'cli', 'lab', 'bench'].map((d) => newestMtime(join(root, d))));
if (!existsSync(builtEntry) || statSync(builtEntry).mtimeMs < sources) {
  say('building (tsc)');
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
}
