/**
 * vitest globalSetup: a ClickHouse server for the storage tests when none is given, so that `npm test`
 * needs no other step. Runs in vitest's main process before any test worker starts; the workers inherit
 * process.env as it is then, so setting PATHWATCH_CLICKHOUSE_URL here reaches the test files, which read
 * it at import (test/collector/store).
 *
 * - PATHWATCH_CLICKHOUSE_URL set (non-empty): that server is used, nothing is started.
 * - Otherwise, when a selected test file reads PATHWATCH_CLICKHOUSE_URL (or in watch mode, where the
 *   selection changes), scripts/start-clickhouse.sh starts a throwaway server (its own temporary
 *   directory and free loopback ports, ~1 s), and it is stopped and its directory removed when the run
 *   ends: by the teardown below, by an exit hook when vitest exits without it (Ctrl-C, SIGTERM), and by a
 *   watchdog in its own session when vitest is killed outright.
 * - When it cannot be started (no clickhouse-server), PATHWATCH_CLICKHOUSE_UNAVAILABLE says why; the tests
 *   that need a server skip with that reason, or fail under CI=true.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ROOT } from '../support/built-cli.js';
import { clickHouseUnavailableReason, ControlledClickHouse } from '../support/clickhouse-server.js';

const STOP_SCRIPT = join(ROOT, 'scripts/stop-clickhouse.sh');

/** Whether any test file this run selected reads PATHWATCH_CLICKHOUSE_URL. */
async function selectedFilesNeedServer(project: TestProject): Promise<boolean> {
  const vitest = project.vitest;
  if (vitest.config.watch) return true;
  // The command line's file filters (`vitest run test/collector/store`); vitest keeps them on this
  // (internal) field. Without it every test file counts: the server is started, never wrongly left out.
  const filters = (vitest as unknown as { filenamePattern?: string[] }).filenamePattern;
  const specs = await vitest.getRelevantTestSpecifications(filters);
  return specs.some((s) => {
    try {
      return readFileSync(s.moduleId, 'utf8').includes('PATHWATCH_CLICKHOUSE_URL');
    } catch {
      return false;
    }
  });
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (process.env['PATHWATCH_CLICKHOUSE_URL']) return undefined;
  if (!(await selectedFilesNeedServer(project))) return undefined;
  const missing = clickHouseUnavailableReason();
  if (missing !== null) {
    process.env['PATHWATCH_CLICKHOUSE_UNAVAILABLE'] = missing;
    return undefined;
  }
  let server: ControlledClickHouse;
  try {
    server = await ControlledClickHouse.start();
  } catch (e) {
    process.env['PATHWATCH_CLICKHOUSE_UNAVAILABLE'] = (e as Error).message.split('\n')[0] ?? String(e);
    return undefined;
  }
  process.env['PATHWATCH_CLICKHOUSE_URL'] = server.url;

  // Killed outright (SIGKILL, SIGHUP of a closed terminal), vitest runs no hook: a watchdog in its own
  // session stops the server once vitest's process is gone.
  const watchdog = spawn(
    'bash',
    ['-c', 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec bash "$2" "$3"', 'clickhouse-watchdog', String(process.pid), STOP_SCRIPT, server.dir],
    { detached: true, stdio: 'ignore' },
  );
  watchdog.unref();

  let stopped = false;
  // Ctrl-C or SIGTERM: vitest exits without the teardown; stop the server before the process ends. The
  // stop script runs in its own session, so a second Ctrl-C cannot cut it short.
  const onExit = (): void => {
    if (stopped) return;
    stopped = true;
    spawnSync('setsid', ['bash', STOP_SCRIPT, server.dir], { stdio: 'ignore', timeout: 30_000 });
  };
  process.once('exit', onExit);

  return async () => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', onExit);
    await server.destroy();
    if (watchdog.pid !== undefined) {
      try {
        process.kill(-watchdog.pid, 'SIGTERM'); // its process group: the loop and its sleep
      } catch {
        // already gone
      }
    }
  };
}
