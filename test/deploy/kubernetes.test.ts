/**
 * deploy/kubernetes/: every manifest parses, kustomization.yaml lists exactly them, and each keeps
 * its promises: the agent on every node in the node's network namespace with exactly its
 * capabilities, tracefs read-only, its node name from the downward API; the collector non-root with
 * probes on /healthz behind a Service on 7070; every Secret, key and ConfigMap referenced exists;
 * Guaranteed QoS everywhere. And deploy/secrets/generate.sh writes Secrets of the same shape.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ROOT } from '../support/built-cli.js';
import { AGENT_CAPABILITIES, SPOOL_DIR, TRACEFS } from './agent-privileges.js';

const DIR = join(ROOT, 'deploy/kubernetes');
const NAMESPACE = 'pathwatch';

type Manifest = Record<string, any>;

function parseManifests(text: string, where: string): Manifest[] {
  return parseAllDocuments(text).map((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`${where} document ${i}: ${doc.errors[0]!.message}`);
    return doc.toJS() as Manifest;
  }).filter((m) => m !== null);
}

const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();
const manifests = new Map(files.map((f) => [f, parseManifests(readFileSync(join(DIR, f), 'utf8'), f)]));
const resources = [...manifests].filter(([f]) => f !== 'kustomization.yaml').flatMap(([, ms]) => ms);
const kustomization = manifests.get('kustomization.yaml')?.[0] ?? {};

function only(kind: string, name: string): Manifest {
  const found = resources.filter((m) => m['kind'] === kind && m['metadata']?.['name'] === name);
  expect(found, `${kind}/${name}`).toHaveLength(1);
  return found[0]!;
}

const podSpec = (workload: Manifest): Manifest => workload['spec']['template']['spec'];
const workloads = (): Manifest[] => resources.filter((m) => ['Deployment', 'DaemonSet', 'StatefulSet', 'Job', 'CronJob'].includes(m['kind']));
const containersOf = (workload: Manifest): Manifest[] => [...(podSpec(workload)['initContainers'] ?? []), ...podSpec(workload)['containers']];

/** The value following a flag in a container's args. */
function flag(container: Manifest, name: string): string | undefined {
  const argv: string[] = container['args'] ?? [];
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

function volumeFor(workload: Manifest, container: Manifest, mountPath: string): { mount: Manifest; volume: Manifest } {
  const mount = (container['volumeMounts'] ?? []).find((m: Manifest) => m['mountPath'] === mountPath);
  expect(mount, `a volume at ${mountPath}`).toBeDefined();
  const volume = (podSpec(workload)['volumes'] ?? []).find((v: Manifest) => v['name'] === mount['name']);
  expect(volume, `volume ${mount['name']}`).toBeDefined();
  return { mount, volume };
}

describe('deploy/kubernetes manifests', () => {
  it('all parse, and kustomization.yaml lists exactly the others, in one namespace', () => {
    expect(files).toEqual(['agent-daemonset.yaml', 'clickhouse-config.yaml', 'collector-deployment.yaml', 'collector-service.yaml', 'kustomization.yaml', 'namespace.yaml', 'secret.yaml']);
    expect(kustomization['kind']).toBe('Kustomization');
    const listed: string[] = kustomization['resources'];
    expect([...listed].sort()).toEqual(files.filter((f) => f !== 'kustomization.yaml'));
    expect(kustomization['namespace']).toBe(NAMESPACE);
    expect(only('Namespace', NAMESPACE)['metadata']['labels']['pod-security.kubernetes.io/enforce']).toBe('privileged');
    for (const m of resources) {
      expect(m['apiVersion'], JSON.stringify(m['metadata'])).toBeTruthy();
      if (m['kind'] !== 'Namespace') expect(m['metadata']['namespace'], `${m['kind']}/${m['metadata']['name']}`).toBe(NAMESPACE);
    }
    // The images kustomization.yaml lets one point elsewhere are the ones the workloads run.
    const images = (kustomization['images'] as Manifest[]).map((i) => i['name']).sort();
    expect(workloads().flatMap(containersOf).map((c) => String(c['image']).split(':')[0]).sort()).toEqual(images);
  });

  it('runs the agent on every node in the node\'s network namespace, with exactly its capabilities', () => {
    const ds = only('DaemonSet', 'pathwatch-agent');
    const spec = podSpec(ds);
    expect(spec['hostNetwork']).toBe(true);
    expect(spec['dnsPolicy']).toBe('ClusterFirstWithHostNet');
    expect(spec['hostPID']).toBeFalsy();
    expect(spec['hostIPC']).toBeFalsy();
    expect(spec['tolerations']).toEqual([{ operator: 'Exists' }]);
    const [agent] = spec['containers'] as Manifest[];
    expect(spec['containers']).toHaveLength(1);
    const sc = agent!['securityContext'];
    expect(sc['privileged']).toBeFalsy();
    expect(sc['allowPrivilegeEscalation']).toBe(false);
    expect(sc['readOnlyRootFilesystem']).toBe(true);
    expect(sc['capabilities']['drop']).toEqual(['ALL']);
    expect([...sc['capabilities']['add']].sort()).toEqual([...AGENT_CAPABILITIES]);
    expect(agent!['args'][0]).toBe('agent');
  });

  it('mounts tracefs read-only and no host /proc; spools on the node', () => {
    const ds = only('DaemonSet', 'pathwatch-agent');
    const [agent] = podSpec(ds)['containers'] as Manifest[];
    const tracefs = volumeFor(ds, agent!, TRACEFS);
    expect(tracefs.mount['readOnly']).toBe(true);
    expect(tracefs.volume['hostPath']).toEqual({ path: TRACEFS, type: 'Directory' });
    const hostPaths = (podSpec(ds)['volumes'] as Manifest[]).filter((v) => v['hostPath']).map((v) => v['hostPath']['path']);
    expect(hostPaths.filter((p: string) => p.startsWith('/proc'))).toEqual([]);
    const spool = volumeFor(ds, agent!, SPOOL_DIR);
    expect(spool.volume['hostPath'] ?? spool.volume['emptyDir']).toBeDefined();
    expect(flag(agent!, '--spool-dir')).toBe(SPOOL_DIR);
    // The read-only root leaves /tmp (scratch space for the tools) to a volume.
    expect(volumeFor(ds, agent!, '/tmp').volume['emptyDir']).toBeDefined();
  });

  it('names the agent\'s node from the downward API and ships to the collector\'s Service with the ingest token', () => {
    const ds = only('DaemonSet', 'pathwatch-agent');
    const [agent] = podSpec(ds)['containers'] as Manifest[];
    const env = (agent!['env'] as Manifest[]).find((e) => e['name'] === 'NODE_NAME');
    expect(env?.['valueFrom']).toEqual({ fieldRef: { fieldPath: 'spec.nodeName' } });
    expect(flag(agent!, '--node')).toBe('$(NODE_NAME)');
    const svc = only('Service', 'pathwatch-collector');
    expect(flag(agent!, '--collector')).toBe(`http://${svc['metadata']['name']}.${NAMESPACE}.svc.cluster.local:7070`);
    const tokenFile = flag(agent!, '--token-file')!;
    const dir = tokenFile.slice(0, tokenFile.lastIndexOf('/'));
    const token = volumeFor(ds, agent!, dir);
    expect(token.mount['readOnly']).toBe(true);
    expect(token.volume['secret']['secretName']).toBe('pathwatch-tokens');
    // The agent gets the ingest token only.
    expect(token.volume['secret']['items']).toEqual([{ key: 'ingest-token', path: tokenFile.slice(dir.length + 1) }]);
  });

  it('runs the collector unprivileged, on ClickHouse from the ConfigMap and Secret, with both tokens', () => {
    const dep = only('Deployment', 'pathwatch-collector');
    const spec = podSpec(dep);
    expect(spec['securityContext']['runAsNonRoot']).toBe(true);
    expect(spec['securityContext']['runAsUser']).toBe(1000);
    const [c] = spec['containers'] as Manifest[];
    expect(c!['securityContext']).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(c!['args'][0]).toBe('collector');
    expect(flag(c!, '--listen')).toBe('0.0.0.0:7070');
    expect(flag(c!, '--store')).toBe('clickhouse://$(CLICKHOUSE_USER):$(CLICKHOUSE_PASSWORD)@$(CLICKHOUSE_HOST):$(CLICKHOUSE_PORT)/$(CLICKHOUSE_DATABASE)');
    // Every $(VAR) in the arguments is defined, from the ConfigMap or the Secret.
    const config = only('ConfigMap', 'pathwatch-clickhouse')['data'] as Record<string, string>;
    const defined = new Set<string>([
      ...(c!['env'] as Manifest[]).map((e) => e['name']),
      ...(c!['envFrom'] as Manifest[]).flatMap((e) => Object.keys(only('ConfigMap', e['configMapRef']['name'])['data'])),
    ]);
    for (const m of (c!['args'] as string[]).join(' ').matchAll(/\$\((\w+)\)/g)) expect(defined, m[1]).toContain(m[1]);
    expect(Number(config['CLICKHOUSE_PORT'])).toBe(8123);
    for (const name of ['--token-file', '--read-token-file']) {
      const file = flag(c!, name)!;
      const v = volumeFor(dep, c!, file.slice(0, file.lastIndexOf('/')));
      expect(v.volume['secret']['secretName'], name).toBe('pathwatch-tokens');
      expect(v.volume['secret']['items'].map((i: Manifest) => i['path'])).toContain(file.slice(file.lastIndexOf('/') + 1));
    }
  });

  it('probes the collector on /healthz and serves it on port 7070 through a ClusterIP Service', () => {
    const dep = only('Deployment', 'pathwatch-collector');
    const [c] = podSpec(dep)['containers'] as Manifest[];
    const port = (c!['ports'] as Manifest[]).find((p) => p['name'] === 'http');
    expect(port?.['containerPort']).toBe(7070);
    for (const probe of ['readinessProbe', 'livenessProbe']) {
      expect(c![probe]?.['httpGet'], probe).toEqual({ path: '/healthz', port: 'http' });
    }
    const svc = only('Service', 'pathwatch-collector');
    expect(svc['spec']['type']).toBe('ClusterIP');
    expect(svc['spec']['ports']).toEqual([{ name: 'http', port: 7070, targetPort: 'http', protocol: 'TCP' }]);
    const labels = dep['spec']['template']['metadata']['labels'];
    for (const [k, v] of Object.entries(svc['spec']['selector'])) expect(labels[k], k).toBe(v);
    for (const [k, v] of Object.entries(dep['spec']['selector']['matchLabels'])) expect(labels[k], k).toBe(v);
  });

  it('gives every container requests equal to its limits (Guaranteed QoS)', () => {
    const containers = workloads().flatMap(containersOf);
    expect(containers.length).toBeGreaterThanOrEqual(2);
    for (const c of containers) {
      const r = c['resources'];
      expect(r?.['limits']?.['cpu'], c['name']).toBeDefined();
      expect(r?.['limits']?.['memory'], c['name']).toBeDefined();
      expect(r['requests'], c['name']).toEqual(r['limits']);
    }
  });

  it('references only Secrets, keys and ConfigMaps that the manifests define', () => {
    const secretKeys = (name: string): string[] => {
      const s = only('Secret', name);
      return Object.keys({ ...(s['data'] ?? {}), ...(s['stringData'] ?? {}) });
    };
    let references = 0;
    for (const w of workloads()) {
      for (const v of podSpec(w)['volumes'] ?? []) {
        if (!v['secret']) continue;
        references++;
        const keys = secretKeys(v['secret']['secretName']);
        for (const item of v['secret']['items'] ?? []) expect(keys, v['secret']['secretName']).toContain(item['key']);
      }
      for (const c of containersOf(w)) {
        for (const e of c['env'] ?? []) {
          const ref = e['valueFrom']?.['secretKeyRef'];
          if (ref) {
            references++;
            expect(secretKeys(ref['name']), ref['name']).toContain(ref['key']);
          }
          const cm = e['valueFrom']?.['configMapKeyRef'];
          if (cm) expect(Object.keys(only('ConfigMap', cm['name'])['data'])).toContain(cm['key']);
        }
        for (const e of c['envFrom'] ?? []) {
          if (e['configMapRef']) only('ConfigMap', e['configMapRef']['name']);
          if (e['secretRef']) only('Secret', e['secretRef']['name']);
        }
      }
    }
    expect(references).toBeGreaterThanOrEqual(3);
  });

  it('holds placeholders in secret.yaml that the collector refuses (shorter than 8 characters)', () => {
    const secrets = manifests.get('secret.yaml')!;
    expect(secrets.every((s) => s['kind'] === 'Secret')).toBe(true);
    for (const s of secrets) {
      for (const [key, value] of Object.entries(s['stringData'] ?? {})) expect(String(value).length, key).toBeLessThan(8);
      expect(s['data']).toBeUndefined();
    }
    expect(readFileSync(join(DIR, 'secret.yaml'), 'utf8')).toMatch(/PLACEHOLDERS, NOT SECRETS/);
  });
});

describe('deploy/secrets/generate.sh', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pathwatch-secrets-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('makes random tokens, and with --kubernetes the Secrets secret.yaml stands for, with the same values', () => {
    const out = execFileSync('sh', [join(ROOT, 'deploy/secrets/generate.sh'), '--kubernetes'], { env: { ...process.env, PATHWATCH_SECRETS_DIR: dir }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const files = Object.fromEntries(['ingest_token', 'read_token', 'clickhouse_password'].map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
    for (const [name, value] of Object.entries(files)) expect(value, name).toMatch(/^[0-9a-f]{48}$/);
    expect(new Set(Object.values(files)).size).toBe(3);
    const generated = parseManifests(out, 'generate.sh --kubernetes');
    const shape = (ms: Manifest[]): string[] => ms.map((m) => `${m['kind']} ${m['metadata']['namespace']}/${m['metadata']['name']}: ${Object.keys({ ...(m['data'] ?? {}), ...(m['stringData'] ?? {}) }).sort().join(',')}`).sort();
    expect(shape(generated)).toEqual(shape(manifests.get('secret.yaml')!));
    const decoded = (name: string, key: string): string => Buffer.from(generated.find((m) => m['metadata']['name'] === name)!['data'][key], 'base64').toString();
    expect(decoded('pathwatch-tokens', 'ingest-token')).toBe(files['ingest_token']);
    expect(decoded('pathwatch-tokens', 'read-token')).toBe(files['read_token']);
    expect(decoded('pathwatch-clickhouse', 'password')).toBe(files['clickhouse_password']);
    // A second run keeps what exists.
    execFileSync('sh', [join(ROOT, 'deploy/secrets/generate.sh')], { env: { ...process.env, PATHWATCH_SECRETS_DIR: dir }, stdio: 'ignore' });
    expect(readFileSync(join(dir, 'ingest_token'), 'utf8')).toBe(files['ingest_token']);
  });
});
