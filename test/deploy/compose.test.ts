/**
 * docker-compose.yml as Docker would read it: validated and normalised by docker-compose itself
 * (`config`, which needs no engine), then checked for what each service must have: ClickHouse with
 * its volume, limits and health check; the collector storing into it with both tokens, after it is
 * healthy; the agent on the host network with exactly its capabilities, tracefs read-only, a spool,
 * and an image without chDB (another build target than the collector's).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from '../support/built-cli.js';
import { AGENT_CAPABILITIES, SPOOL_DIR, TRACEFS } from './agent-privileges.js';

function composeAvailable(): string | null {
  try {
    execFileSync('docker-compose', ['version'], { stdio: 'ignore' });
    return null;
  } catch {
    return 'docker-compose is not installed (Debian package docker-compose)';
  }
}

const unavailable = composeAvailable();
const IN_CI = process.env['CI'] === 'true';

interface Service {
  image?: string;
  build?: { context?: string; target?: string };
  command?: string[];
  entrypoint?: string[];
  depends_on?: Record<string, { condition?: string }> | string[];
  network_mode?: string;
  pid?: string;
  privileged?: boolean;
  cap_add?: string[];
  cap_drop?: string[];
  volumes?: (string | { type?: string; source?: string; target?: string; read_only?: boolean })[];
  secrets?: (string | { source: string; target?: string })[];
  ports?: (string | { host_ip?: string; published?: string | number; target?: number })[];
  ulimits?: Record<string, { soft: number; hard: number } | number>;
  healthcheck?: { test?: string[] | string };
  read_only?: boolean;
  user?: string;
  profiles?: string[];
  environment?: Record<string, string> | string[];
}

interface Compose {
  services: Record<string, Service>;
  secrets?: Record<string, { file?: string }>;
  volumes?: Record<string, unknown>;
}

/** The normalised configuration, or null where docker-compose is missing. */
function config(): Compose | null {
  if (unavailable !== null) return null;
  const out = execFileSync('docker-compose', ['-f', 'docker-compose.yml', 'config'], { cwd: ROOT, encoding: 'utf8' });
  return parse(out) as Compose;
}
const compose = config();

function service(name: string): Service {
  const s = compose?.services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
}

/** A volume as `source:target:mode` (short syntax, or long syntax turned into it). */
function volumeText(v: NonNullable<Service['volumes']>[number]): string {
  if (typeof v === 'string') return v;
  return `${v.source ?? ''}:${v.target ?? ''}:${v.read_only ? 'ro' : 'rw'}`;
}

const secretNames = (s: Service): string[] => (s.secrets ?? []).map((x) => (typeof x === 'string' ? x : x.source)).sort();
const args = (s: Service): string[] => [...(s.entrypoint ?? []), ...(s.command ?? [])];

