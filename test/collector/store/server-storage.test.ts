// The storage contract on a ClickHouse server over HTTP. The test run starts Debian's 18.16 (test/setup/
// clickhouse-server.ts, through scripts/start-clickhouse.sh) and sets PATHWATCH_CLICKHOUSE_URL unless one is
// given, so the legacy profile runs there; under CI=true a missing URL fails this file rather than letting
// the server backend go untested.
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { openStorage, StorageUnavailableError, StoreSpecError } from '../../../collector/store/open-storage.js';
import { detectProfile } from '../../../collector/store/sql/profile-detect.js';
import { clickHouseUrlMissingReason } from '../../support/clickhouse-server.js';
import { describeStorageContract } from './storage-contract.js';
import { serverTarget, serverVersion } from './store-targets.js';

const url = process.env.PATHWATCH_CLICKHOUSE_URL;
const inCi = process.env.CI === 'true';

if (url) {
  const version = await serverVersion(url);
  describeStorageContract(`ClickHouse server ${version} at ${url}`, serverTarget(url, detectProfile(version)));
} else if (inCi) {
  it('has a ClickHouse server to test against', () => {
    throw new Error(`CI=true but ${clickHouseUrlMissingReason()}`);
  });
} else {
  it.skip(`server storage contract skipped: ${clickHouseUrlMissingReason()}`, () => {});
}

/** A loopback port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('server backend without a server', () => {
  it('a server that is down is StorageUnavailableError with a one-line message', async () => {
    const port = await closedPort();
    const error = await openStorage(`clickhouse://default:secret@127.0.0.1:${port}/pw`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageUnavailableError);
    const message = (error as Error).message;
    expect(message).toContain(`clickhouse://default@127.0.0.1:${port}/pw`);
    expect(message).not.toContain('secret');
    expect(message).not.toContain('\n');
  });

  it('a bad STORE is StoreSpecError before anything is contacted', async () => {
    await expect(openStorage('clickhouse://127.0.0.1/pw')).rejects.toBeInstanceOf(StoreSpecError);
    await expect(openStorage('postgres://x')).rejects.toBeInstanceOf(StoreSpecError);
  });
});
