/**
 * A ClickHouse server of the test's own, which it can stop and start again: started by
 * scripts/start-clickhouse.sh (its own temporary directory, config and free loopback ports), stopped
 * with SIGTERM, started again from the same config.xml, so the data and the ports survive the
 * restart. destroy() stops it and removes its directory through scripts/stop-clickhouse.sh.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './built-cli.js';

/** Why no server can be started here, or null (synchronous: describe.skipIf needs it up front). */
export function clickHouseUnavailableReason(): string | null {
  for (const candidate of ['/usr/sbin/clickhouse-server', '/usr/bin/clickhouse-server']) if (existsSync(candidate)) return null;
  const path = (process.env['PATH'] ?? '').split(':').map((d) => join(d, 'clickhouse-server'));
  return path.some((p) => existsSync(p)) ? null : 'clickhouse-server is not installed (apt-get install clickhouse-server)';
}

/**
 * Why PATHWATCH_CLICKHOUSE_URL is not set, for a skip (or, under CI=true, a failure) message: the test
 * run's global setup (test/setup/clickhouse-server.ts) starts a server unless it cannot, and says why.
 */
export function clickHouseUrlMissingReason(): string {
  const why = process.env['PATHWATCH_CLICKHOUSE_UNAVAILABLE'];
  return why
    ? `PATHWATCH_CLICKHOUSE_URL is not set and the test run could not start a server: ${why}`
    : 'PATHWATCH_CLICKHOUSE_URL is not set (the test run starts a server when a selected test file needs one: test/setup/clickhouse-server.ts)';
}

function serverBinary(): string {
  for (const candidate of ['/usr/sbin/clickhouse-server', '/usr/bin/clickhouse-server']) if (existsSync(candidate)) return candidate;
  return 'clickhouse-server';
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function answers(httpPort: number): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${httpPort}/?query=SELECT%201`, { signal: AbortSignal.timeout(1000) });
    return r.ok && (await r.text()).trim() === '1';
  } catch {
    return false;
  }
}

export class ControlledClickHouse {
  private constructor(
    /** clickhouse://default@127.0.0.1:PORT (no database). */
    readonly url: string,
    readonly dir: string,
    readonly httpPort: number,
  ) {}

  static start(): Promise<ControlledClickHouse> {
    return new Promise((resolve, reject) => {
      execFile('bash', [join(ROOT, 'scripts/start-clickhouse.sh')], { timeout: 60_000, encoding: 'utf8' }, (err, stdout, stderr) => {
        if (err) return reject(new Error(`scripts/start-clickhouse.sh failed: ${stderr.trim() || err.message}`));
        const url = /^PATHWATCH_CLICKHOUSE_URL=(\S+)$/m.exec(stdout)?.[1];
        const dir = /^PATHWATCH_CLICKHOUSE_DIR=(\S+)$/m.exec(stdout)?.[1];
        const port = url ? Number(/:(\d+)$/.exec(url)?.[1]) : NaN;
        if (!url || !dir || !(port > 0)) return reject(new Error(`scripts/start-clickhouse.sh printed no URL and directory: ${stdout}`));
        resolve(new ControlledClickHouse(url, dir, port));
      });
    });
  }

  private pid(): number | undefined {
    try {
      const pid = Number(readFileSync(join(this.dir, 'server.pid'), 'utf8').trim());
      return pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  running(): boolean {
    const pid = this.pid();
    return pid !== undefined && pidAlive(pid);
  }

  /** SIGTERM and wait until the process is gone (SIGKILL after 20 s). */
  async stop(): Promise<void> {
    const pid = this.pid();
    if (pid === undefined || !pidAlive(pid)) return;
    process.kill(pid, 'SIGTERM');
    const end = Date.now() + 20_000;
    while (pidAlive(pid)) {
      if (Date.now() > end) {
        process.kill(pid, 'SIGKILL');
        await new Promise((r) => setTimeout(r, 500));
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Starts the server again on its directory and ports; resolves once it answers SELECT 1. */
  async restart(): Promise<void> {
    if (this.running()) throw new Error('ClickHouse is still running');
    // Its own session (detached), as the start script does with setsid; the pid is the server's, which
    // stop-clickhouse.sh reads from server.pid too.
    const child = spawn(serverBinary(), [`--config-file=${join(this.dir, 'config.xml')}`], { cwd: this.dir, detached: true, stdio: 'ignore' });
    child.unref();
    if (child.pid === undefined) throw new Error('could not start clickhouse-server');
    writeFileSync(join(this.dir, 'server.pid'), `${child.pid}\n`);
    const end = Date.now() + 60_000;
    while (!(await answers(this.httpPort))) {
      if (!pidAlive(child.pid)) throw new Error(`clickhouse-server exited on restart; see ${this.dir}/log`);
      if (Date.now() > end) throw new Error(`clickhouse-server did not answer within 60 s of the restart; see ${this.dir}/log`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Stops the server and removes its directory. */
  destroy(): Promise<void> {
    return new Promise((resolve) => {
      execFile('bash', [join(ROOT, 'scripts/stop-clickhouse.sh'), this.dir], { timeout: 60_000 }, () => resolve());
    });
  }
}
