/**
 * The collector over TLS with a certificate made here by the openssl CLI (self-signed, CN and SAN
 * 127.0.0.1): HTTPS on TCP listeners and plain HTTP on the unix socket; the agent's real BatchShipper
 * delivering through it with the certificate as its CA (--ca-file), and keeping the batch spooled,
 * with a one-line certificate error, when it does not trust the certificate; and the command line's
 * one-line exit 2 for certificate files that cannot work.
 *
 * openssl is part of Debian's base system and CI's; under CI=true a missing openssl fails this file,
 * elsewhere it is skipped with the reason.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchShipper } from '../../../agent/ship/shipper.js';
import { startCollector, CollectorConfigError, type RunningCollector } from '../../../collector/collector-runner.js';
import type { DropEvent } from '../../../core/explain/drop-event.js';
import { ensureBuilt, runPathwatch } from '../../support/built-cli.js';
import { batch, encoded, rpfVanished } from '../../support/wire-batches.js';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

const opensslThere = hasOpenssl();
const inCi = process.env.CI === 'true';

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** GET over https (with ca, or the system's trust store) or plain http; rejects on connection and TLS errors. */
function get(url: string, options: https.RequestOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const send = url.startsWith('https:') ? https.get : http.get;
    const req = send(url, { ...options, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

function unixGet(socketPath: string, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

if (!opensslThere && inCi) {
  it('has openssl to make the test certificate', () => {
    throw new Error('CI=true but the openssl command is missing (apt-get install openssl)');
  });
} else if (!opensslThere) {
  it.skip('TLS tests skipped: the openssl command is not installed (apt-get install openssl)', () => {});
} else {
  let dir: string;
  let cert: string;
  let key: string;
  let otherKey: string;
  let collector: RunningCollector;
  let base: string;
  let socket: string;

  const ca = (): Buffer => readFileSync(cert);

  async function drops(): Promise<DropEvent[]> {
    const res = await get(`${base}/api/v1/drops`, { ca: ca() });
    expect(res.status, res.body).toBe(200);
    return (JSON.parse(res.body) as { drops: DropEvent[] }).drops;
  }

  function shipper(spoolDir: string, logs: string[], caFile?: string): BatchShipper {
    return new BatchShipper({
      targets: [base],
      ...(caFile !== undefined ? { caFile } : {}),
      spoolDir,
      spoolMaxBytes: 10_000_000,
      timeoutMs: 5000,
      backoff: { baseMs: 50, maxMs: 200 },
      contentEncoding: 'gzip',
      log: (line) => logs.push(line),
    });
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pathwatch-tls-'));
    cert = join(dir, 'cert.pem');
    key = join(dir, 'key.pem');
    otherKey = join(dir, 'other-key.pem');
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    execFileSync('openssl', ['req', '-x509', ...ec, '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'pipe' });
    execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', otherKey], { stdio: 'pipe' });
    socket = join(dir, 'collector.sock');
    collector = await startCollector({
      listen: ['127.0.0.1:0', `unix:${socket}`],
      store: `embedded:${join(dir, 'data')}`,
      tlsCert: cert,
      tlsKey: key,
      log: () => {},
    });
    base = `https://${collector.addresses[0]}`;
  }, 120_000);

  afterAll(async () => {
    await collector?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('collector over TLS', () => {
    it('answers /healthz over https to a client that trusts the certificate, and to no other', async () => {
      const ok = await get(`${base}/healthz`, { ca: ca() });
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.body)).toMatchObject({ status: 'ok' });
      // The system's trust store does not know a certificate made a moment ago.
      const untrusted = await get(`${base}/healthz`).catch((e: NodeJS.ErrnoException) => e);
      expect(untrusted).toBeInstanceOf(Error);
      expect((untrusted as NodeJS.ErrnoException).code).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY/);
    });

    it('does not answer plain http on the TLS port', async () => {
      const plain = await get(`${base.replace('https:', 'http:')}/healthz`).then(
        (a) => a,
        (e: Error) => e,
      );
      // Either the connection fails, or (never a 200) something other than the API answers.
      if (plain instanceof Error) expect(plain.message).toMatch(/socket hang up|ECONNRESET|closed|Parse Error/i);
      else expect(plain.status).not.toBe(200);
    });

    it('keeps the unix socket plain HTTP', async () => {
      const res = await unixGet(socket, '/healthz');
      expect(res.status).toBe(200);
    });

    it('stores a batch the agent ships with --ca-file once, retried or not', async () => {
      const logs: string[] = [];
      const spoolDir = join(dir, 'spool-trusting');
      const s = shipper(spoolDir, logs, cert);
      expect(s.enqueue(encoded(batch({ sequence: 1, vanished: [rpfVanished()] })), { sequence: 1 })).toBe(true);
      // The same batch again (as after a lost acknowledgement): the collector dedups it.
      expect(s.enqueue(encoded(batch({ sequence: 1, vanished: [rpfVanished()] })), { sequence: 1 })).toBe(true);
      s.start();
      await s.stop({ flushMs: 15_000 });
      expect(s.stats).toMatchObject({ sent: 2, spooledBatches: 0, lostBatches: 0 });
      expect(logs.filter((l) => /certificate/i.test(l))).toEqual([]);
      const found = await drops();
      expect(found).toHaveLength(1);
      expect(found[0]).toMatchObject({ node: 'n2', iface: 'tunl0', src: '100.64.0.1', packets: 3, verdict: 'reverse-path' });
    });

    it('without the CA: a one-line certificate error, retried with backoff, the batch kept until it can be delivered', async () => {
      const before = (await drops())[0]?.packets ?? 0;
      const logs: string[] = [];
      const spoolDir = join(dir, 'spool-untrusting');
      const untrusting = shipper(spoolDir, logs);
      untrusting.enqueue(encoded(batch({ sequence: 2, vanished: [rpfVanished()] })), { sequence: 2 });
      untrusting.start();
      const deadline = Date.now() + 10_000;
      while (untrusting.stats.retried < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await untrusting.stop();
      const stats = untrusting.stats;
      expect(stats).toMatchObject({ sent: 0, spooledBatches: 1, lostBatches: 0 });
      expect(stats.retried).toBeGreaterThanOrEqual(3);
      expect(stats.lastError).toMatch(/TLS certificate not trusted \((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)/);
      // One line for the run of failures, saying what to do.
      const lines = logs.filter((l) => /certificate/.test(l));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^collector https:\/\/127\.0\.0\.1:\d+: TLS certificate not trusted .*--ca-file.*batches stay spooled, retrying$/);
      expect(lines[0]).not.toContain('\n');
      expect((await drops())[0]?.packets ?? 0).toBe(before);

      // The kept batch goes out once the agent is given the CA.
      const trusting = shipper(spoolDir, logs, cert);
      trusting.start();
      await trusting.stop({ flushMs: 15_000 });
      expect(trusting.stats).toMatchObject({ sent: 1, spooledBatches: 0, lostBatches: 0 });
      expect((await drops())[0]?.packets).toBe(before + 3);
    });

    it('refuses certificate files that cannot work, before opening anything', async () => {
      const store = `embedded:${join(dir, 'never-opened')}`;
      const cases: [Partial<{ tlsCert: string; tlsKey: string }>, RegExp][] = [
        [{ tlsCert: cert, tlsKey: otherKey }, /^--tls-cert .* \/ --tls-key .*: the key does not belong to the certificate$/],
        [{ tlsCert: join(dir, 'missing.pem'), tlsKey: key }, /^--tls-cert .*missing\.pem: no such file$/],
        [{ tlsCert: cert, tlsKey: dir }, /^--tls-key .*: is a directory$/],
        [{ tlsCert: key, tlsKey: key }, /^--tls-cert .*: not a PEM certificate$/],
        [{ tlsCert: cert, tlsKey: cert }, /^--tls-key .*: not a PEM private key$/],
        [{ tlsCert: cert }, /go together/],
      ];
      for (const [files, message] of cases) {
        const error = await startCollector({ listen: ['127.0.0.1:0'], store, ...files, log: () => {} }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(CollectorConfigError);
        expect((error as Error).message).toMatch(message);
      }
    });
  });

  describe('command line', () => {
    beforeAll(() => ensureBuilt(), 180_000);

    it('collector: unusable certificate files exit 2 with one line', async () => {
      const store = `embedded:${join(dir, 'cli-never-opened')}`;
      const cases: [string[], RegExp][] = [
        [['--tls-cert', cert, '--tls-key', otherKey], /the key does not belong to the certificate/],
        [['--tls-cert', join(dir, 'missing.pem'), '--tls-key', key], /missing\.pem: no such file/],
        [['--tls-cert', cert], /--tls-cert and --tls-key go together/],
      ];
      for (const [args, message] of cases) {
        const r = await runPathwatch(['collector', '--listen', '127.0.0.1:0', '--store', store, ...args]);
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toMatch(message);
        expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      }
    });

    it('agent and replay: an unusable --ca-file exits 2 with one line', async () => {
      const notPem = join(dir, 'not-a-cert.txt');
      writeFileSync(notPem, 'hello\n');
      mkdirSync(join(dir, 'cli-spool'), { recursive: true });
      const cases: [string[], RegExp][] = [
        [['agent', '--collector', 'https://127.0.0.1:1', '--ca-file', join(dir, 'missing-ca.pem'), '--spool-dir', join(dir, 'cli-spool')], /CA file .*missing-ca\.pem does not exist/],
        [['agent', '--collector', 'https://127.0.0.1:1', '--ca-file', notPem, '--spool-dir', join(dir, 'cli-spool')], /holds no PEM certificate/],
        [['agent', '--collector', 'http://127.0.0.1:1', '--ca-file', cert, '--spool-dir', join(dir, 'cli-spool')], /--ca-file is for https:\/\/ collectors/],
        [['replay', '--collector', 'http://127.0.0.1:1', '--ca-file', cert, 'x.pcap'], /--ca-file goes with an https:\/\/ --collector/],
      ];
      for (const [args, message] of cases) {
        const r = await runPathwatch(args);
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toMatch(message);
        expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      }
    });

    it('help lists the TLS options', async () => {
      const collectorHelp = await runPathwatch(['collector', '--help']);
      expect(collectorHelp.code).toBe(0);
      expect(collectorHelp.stdout).toMatch(/--tls-cert F/);
      expect(collectorHelp.stdout).toMatch(/--tls-key F/);
      for (const command of ['agent', 'replay']) {
        const r = await runPathwatch([command, '--help']);
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/--ca-file F/);
      }
    });
  });
}
