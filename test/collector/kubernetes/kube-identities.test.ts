/**
 * KubeIdentities against a fake API server (fake-kube-api.ts) through the real client
 * (@kubernetes/client-node): enrichment by address (IPv4 and IPv6) with workloads from owner
 * references, node and Calico block lookups, watch events, the deleted-pod memory and its expiry
 * (injected clock), the bound on pods, resuming a closed watch from the last resourceVersion, relisting
 * after 410 Gone, riding out the server going away, and the one-line errors.
 */
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeIdentities, type KubeIdentitiesOptions } from '../../../collector/kubernetes/kube-identities.js';
import { BLOCKS, FakeKubeApi, NODES, PODS, type FakeObject } from './fake-kube-api.js';

function kubeConfigFor(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server, skipTLSVerify: true }],
    users: [{ name: 'collector', token: 'test-token' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'collector' }],
    currentContext: 'fake',
  });
  return kc;
}

interface PodSpec {
  ips?: string[];
  node?: string;
  owner?: { kind: string; name: string };
  labels?: Record<string, string>;
  hostNetwork?: boolean;
  phase?: string;
  uid?: string;
}

function pod(namespace: string, name: string, spec: PodSpec = {}): FakeObject {
  const ips = spec.ips ?? [];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace,
      uid: spec.uid ?? `uid-${namespace}-${name}`,
      creationTimestamp: '2025-01-01T00:00:00Z',
      labels: spec.labels ?? {},
      ...(spec.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: spec.owner.kind, name: spec.owner.name, uid: `uid-${spec.owner.name}`, controller: true, blockOwnerDeletion: true }] } : {}),
    },
    spec: { nodeName: spec.node ?? 'ubuntu-3', hostNetwork: spec.hostNetwork ?? false, containers: [{ name: 'main', image: 'busybox' }] },
    status: {
      phase: spec.phase ?? 'Running',
      ...(ips[0] !== undefined ? { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) } : {}),
      hostIP: '192.168.1.13',
    },
  };
}

function node(name: string, internalIps: string[]): FakeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, uid: `uid-${name}`, labels: { 'kubernetes.io/hostname': name } },
    status: {
      addresses: [...internalIps.map((address) => ({ type: 'InternalIP', address })), { type: 'ExternalIP', address: '203.0.113.9' }, { type: 'Hostname', address: name }],
    },
  };
}

function block(cidr: string, affinity: string | null): FakeObject {
  return {
    apiVersion: 'crd.projectcalico.org/v1',
    kind: 'IPAMBlock',
    metadata: { name: cidr.replace(/[./:]/g, '-'), uid: `uid-${cidr}` },
    spec: { cidr, affinity, allocations: [], unallocated: [], attributes: [], strictAffinity: false, deleted: false },
  };
}

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A free port nobody listens on. */
async function closedPort(): Promise<number> {
  const probe = new FakeKubeApi();
  await probe.start();
  const port = Number(new URL(probe.url).port);
  await probe.stop();
  return port;
}

const FAST: KubeIdentitiesOptions = { retryInitialMs: 10, retryMaxMs: 80, requestTimeoutMs: 2000 };

let api: FakeKubeApi;
let identities: KubeIdentities | null;
let clock: number;
let logLines: string[];
let consoleSpies: MockInstance[];

function makeIdentities(options: KubeIdentitiesOptions = {}): KubeIdentities {
  identities = new KubeIdentities(kubeConfigFor(api.url), { ...FAST, now: () => clock, log: (l) => logLines.push(l), ...options });
  return identities;
}

beforeEach(async () => {
  api = new FakeKubeApi();
  await api.start();
  identities = null;
  clock = 1_000_000;
  logLines = [];
  consoleSpies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) => vi.spyOn(console, m));
});

