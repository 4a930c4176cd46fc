/**
 * The pieces under KubeIdentities, on their own: how the client's failures become one line, which pod
 * an address resolves to when several claim it, longest-prefix matching, and workload names.
 */
import { describe, expect, it } from 'vitest';
import { ApiException, FetchError } from '@kubernetes/client-node';
import { toKubeApiError, watchStatusError } from '../../../collector/kubernetes/kube-errors.js';
import { PodIndex } from '../../../collector/kubernetes/pod-index.js';
import { decodePod, workloadOf, type PodRecord } from '../../../collector/kubernetes/pod-record.js';
import { PrefixTable, parsePrefix } from '../../../collector/kubernetes/ip-prefix.js';

const SERVER = 'https://10.96.0.1:443';

describe('toKubeApiError', () => {
  it('turns each shape of client failure into one line', () => {
    const status = JSON.stringify({ kind: 'Status', code: 403, reason: 'Forbidden', message: 'nodes is forbidden: User "x" cannot list resource "nodes"' });
    const cases: [unknown, string, number | null][] = [
      [new ApiException(403, 'Unknown API Status Code!', status, { 'content-type': 'application/json' }), '403 Forbidden listing nodes: nodes is forbidden: User "x" cannot list resource "nodes"', 403],
      [new ApiException(401, 'Unauthorized', undefined, {}), '401 Unauthorized listing nodes', 401],
      [new ApiException(502, 'Unknown API Status Code!', '<html>\n<body>Bad Gateway</body>\n</html>', {}), '502 Bad Gateway listing nodes', 502],
      [Object.assign(new Error('Gone'), { statusCode: 410 }), '410 Gone listing nodes', 410],
      [new FetchError(`request to ${SERVER}/api/v1/nodes failed, reason: connect ECONNREFUSED 10.96.0.1:443`, 'system', Object.assign(new Error('x'), { code: 'ECONNREFUSED' })), 'connection refused (ECONNREFUSED) listing nodes', null],
      [new FetchError(`request to ${SERVER}/api/v1/nodes failed, reason: self-signed certificate`, 'system', Object.assign(new Error('x'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' })), 'self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT) listing nodes', null],
      [new Error('Premature close'), 'connection closed mid-response listing nodes', null],
      [new Error('exec plugin failed:\n  line two\n  line three'), 'exec plugin failed: line two line three listing nodes', null],
      ['a string', 'a string listing nodes', null],
    ];
    for (const [err, detail, code] of cases) {
      const e = toKubeApiError(err, SERVER, 'listing nodes');
      expect(e.message).toBe(`kubernetes API ${SERVER}: ${detail}`);
      expect(e.status).toBe(code);
    }
    expect(toKubeApiError(new Error('x'.repeat(1000)), SERVER, 'listing nodes').message.length).toBeLessThan(320);
  });

  it('reads the Status of a watch ERROR event', () => {
    const e = watchStatusError({ kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: 1 (5)' }, SERVER, 'watching pods');
    expect(e.message).toBe(`kubernetes API ${SERVER}: 410 Expired watching pods: too old resource version: 1 (5)`);
    expect(e.status).toBe(410);
  });
});

function record(name: string, ips: string[], extra: { uid?: string; phase?: string; deleting?: boolean } = {}): PodRecord {
  const r = decodePod({
    metadata: { namespace: 'ns', name, uid: extra.uid ?? `uid-${name}`, ...(extra.deleting ? { deletionTimestamp: '2025-01-01T00:00:00Z' } : {}) },
    spec: { nodeName: 'n1' },
    status: { phase: extra.phase ?? 'Running', podIPs: ips.map((ip) => ({ ip })) },
  });
  if (r === null) throw new Error('undecodable');
  return r;
}

describe('PodIndex', () => {
  let now = 0;
  const index = (): PodIndex => new PodIndex({ maxPods: 10, forgetDeletedAfterMs: 1000, now: () => now });

  it('prefers an active pod, then a terminating one, then a recently deleted one, then a finished one', () => {
    const pods = index();
    pods.upsert(record('finished', ['10.0.0.1'], { phase: 'Failed' }), 'ADDED');
    expect(pods.lookup('10.0.0.1')?.name).toBe('finished');
    pods.upsert(record('deleted', ['10.0.0.1']), 'ADDED');
    pods.remove(record('deleted', ['10.0.0.1']));
    expect(pods.lookup('10.0.0.1')?.name).toBe('deleted');
    pods.upsert(record('terminating', ['10.0.0.1'], { deleting: true }), 'ADDED');
    expect(pods.lookup('10.0.0.1')?.name).toBe('terminating');
    pods.upsert(record('active', ['10.0.0.1']), 'ADDED');
    expect(pods.lookup('10.0.0.1')?.name).toBe('active');
    // Deleting a finished pod says nothing about the address's recent use: not remembered.
    pods.remove(record('active', ['10.0.0.1']));
    pods.remove(record('terminating', ['10.0.0.1']));
    pods.remove(record('finished', ['10.0.0.1']));
    expect(pods.lookup('10.0.0.1')?.name).toBe('terminating');
    now += 1000;
    expect(pods.lookup('10.0.0.1')).toBeNull();
  });

  it('takes a pod of the same name with another uid as a new pod, remembering the old one', () => {
    now = 0;
    const pods = index();
    pods.upsert(record('db-0', ['10.0.0.5'], { uid: 'one' }), 'ADDED');
    pods.upsert(record('db-0', ['10.0.0.6'], { uid: 'two' }), 'MODIFIED');
    expect(pods.size).toBe(1);
    expect(pods.lookup('10.0.0.6')?.name).toBe('db-0');
    expect(pods.lookup('10.0.0.5')?.name).toBe('db-0'); // the old one, remembered
    // A late deletion of the old uid leaves the new pod alone.
    pods.remove(record('db-0', ['10.0.0.5'], { uid: 'one' }));
    expect(pods.size).toBe(1);
  });

  it('bounds the deleted-pod memory like the pods', () => {
    now = 0;
    const pods = new PodIndex({ maxPods: 2, forgetDeletedAfterMs: 60_000, now: () => now });
    for (let i = 1; i <= 4; i++) {
      pods.upsert(record(`p${i}`, [`10.0.0.${i}`]), 'ADDED');
      pods.remove(record(`p${i}`, [`10.0.0.${i}`]));
    }
    expect([1, 2, 3, 4].map((i) => pods.lookup(`10.0.0.${i}`)?.name ?? null)).toEqual([null, null, 'p3', 'p4']);
  });
});

describe('PrefixTable', () => {
  it('matches the longest prefix across both families, with host bits cleared', () => {
    const table = new PrefixTable<string>();
    const set = (key: string, cidr: string): void => {
      const p = parsePrefix(cidr);
      if (p === null) throw new Error(cidr);
      table.set(key, p, p.text);
    };
    set('a', '10.0.0.0/8');
    set('b', '10.1.2.77/26'); // host bits: 10.1.2.64/26
    set('c', 'FD00::/64');
    set('d', '0.0.0.0/0');
    expect(table.lookup('10.1.2.70')).toBe('10.1.2.64/26');
    expect(table.lookup('10.1.2.130')).toBe('10.0.0.0/8');
    expect(table.lookup('192.0.2.1')).toBe('0.0.0.0/0');
    expect(table.lookup('fd00::1')).toBe('fd00::/64');
    expect(table.lookup('fd01::1')).toBeNull(); // 0.0.0.0/0 covers IPv4 only
    table.delete('b');
    expect(table.lookup('10.1.2.70')).toBe('10.0.0.0/8');
    expect(table.size).toBe(3);
    expect(parsePrefix('10.0.0.0/33')).toBeNull();
    expect(parsePrefix('10.0.0.0')).toBeNull();
    expect(parsePrefix('nonsense/8')).toBeNull();
  });
});

describe('workloadOf', () => {
  it('uses the controller owner, and only strips a hash the pod carries', () => {
    const refs = [
      { kind: 'ConfigMap', name: 'not-the-controller' },
      { kind: 'ReplicaSet', name: 'api-5f6d8b9c7', controller: true },
    ];
    expect(workloadOf(refs, { 'pod-template-hash': '5f6d8b9c7' })).toBe('Deployment/api');
    expect(workloadOf(refs, { 'pod-template-hash': 'other' })).toBe('ReplicaSet/api-5f6d8b9c7');
    expect(workloadOf([{ kind: 'Job', name: 'report-99999999' }], {})).toBe('Job/report-99999999'); // beyond 2100: not a CronJob's
    expect(workloadOf([{ kind: 'Rollout', name: 'canary' }], {})).toBe('Rollout/canary');
    expect(workloadOf([], {})).toBeNull();
    expect(workloadOf(undefined, {})).toBeNull();
  });
});
