/**
 * The Dockerfile, read as text (no Docker engine runs the tests): its final targets, what each
 * installs, and that the agent's image carries no chDB, which holds only because the agent's command
 * line never imports it: checked here by following cli/main.ts's static imports through the sources.
 */
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/built-cli.js';

interface Stage {
  readonly name: string;
  /** The image or stage it starts from. */
  readonly from: string;
  /** Its instructions, continuation lines joined. */
  readonly lines: readonly string[];
}

function stages(dockerfile: string): Stage[] {
  const joined = dockerfile.replace(/\\\n/g, ' ');
  const out: { name: string; from: string; lines: string[] }[] = [];
  for (const raw of joined.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) out.push({ name: from[2] ?? `#${out.length}`, from: from[1]!, lines: [] });
    else out.at(-1)?.lines.push(line);
  }
  return out;
}

const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const all = stages(text);
const byName = new Map(all.map((s) => [s.name, s]));

function stage(name: string): Stage {
  const s = byName.get(name);
  if (!s) throw new Error(`Dockerfile has no stage ${name}`);
  return s;
}

/** A stage and the stages it is built on, itself first. */
function chain(name: string): Stage[] {
  const out: Stage[] = [];
  for (let s: Stage | undefined = stage(name); s; s = byName.get(s.from)) out.push(s);
  return out;
}

/** The stage a final image's node_modules are copied from. */
function nodeModulesSource(name: string): Stage {
  for (const s of chain(name)) {
    for (const l of s.lines) {
      const m = /^COPY\s+--from=(\S+)\s+\S*node_modules\s/.exec(l);
      if (m) return stage(m[1]!);
    }
  }
  throw new Error(`${name} copies no node_modules`);
}

const runs = (s: Stage): string => s.lines.filter((l) => l.startsWith('RUN ')).join('\n');

describe('Dockerfile', () => {
  it('has the final targets collector, agent and watch, on node 20 (Debian bookworm)', () => {
    for (const name of ['collector', 'agent', 'watch']) expect(byName.has(name), name).toBe(true);
    expect(text).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    expect(chain('agent').at(-1)?.from).toBe('${NODE_IMAGE}');
    expect(chain('collector').at(-1)?.from).toBe('${NODE_IMAGE}');
  });

  it('gives the collector chDB and runs it as the unprivileged node user', () => {
    const deps = nodeModulesSource('collector');
    expect(runs(deps)).toMatch(/npm prune --omit=dev(?! --omit=optional)/); // chDB's library is an optional package
    expect(runs(deps)).not.toMatch(/chdb.*(delete|rm )|rm -rf node_modules\/(@?chdb)/);
    expect(runs(deps)).toContain("import('chdb')");
    expect(stage('collector').lines).toContain('USER node');
    // What the compiled code reads beside it at run time: the wire schema, and the web UI's files.
    expect(stage('collector').lines).toContain('COPY --from=build /app/schemas schemas');
    expect(stage('collector').lines).toContain('COPY --from=build /app/collector/ui collector/ui');
    expect(stage('agent').lines).toContain('COPY --from=build /app/schemas schemas');
  });

  it('leaves chDB out of the agent\'s image and gives it libpcap, libbpf, iproute2 and iptables, and no tcpdump or bpftrace', () => {
    const deps = nodeModulesSource('agent');
    expect(deps.name).not.toBe(nodeModulesSource('collector').name);
    expect(runs(deps)).toContain('npm pkg delete dependencies.chdb');
    expect(runs(deps)).toMatch(/npm prune --omit=dev --omit=optional/);
    expect(runs(deps)).toContain('test ! -e node_modules/chdb');
    const agentRuns = chain('agent').map(runs).join('\n');
    expect(agentRuns).toMatch(/apt-get install[^\n]*\blibpcap0\.8\b/);
    // The addon links libbpf: it loads the kernel drop monitor's program in the agent's own process.
    expect(agentRuns).toMatch(/apt-get install[^\n]*\blibbpf1\b/);
    expect(agentRuns).toMatch(/apt-get install[^\n]*\biproute2\b/);
    // iptables-save -c: which dropping netfilter rule's counter grew while packets vanished.
    expect(agentRuns).toMatch(/apt-get install[^\n]*\biptables\b/);
    // Live capture is libpcap inside the addon and the drop monitor libbpf: no tool runs beside the agent.
    expect(agentRuns).not.toMatch(/\btcpdump\b/);
    expect(agentRuns).not.toMatch(/\bbpftrace\b/);
    expect(chain('agent').flatMap((s) => s.lines).filter((l) => /BPFTRACE/.test(l))).toEqual([]);
    expect(agentRuns).toContain('node bin/pathwatch.js agent --help');
    // The program it loads is in the image, where drop-monitor-native.ts looks for it.
    expect(stage('agent').lines).toContain('COPY --from=build /app/native/bpf/drop_monitor.bpf.o native/bpf/drop_monitor.bpf.o');
    expect(chain('agent').some((s) => s.lines.some((l) => /^COPY --from=collector-deps/.test(l)))).toBe(false);
  });

  it('builds the native addon in the build stage and gives it to the agent, where it is loaded once', () => {
    const build = runs(stage('build'));
    expect(build).toMatch(/apt-get install[^\n]*\bbuild-essential\b[^\n]*\bpython3\b[^\n]*\blibpcap-dev\b[^\n]*\bzlib1g-dev\b/);
    expect(build).toContain('node scripts/build-native.mjs');
    // Its sources reach the build stage, and the addon sits where native-addon.ts looks (beside binding.gyp).
    expect(stage('build').lines).toContain('COPY native native');
    const agentLines = chain('agent').flatMap((s) => s.lines);
    expect(agentLines).toContain('COPY --from=build /app/build/Release/pathwatch_native.node build/Release/pathwatch_native.node');
    expect(agentLines).toContain('COPY --from=build /app/binding.gyp ./');
    expect(chain('agent').map(runs).join('\n')).toContain('nativeAddon().versions()');
    // The collector never loads it.
    expect(chain('collector').flatMap((s) => s.lines).filter((l) => /pathwatch_native|libpcap/.test(l))).toEqual([]);
  });

  it('keeps watch on the agent\'s image', () => {
    expect(chain('watch').map((s) => s.name)).toContain('agent');
    expect(stage('watch').lines).toContain('CMD ["watch"]');
  });
});