afterEach(async () => {
  await identities?.stop();
  // The client closed everything: the server sees no connection left.
  await waitFor('the client to close its connections', () => api.openConnections === 0);
  await api.stop();
  // No socket of the client's (nor the server's) is left behind.
  await waitFor('no TCP handle left', () => !process.getActiveResourcesInfo().some((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap'));
  // The client logs nothing of its own (no stack traces): everything goes through `log`, one line each.
  for (const spy of consoleSpies) expect(spy).not.toHaveBeenCalled();
  vi.restoreAllMocks();
  for (const line of logLines) expect(line).not.toMatch(/\n/);
});

describe('enrichment', () => {
  it('names pods by any of their addresses, with workload, node and labels; finds nodes and Calico blocks', async () => {
    api.add(PODS, pod('shop', 'web-7d4b9c8f6-x2x9q', { ips: ['10.91.1.130', 'FD00:10:91:1:0:0:0:82'], owner: { kind: 'ReplicaSet', name: 'web-7d4b9c8f6' }, labels: { app: 'web', 'pod-template-hash': '7d4b9c8f6' } }));
    api.add(PODS, pod('shop', 'db-0', { ips: ['10.91.1.131'], owner: { kind: 'StatefulSet', name: 'db' }, node: 'ubuntu-4' }));
    api.add(PODS, pod('kube-system', 'calico-node-abcde', { ips: ['10.91.1.132'], owner: { kind: 'DaemonSet', name: 'calico-node' } }));
    api.add(PODS, pod('default', 'ssh-server', { ips: ['10.91.1.128'] }));
    api.add(PODS, pod('default', 'legacy-abc12', { ips: ['10.91.1.133'], owner: { kind: 'ReplicaSet', name: 'legacy' } }));
    api.add(PODS, pod('ops', 'backup-29000000-q8w7e', { ips: ['10.91.1.134'], owner: { kind: 'Job', name: 'backup-29000000' } }));
    api.add(PODS, pod('ops', 'migrate-20240101-zzzzz', { ips: ['10.91.1.135'], owner: { kind: 'Job', name: 'migrate-20240101' } }));
    // hostNetwork pods answer on their node's address: never indexed.
    api.add(PODS, pod('pathwatch', 'agent-k7x2p', { ips: ['192.168.1.13'], owner: { kind: 'DaemonSet', name: 'pathwatch-agent' }, hostNetwork: true }));
    api.add(PODS, pod('shop', 'pending-0', { owner: { kind: 'StatefulSet', name: 'pending' } }));
    api.add(NODES, node('ubuntu-3', ['192.168.1.13', 'fd00::13']));
    api.add(NODES, node('ubuntu-4', ['192.168.1.14']));
    api.add(BLOCKS, block('10.91.1.128/26', 'host:ubuntu-3'));
    api.add(BLOCKS, block('10.91.1.0/24', 'host:ubuntu-4'));
    api.add(BLOCKS, block('fd00:10:91:1::80/122', 'host:ubuntu-3'));
    api.add(BLOCKS, block('10.91.2.0/26', null));

    // Pages of 3: pods take three requests (limit and continue), all from one snapshot.
    const ids = makeIdentities({ listPageSize: 3 });
    await ids.start();
    expect(api.requestsTo(PODS, 'list').map((r) => [r.query['limit'], r.query['continue'] !== undefined])).toEqual([
      ['3', false],
      ['3', true],
      ['3', true],
    ]);

    const web = { namespace: 'shop', name: 'web-7d4b9c8f6-x2x9q', workload: 'Deployment/web', node: 'ubuntu-3', labels: { app: 'web', 'pod-template-hash': '7d4b9c8f6' } };
    expect(ids.podByIp('10.91.1.130')).toEqual(web);
    expect(ids.podByIp('fd00:10:91:1::82')).toEqual(web); // IPv6, stored canonical
    expect(ids.podByIp('FD00:10:91:1:0::82')).toEqual(web); // any spelling
    expect(ids.podByIp('10.91.1.131')).toMatchObject({ name: 'db-0', workload: 'StatefulSet/db', node: 'ubuntu-4' });
    expect(ids.podByIp('10.91.1.132')?.workload).toBe('DaemonSet/calico-node');
    expect(ids.podByIp('10.91.1.128')).toEqual({ namespace: 'default', name: 'ssh-server', workload: null, node: 'ubuntu-3', labels: {} });
    expect(ids.podByIp('10.91.1.133')?.workload).toBe('ReplicaSet/legacy'); // no pod-template-hash: not a Deployment's
    expect(ids.podByIp('10.91.1.134')?.workload).toBe('CronJob/backup');
    expect(ids.podByIp('10.91.1.135')?.workload).toBe('Job/migrate-20240101');
    expect(ids.podByIp('192.168.1.13')).toBeNull();
    expect(ids.podByIp('10.91.9.9')).toBeNull();
    expect(ids.podByIp('not an address')).toBeNull();

    expect(ids.nodeByName('ubuntu-3')).toEqual({ name: 'ubuntu-3', internalIp: '192.168.1.13' });
    expect(ids.nodeByName('nope')).toBeNull();
    expect(ids.nodeByAddress('192.168.1.14')).toEqual({ name: 'ubuntu-4', internalIp: '192.168.1.14' });
    expect(ids.nodeByAddress('FD00::13')?.name).toBe('ubuntu-3');
    expect(ids.nodeByAddress('203.0.113.9')).toBeNull(); // ExternalIP: not the packet path's address

    expect(ids.blockOwner('10.91.1.130')).toEqual({ cidr: '10.91.1.128/26', node: 'ubuntu-3' }); // longest prefix
    expect(ids.blockOwner('10.91.1.5')).toEqual({ cidr: '10.91.1.0/24', node: 'ubuntu-4' });
    expect(ids.blockOwner('fd00:10:91:1::82')).toEqual({ cidr: 'fd00:10:91:1::80/122', node: 'ubuntu-3' });
    expect(ids.blockOwner('10.91.2.7')).toEqual({ cidr: '10.91.2.0/26', node: null });
    expect(ids.blockOwner('10.92.0.1')).toBeNull();

    expect(ids.status()).toEqual({ connected: true, pods: 9, nodes: 2, blocks: 4, lastError: null, refusedPods: 0 });
  });

  it('without Calico (404 for its group) runs with blocks unavailable, silently, asking once', async () => {
    api.fail(BLOCKS, { status: 404, reason: 'NotFound', message: 'the server could not find the requested resource' });
    api.add(PODS, pod('default', 'a', { ips: ['10.0.0.1'] }));
    const ids = makeIdentities();
    await ids.start();
    expect(ids.status()).toEqual({ connected: true, pods: 1, nodes: 0, blocks: 'unavailable', lastError: null, refusedPods: 0 });
    expect(ids.blockOwner('10.0.0.1')).toBeNull();
    await new Promise((r) => setTimeout(r, 100));
    expect(api.requestsTo(BLOCKS, 'list')).toHaveLength(1);
    expect(logLines).toEqual([]);
  });

  it('with Calico blocks forbidden, starts anyway and says why blocks are missing', async () => {
    api.fail(BLOCKS, { status: 403, reason: 'Forbidden', message: 'ipamblocks.crd.projectcalico.org is forbidden: User "collector" cannot list resource "ipamblocks"' });
    const ids = makeIdentities();
    await ids.start();
    const status = ids.status();
    expect(status).toMatchObject({ connected: true, blocks: 'unavailable' });
    expect(status.lastError).toBe(`kubernetes API ${api.url}: 403 Forbidden listing ipamblocks (crd.projectcalico.org/v1): ipamblocks.crd.projectcalico.org is forbidden: User "collector" cannot list resource "ipamblocks"`);
    // Retried in the background: granting the permission later is picked up.
    api.fail(BLOCKS, null);
    api.add(BLOCKS, block('10.0.0.0/26', 'host:n1'));
    await waitFor('blocks listed', () => ids.status().blocks === 1);
    expect(ids.status().lastError).toBeNull();
    expect(ids.blockOwner('10.0.0.1')?.node).toBe('n1');
  });
});

describe('watch', () => {
  it('follows additions, changes and deletions; remembers deleted pods for a while; a new pod with the address wins', async () => {
    api.add(PODS, pod('default', 'a', { ips: ['10.0.0.1'], labels: { v: '1' } }));
    api.add(NODES, node('n1', ['192.168.0.1']));
    api.add(BLOCKS, block('10.0.0.0/26', 'host:n1'));
    const ids = makeIdentities({ forgetDeletedAfterMs: 10 * 60_000 });
    await ids.start();

    api.add(PODS, pod('default', 'b', { ips: ['10.0.0.2'] }));
    await waitFor('b added', () => ids.podByIp('10.0.0.2')?.name === 'b');
    api.add(PODS, pod('default', 'a', { ips: ['10.0.0.1'], labels: { v: '2' } }));
    await waitFor('a modified', () => ids.podByIp('10.0.0.1')?.labels['v'] === '2');

    // A pod scheduled without an address yet gets one later.
    api.add(PODS, pod('default', 'c', {}));
    await waitFor('c added', () => ids.status().pods === 3);
    api.add(PODS, pod('default', 'c', { ips: ['10.0.0.3'] }));
    await waitFor('c got its address', () => ids.podByIp('10.0.0.3')?.name === 'c');

    // Deleted: gone from the pods, still answering for its address for forgetDeletedAfterMs.
    api.remove(PODS, 'default/a');
    await waitFor('a deleted', () => ids.status().pods === 2);
    expect(ids.podByIp('10.0.0.1')).toMatchObject({ namespace: 'default', name: 'a', labels: { v: '2' } });
    clock += 9 * 60_000;
    expect(ids.podByIp('10.0.0.1')?.name).toBe('a');
    clock += 61_000;
    expect(ids.podByIp('10.0.0.1')).toBeNull();

    // b deleted, its address given to d: d answers, not the memory of b; d deleted too: the memory of d.
    api.remove(PODS, 'default/b');
    await waitFor('b deleted', () => ids.status().pods === 1);
    expect(ids.podByIp('10.0.0.2')?.name).toBe('b');
    api.add(PODS, pod('default', 'd', { ips: ['10.0.0.2'] }));
    await waitFor('d added', () => ids.podByIp('10.0.0.2')?.name === 'd');
    api.remove(PODS, 'default/d');
    await waitFor('d deleted', () => ids.status().pods === 1);
    expect(ids.podByIp('10.0.0.2')?.name).toBe('d');

    // A finished Job pod keeps status.podIP after its address was handed on: the live pod wins.
    api.add(PODS, pod('ops', 'job-1', { ips: ['10.0.0.4'], phase: 'Succeeded', owner: { kind: 'Job', name: 'job' } }));
    api.add(PODS, pod('default', 'e', { ips: ['10.0.0.4'] }));
    await waitFor('e added', () => ids.status().pods === 3);
    expect(ids.podByIp('10.0.0.4')?.name).toBe('e');

    // Nodes and blocks follow too.
    api.add(NODES, node('n2', ['192.168.0.2']));
    api.remove(NODES, 'n1');
    await waitFor('n2 replaces n1', () => ids.nodeByName('n2') !== null && ids.nodeByName('n1') === null);
    expect(ids.nodeByAddress('192.168.0.1')).toBeNull();
    api.add(BLOCKS, block('10.0.0.0/26', 'host:n2'));
    await waitFor('block re-affined', () => ids.blockOwner('10.0.0.9')?.node === 'n2');
    api.remove(BLOCKS, '10-0-0-0-26');
    await waitFor('block deleted', () => ids.blockOwner('10.0.0.9') === null);
    expect(ids.status()).toMatchObject({ nodes: 1, blocks: 0 });
  });

  it('resumes a watch the server closed from the last resourceVersion (bookmarks included), without listing again', async () => {
    api.add(PODS, pod('default', 'a', { ips: ['10.0.0.1'] }));
    const ids = makeIdentities();
    await ids.start();
    await waitFor('pods watched', () => api.requestsTo(PODS, 'watch').length === 1);
    expect(api.requestsTo(PODS, 'watch')[0]?.query).toMatchObject({ resourceVersion: api.resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: '300' });

    api.add(PODS, pod('default', 'b', { ips: ['10.0.0.2'] }));
    await waitFor('b added', () => ids.podByIp('10.0.0.2') !== null);
    api.bookmark(PODS);
    const lastSeen = api.resourceVersion;
    await new Promise((r) => setTimeout(r, 20)); // the bookmark reaches the client
    // Changes made while no watch is open are delivered by the resumed one, from history.
    api.closeWatches(PODS);
    api.add(PODS, pod('default', 'c', { ips: ['10.0.0.3'] }), false);
    api.remove(PODS, 'default/a', false);
    await waitFor('c added, a deleted', () => ids.podByIp('10.0.0.3') !== null && ids.status().pods === 2);

    const watches = api.requestsTo(PODS, 'watch');
    expect(watches).toHaveLength(2);
    expect(watches[1]?.query['resourceVersion']).toBe(lastSeen);
    expect(api.requestsTo(PODS, 'list')).toHaveLength(1);
    expect(ids.status()).toMatchObject({ connected: true, lastError: null });
  });

  for (const goneAs of ['event', 'http'] as const) {
    it(`relists after 410 Gone (${goneAs === 'event' ? 'an ERROR event with code 410' : 'HTTP 410'}), replacing the state`, async () => {
      api.goneAs = goneAs;
      api.add(PODS, pod('default', 'a', { ips: ['10.0.0.1'] }));
      api.add(PODS, pod('default', 'b', { ips: ['10.0.0.2'] }));
      const ids = makeIdentities();
      await ids.start();
      await waitFor('pods watched', () => api.requestsTo(PODS, 'watch').length === 1);

      // While the client is not watching: b deleted, c added, and the history compacted past its version.
      api.closeWatches(PODS);
      api.remove(PODS, 'default/b', false);
      api.add(PODS, pod('default', 'c', { ips: ['10.0.0.3'] }), false);
      api.compact(PODS);
      await waitFor('relisted', () => ids.podByIp('10.0.0.3') !== null);

      expect(api.requestsTo(PODS, 'list')).toHaveLength(2);
      expect(ids.status()).toMatchObject({ connected: true, pods: 2, lastError: null });
      // The deletion the client never saw as an event still leaves b remembered for its address.
      expect(ids.podByIp('10.0.0.2')?.name).toBe('b');
      // And the watch goes on from the new list's version.
      await waitFor('watching again', () => api.requestsTo(PODS, 'watch').length === 3);
      api.add(PODS, pod('default', 'd', { ips: ['10.0.0.4'] }));
      await waitFor('d added', () => ids.podByIp('10.0.0.4') !== null);
    });
  }

  it('keeps answering while the API server is away, says so in one line, and reconnects', async () => {
    api.add(PODS, pod('default', 'a', { ips: ['10.0.0.1'] }));
    api.add(NODES, node('n1', ['192.168.0.1']));
    const ids = makeIdentities();
    await ids.start();
    await waitFor('watching', () => api.requestsTo(PODS, 'watch').length === 1 && api.requestsTo(NODES, 'watch').length === 1);

    await api.stop();
    await waitFor('disconnected', () => !ids.status().connected);
    const down = ids.status();
    expect(down.lastError).toMatch(new RegExp(`^kubernetes API ${api.url}: (connection refused \\(ECONNREFUSED\\)|connection reset \\(ECONNRESET\\)|connection closed mid-response) (watching|listing) (pods|nodes)$`));
    expect(ids.podByIp('10.0.0.1')?.name).toBe('a');
    expect(ids.nodeByName('n1')).not.toBeNull();
    const watchesWhileDown = api.requestsTo(PODS, 'watch').length;

    // Changes made while it was away are delivered after it comes back, from the resumed watch.
    api.add(PODS, pod('default', 'b', { ips: ['10.0.0.2'] }), false);
    await new Promise((r) => setTimeout(r, 50)); // a few retries against the closed port
    await api.restart();
    await waitFor('reconnected', () => ids.status().connected && ids.podByIp('10.0.0.2') !== null);
    expect(ids.status()).toMatchObject({ connected: true, pods: 2, nodes: 1, lastError: null });
    expect(api.requestsTo(PODS, 'list')).toHaveLength(1); // resumed, not relisted
    expect(api.requestsTo(PODS, 'watch').length).toBe(watchesWhileDown + 1);
    expect(logLines).toContain(down.lastError);
    expect(logLines.at(-1)).toBe(`kubernetes API ${api.url}: reachable again`);
  });


  it('gives up on a watch request that gets no answer, and retries', async () => {
    api.add(PODS, pod('default', 'a', { ips: ['10.0.0.1'] }));
    api.hangWatches = true;
    const ids = makeIdentities({ requestTimeoutMs: 150 });
    await ids.start(); // lists answer; the watches hang
    await waitFor('watch given up', () => ids.status().lastError !== null);
    expect(ids.status().connected).toBe(false);
    expect(ids.status().lastError).toMatch(new RegExp(`^kubernetes API ${api.url}: no answer within 150 ms watching (pods|nodes|ipamblocks \\(crd\\.projectcalico\\.org/v1\\))$`));
    expect(ids.podByIp('10.0.0.1')?.name).toBe('a');
    // The server answers again: the late answers to abandoned requests are closed, the retries work.
    api.hangWatches = false;
    api.releaseHungWatches();
    await waitFor('connected', () => ids.status().connected && ids.status().lastError === null);
    api.add(PODS, pod('default', 'b', { ips: ['10.0.0.2'] }));
    await waitFor('b added', () => ids.podByIp('10.0.0.2') !== null);
  });
});

describe('bound', () => {
  it('holds at most maxPods pods, refusing and counting the others', async () => {
    for (let i = 1; i <= 5; i++) api.add(PODS, pod('default', `p${i}`, { ips: [`10.0.0.${i}`] }));
    const ids = makeIdentities({ maxPods: 3 });
    await ids.start();
    expect(ids.status()).toMatchObject({ pods: 3, refusedPods: 2 });
    expect(ids.podByIp('10.0.0.1')?.name).toBe('p1');
    expect(ids.podByIp('10.0.0.4')).toBeNull();

    api.add(PODS, pod('default', 'p6', { ips: ['10.0.0.6'] }));
    await waitFor('p6 refused', () => ids.status().refusedPods === 3);
    expect(ids.podByIp('10.0.0.6')).toBeNull();

    // Room again: a refused pod is taken at its next change.
    api.remove(PODS, 'default/p1');
    await waitFor('p1 deleted', () => ids.status().pods === 2);
    api.add(PODS, pod('default', 'p4', { ips: ['10.0.0.4'], labels: { changed: 'yes' } }));
    await waitFor('p4 admitted', () => ids.podByIp('10.0.0.4')?.name === 'p4');
    expect(ids.status()).toMatchObject({ pods: 3, refusedPods: 2 });
  });
});

describe('errors', () => {
  it('rejects start() with one line when listing is forbidden', async () => {
    api.fail(PODS, { status: 403, reason: 'Forbidden', message: 'pods is forbidden: User "system:serviceaccount:pathwatch:collector" cannot list resource "pods" in API group "" at the cluster scope' });
    const ids = makeIdentities();
    const error = await ids.start().then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toBe(
      `kubernetes API ${api.url}: 403 Forbidden listing pods: pods is forbidden: User "system:serviceaccount:pathwatch:collector" cannot list resource "pods" in API group "" at the cluster scope`,
    );
    expect(error?.name).toBe('KubeApiError');
    expect(ids.status().connected).toBe(false);
    // Nothing keeps running after a failed start: no retry, no watch (the other lists, sent at the same
    // time and aborted by the failure, may still reach the server's log).
    await new Promise((r) => setTimeout(r, 100));
    expect(api.requests.filter((r) => r.watch)).toEqual([]);
    for (const path of [PODS, NODES, BLOCKS]) expect(api.requestsTo(path, 'list').length).toBeLessThanOrEqual(1);
  });

  it('rejects start() with one line when the API server cannot be reached', async () => {
    const port = await closedPort();
    identities = new KubeIdentities(kubeConfigFor(`http://127.0.0.1:${port}`), FAST);
    await expect(identities.start()).rejects.toThrow(new RegExp(`^kubernetes API http://127\\.0\\.0\\.1:${port}: connection refused \\(ECONNREFUSED\\) listing (pods|nodes)$`));
  });

  it('stop() during start() rejects start() and leaves nothing open', async () => {
    const ids = makeIdentities();
    const starting = ids.start();
    await ids.stop();
    await expect(starting).rejects.toThrow(/^kubernetes: stopped/);
  });
});