/** The value following a flag in a command line. */
function flag(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

describe('docker-compose.yml', () => {
  it.runIf(IN_CI)('can be validated in CI', () => expect(unavailable).toBeNull());

  it.skipIf(unavailable !== null)('is valid and has ClickHouse, the collector and the agent (watch only on request)', () => {
    expect(Object.keys(compose!.services).sort()).toEqual(['agent', 'clickhouse', 'collector', 'watch']);
    expect(service('watch').profiles).toEqual(['watch']);
    for (const name of ['clickhouse', 'collector', 'agent']) expect(service(name).profiles, name).toBeUndefined();
  });

  it.skipIf(unavailable !== null)('runs the official ClickHouse server with a volume, a nofile limit and a health check', () => {
    const ch = service('clickhouse');
    expect(ch.image).toMatch(/^clickhouse\/clickhouse-server:\S+$/);
    expect(ch.volumes?.map(volumeText).some((v) => /^[\w-]+:\/var\/lib\/clickhouse(:rw)?$/.test(v))).toBe(true);
    const nofile = ch.ulimits?.['nofile'];
    expect(typeof nofile === 'object' ? nofile.soft : nofile).toBeGreaterThanOrEqual(262144);
    expect(ch.healthcheck?.test).toBeDefined();
    expect(JSON.stringify(ch.healthcheck?.test)).toContain(':8123/ping');
    // The password comes from the secret file, never from this file.
    expect(secretNames(ch)).toEqual(['clickhouse_password']);
    expect(JSON.stringify(ch.environment ?? {})).not.toMatch(/PASSWORD/);
    expect(ch.entrypoint?.join(' ')).toContain('CLICKHOUSE_PASSWORD="$$(cat /run/secrets/clickhouse_password)" exec /entrypoint.sh');
    expect(ch.ports).toBeUndefined();
  });

  it.skipIf(unavailable !== null)('runs the collector on ClickHouse with both tokens, after ClickHouse is healthy, on loopback', () => {
    const c = service('collector');
    expect(c.build?.target).toBe('collector');
    expect(c.depends_on).toEqual({ clickhouse: { condition: 'service_healthy' } });
    const argv = args(c);
    expect(argv.join(' ')).toContain('pathwatch.js collector --store "clickhouse://pathwatch:$$(cat /run/secrets/clickhouse_password)@clickhouse:8123/pathwatch" "$$@"');
    expect(flag(argv, '--listen')).toBe('0.0.0.0:7070');
    expect(flag(argv, '--token-file')).toBe('/run/secrets/ingest_token');
    expect(flag(argv, '--read-token-file')).toBe('/run/secrets/read_token');
    expect(secretNames(c)).toEqual(['clickhouse_password', 'ingest_token', 'read_token']);
    const ports = (c.ports ?? []).map((p) => (typeof p === 'string' ? p : `${p.host_ip}:${p.published}:${p.target}/tcp`));
    expect(ports).toEqual(['127.0.0.1:7070:7070/tcp']);
    expect(c.user).toBe('node');
    expect(c.cap_drop).toEqual(['ALL']);
    expect(c.cap_add).toBeUndefined();
    expect(c.read_only).toBe(true);
    expect(JSON.stringify(c.healthcheck?.test)).toContain('/healthz');
  });

  it.skipIf(unavailable !== null)('runs the agent on the host network with exactly its capabilities, tracefs read-only and a spool', () => {
    const a = service('agent');
    expect(a.build?.target).toBe('agent');
    expect(a.build?.target).not.toBe(service('collector').build?.target);
    expect(a.image).not.toBe(service('collector').image);
    expect(a.network_mode).toBe('host');
    expect(a.pid).toBeUndefined();
    expect(a.privileged).toBeFalsy();
    expect(a.cap_drop).toEqual(['ALL']);
    expect([...(a.cap_add ?? [])].sort()).toEqual([...AGENT_CAPABILITIES]);
    expect(a.read_only).toBe(true);
    const volumes = (a.volumes ?? []).map(volumeText);
    expect(volumes).toContain(`${TRACEFS}:${TRACEFS}:ro`);
    expect(volumes.some((v) => v.startsWith('/proc'))).toBe(false);
    expect(volumes.some((v) => new RegExp(`^[\\w-]+:${SPOOL_DIR}(:rw)?$`).test(v))).toBe(true);
    const argv = args(a);
    expect(argv[0]).toBe('agent');
    expect(flag(argv, '--collector')).toBe('http://127.0.0.1:7070');
    expect(flag(argv, '--token-file')).toBe('/run/secrets/ingest_token');
    expect(flag(argv, '--spool-dir')).toBe(SPOOL_DIR);
    expect(secretNames(a)).toEqual(['ingest_token']);
    expect(Object.keys(a.depends_on ?? {})).toEqual(['collector']);
  });

  it.skipIf(unavailable !== null)('runs watch with the agent\'s privileges', () => {
    const w = service('watch');
    expect(w.build?.target).toBe('watch');
    expect(w.command?.[0]).toBe('watch');
    expect(w.network_mode).toBe('host');
    expect(w.cap_drop).toEqual(['ALL']);
    expect([...(w.cap_add ?? [])].sort()).toEqual([...AGENT_CAPABILITIES]);
    expect((w.volumes ?? []).map(volumeText)).toContain(`${TRACEFS}:${TRACEFS}:ro`);
  });

  it.skipIf(unavailable !== null)('takes its secrets from files under deploy/secrets/ that git ignores, each with an example', () => {
    const files = Object.values(compose!.secrets ?? {}).map((s) => s.file ?? '');
    expect(files).toHaveLength(3);
    for (const file of files) {
      const path = relative(ROOT, file);
      expect(path).toMatch(/^deploy\/secrets\/\w+$/);
      expect(existsSync(join(ROOT, `${path}.example`)), `${path}.example`).toBe(true);
      // `git check-ignore` exits 0 for an ignored path.
      expect(() => execFileSync('git', ['check-ignore', '-q', path], { cwd: ROOT })).not.toThrow();
      expect(() => execFileSync('git', ['check-ignore', '-q', `${path}.example`], { cwd: ROOT })).toThrow();
    }
  });
});

describe('docker-compose.yml (read as YAML)', () => {
  // Also where docker-compose is missing: the file itself keeps its promises.
  const raw = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as Compose;

  it('names no secret value', () => {
    const text = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
    expect(text).not.toMatch(/PASSWORD\s*[:=]\s*\w/);
    expect(Object.keys(raw.secrets ?? {}).sort()).toEqual(['clickhouse_password', 'ingest_token', 'read_token']);
  });

  it('builds the agent and the collector from different targets', () => {
    expect(raw.services['agent']?.build?.target).toBe('agent');
    expect(raw.services['collector']?.build?.target).toBe('collector');
  });
});
