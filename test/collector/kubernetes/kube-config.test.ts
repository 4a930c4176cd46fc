/**
 * How the collector finds its credentials: --kubeconfig FILE, the pod's service account, or none;
 * and the one-line KubeConfigError for each way a kubeconfig can be unusable.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KubeConfigError, loadKubeAccess } from '../../../collector/kubernetes/kube-config.js';
import { KubeIdentities } from '../../../collector/kubernetes/kube-identities.js';
import { FakeKubeApi, PODS } from './fake-kube-api.js';

let dir: string;

function kubeconfigYaml(server: string, extra: { cluster?: string; user?: string; currentContext?: string } = {}): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: lab',
    '  cluster:',
    `    server: ${server}`,
    ...(extra.cluster ? [extra.cluster] : []),
    'users:',
    '- name: admin',
    '  user:',
    '    token: abc',
    ...(extra.user ? [extra.user] : []),
    'contexts:',
    '- name: lab',
    '  context:',
    '    cluster: lab',
    '    user: admin',
    `current-context: ${extra.currentContext ?? 'lab'}`,
    '',
  ].join('\n');
}

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function errorOf(f: () => Promise<unknown>): Promise<Error> {
  try {
    await f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pathwatch-kubeconfig-'));
  // Whatever the machine running the tests is, it is not in a pod unless a test says so.
  vi.stubEnv('KUBERNETES_SERVICE_HOST', '');
  vi.stubEnv('KUBERNETES_SERVICE_PORT', '');
});

afterEach(() => {
  vi.unstubAllEnvs();
  rmSync(dir, { recursive: true, force: true });
});

describe('loadKubeAccess', () => {
  it('is null without --kubeconfig outside a pod: the collector runs as before', async () => {
    expect(await loadKubeAccess()).toBeNull();
    expect(await loadKubeAccess({ kubeconfig: null })).toBeNull();
  });

  it('reads --kubeconfig FILE, with file paths relative to it', async () => {
    writeFileSync(join(dir, 'ca.crt'), 'not checked for content here');
    const path = write('config', kubeconfigYaml('https://10.0.0.1:6443', { cluster: '    certificate-authority: ca.crt' }));
    const access = await loadKubeAccess({ kubeconfig: path });
    expect(access?.source).toBe('kubeconfig');
    expect(access?.server).toBe('https://10.0.0.1:6443');
    expect(access?.description).toBe(`kubeconfig ${path} (https://10.0.0.1:6443)`);
    expect(access?.kubeConfig.getCurrentCluster()?.caFile).toBe(join(dir, 'ca.crt'));
  });

  it('uses the service account in a pod, and an explicit --kubeconfig over it', async () => {
    const sa = join(dir, 'var/run/secrets/kubernetes.io/serviceaccount');
    mkdirSync(sa, { recursive: true });
    writeFileSync(join(sa, 'token'), 'sa-token');
    writeFileSync(join(sa, 'ca.crt'), 'ca');
    writeFileSync(join(sa, 'namespace'), 'pathwatch');
    vi.stubEnv('KUBERNETES_SERVICE_HOST', '10.96.0.1');
    vi.stubEnv('KUBERNETES_SERVICE_PORT', '443');
    const access = await loadKubeAccess({ serviceAccountPathPrefix: dir });
    expect(access?.source).toBe('in-cluster');
    expect(access?.server).toBe('https://10.96.0.1:443');
    expect(access?.description).toBe('in-cluster service account (https://10.96.0.1:443)');

    const path = write('config', kubeconfigYaml('https://10.0.0.1:6443'));
    expect((await loadKubeAccess({ kubeconfig: path, serviceAccountPathPrefix: dir }))?.source).toBe('kubeconfig');

    rmSync(join(sa, 'token'));
    const error = await errorOf(() => loadKubeAccess({ serviceAccountPathPrefix: dir }));
    expect(error).toBeInstanceOf(KubeConfigError);
    expect(error.message).toBe(`in-cluster config: cannot read service account token ${join(sa, 'token')}: ENOENT`);
  });

  it('says in one line why a kubeconfig cannot be used', async () => {
    const cases: [string, string, string][] = [
      ['missing', '', 'cannot read: ENOENT'],
      ['empty', '   \n', 'invalid: the file is empty'],
      ['not yaml', 'clusters: [\n  - {name: x\n', 'invalid: '],
      ['no context', kubeconfigYaml('https://10.0.0.1:6443').replace('current-context: lab\n', ''), 'invalid: no current-context'],
      ['unknown context', kubeconfigYaml('https://10.0.0.1:6443', { currentContext: 'prod' }), 'invalid: current-context "prod" is not defined'],
      ['no server', kubeconfigYaml('https://10.0.0.1:6443', { cluster: '    insecure-skip-tls-verify: true' }).replace('    server: https://10.0.0.1:6443\n', ''), 'invalid: clusters[0].cluster.server is missing'],
      ['plain http', kubeconfigYaml('http://127.0.0.1:8080'), 'cluster "lab" server http://127.0.0.1:8080 is plain HTTP: set insecure-skip-tls-verify: true on the cluster to allow it'],
      ['missing ca', kubeconfigYaml('https://10.0.0.1:6443', { cluster: '    certificate-authority: /nonexistent/ca.crt' }), 'cannot read certificate-authority /nonexistent/ca.crt: ENOENT'],
      ['missing key', kubeconfigYaml('https://10.0.0.1:6443', { user: '    client-key: /nonexistent/key.pem' }), 'cannot read client-key /nonexistent/key.pem: ENOENT'],
    ];
    for (const [name, text, expected] of cases) {
      const path = name === 'missing' ? join(dir, 'missing') : write(name.replace(/ /g, '-'), text);
      const error = await errorOf(() => loadKubeAccess({ kubeconfig: path }));
      expect(error, name).toBeInstanceOf(KubeConfigError);
      expect(error.message, name).toContain(`kubeconfig ${path}: ${expected}`);
      expect(error.message, name).not.toMatch(/\n/);
    }
    const yamlError = await errorOf(() => loadKubeAccess({ kubeconfig: write('bad', 'clusters: [\n  - {name: x\n') }));
    expect(yamlError.message).toMatch(/\(line \d+\)$/);
    expect((await errorOf(() => loadKubeAccess({ kubeconfig: dir }))).message).toBe(`kubeconfig ${dir}: cannot read: EISDIR`);
  });

  it('gives a KubeConfig the identities can use (plain HTTP allowed with insecure-skip-tls-verify)', async () => {
    const api = new FakeKubeApi();
    await api.start();
    try {
      api.add(PODS, { metadata: { name: 'a', namespace: 'default', uid: 'u1' }, spec: {}, status: { podIP: '10.0.0.1' } });
      const path = write('config', kubeconfigYaml(api.url, { cluster: '    insecure-skip-tls-verify: true' }));
      const access = await loadKubeAccess({ kubeconfig: path });
      if (access === null) throw new Error('no access');
      const identities = new KubeIdentities(access.kubeConfig, { retryInitialMs: 10, retryMaxMs: 50 });
      await identities.start();
      expect(identities.podByIp('10.0.0.1')?.name).toBe('a');
      await identities.stop();
    } finally {
      await api.stop();
    }
  });
});