/** Static imports (not `import type`, not `import()`) of a TypeScript source: [relative paths, packages]. */
function staticImports(file: string): { files: string[]; packages: string[] } {
  const source = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const files: string[] = [];
  const packages: string[] = [];
  const re = /(?:^|[;\n])\s*(?:import|export)\s+(type\s+)?(?:[\w*${}\s,]+?\s+from\s+)?['"]([^'"]+)['"]/g;
  for (const m of source.matchAll(re)) {
    if (m[1]) continue;
    const spec = m[2]!;
    if (spec.startsWith('.')) files.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
    else packages.push(spec);
  }
  return { files, packages };
}

function staticClosure(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (f: string): void => {
    if (files.has(f)) return;
    if (!existsSync(f)) throw new Error(`import of a missing file: ${relative(ROOT, f)}`);
    files.add(f);
    const found = staticImports(f);
    for (const p of found.packages) packages.add(p);
    for (const next of found.files) visit(next);
  };
  visit(entry);
  return { files, packages };
}

describe('the agent\'s command line', () => {
  const { files, packages } = staticClosure(join(ROOT, 'cli/main.ts'));
  const packageName = (spec: string): string => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
  const npmPackages = [...packages].filter((p) => !p.startsWith('node:') && !builtinModules.includes(packageName(p))).map(packageName);

  it('is followed through its imports (the walk sees the agent)', () => {
    expect(files.has(join(ROOT, 'cli/agent-command.ts'))).toBe(true);
    expect(files.has(join(ROOT, 'agent/live/agent-runner.ts'))).toBe(true);
  });

  it('never imports chDB or the collector\'s store when it starts', () => {
    expect(npmPackages).not.toContain('chdb');
    expect([...files].map((f) => relative(ROOT, f)).filter((f) => f.startsWith('collector/store/backends/'))).toEqual([]);
  });

  it('imports only packages the agent\'s image installs', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const inAgentImage = Object.keys(pkg.dependencies).filter((d) => d !== 'chdb');
    for (const p of npmPackages) expect(inAgentImage, p).toContain(p);
  });
});
