/**
 * openStorage(STORE): the one way the collector gets its Storage.
 *   embedded[:DIR]                                   chDB in DIR (default ./pathwatch-data)
 *   clickhouse://[user[:password]@]host:port[/db]    a ClickHouse server over HTTP (db default pathwatch,
 *                                                    created if missing)
 * A STORE that does not parse throws StoreSpecError; a store that cannot be reached or opened throws
 * StorageUnavailableError. Both carry a one-line message meant for the user.
 *
 * readStore (`--read-store`): the query path connects as another user of the same server and
 * database, e.g. one whose profile has readonly = 2 (README, Security).
 */
import { ChdbExecutor } from './backends/chdb-executor.js';
import { ClickHouseExecutor } from './backends/clickhouse-executor.js';
import type { ProfileName } from './sql/profile-detect.js';
import { checkRetentionDays, SqlStorage } from './sql-storage.js';
import { EMBEDDED_DATABASE, parseStoreSpec, StoreSpecError } from './store-spec.js';
import type { Storage } from './storage.js';

export { StoreSpecError } from './store-spec.js';
export { StorageUnavailableError } from './storage.js';

export const DEFAULT_RETENTION_DAYS = 7;

export interface OpenStorageOptions {
  /** Whole days of data kept (default 7, at most 3650); a RangeError otherwise. */
  readonly retentionDays?: number;
  /** Tests only: run this profile's SQL whatever the server's version says. */
  readonly forceProfile?: ProfileName;
  /** Server backend: give up on a request after this long (default 30 s). */
  readonly requestTimeoutMs?: number;
  /** The collector's clock for stored_at and migration records (tests move it; default Date.now). */
  readonly clock?: () => number;
  /** clickhouse://user[:password]@host:port/database for the query path; same database as the STORE. */
  readonly readStore?: string;
}

export async function openStorage(spec: string, options: OpenStorageOptions = {}): Promise<Storage> {
  const parsed = parseStoreSpec(spec);
  const read = options.readStore !== undefined ? parseStoreSpec(options.readStore) : undefined;
  if (read !== undefined) {
    if (parsed.kind !== 'clickhouse' || read.kind !== 'clickhouse') {
      throw new StoreSpecError('a separate read store needs a ClickHouse server for both the store and the read store (the embedded store has no users)');
    }
    if (read.database !== parsed.database) {
      throw new StoreSpecError(`the read store names database ${read.database}, the store ${parsed.database}: they must be the same`);
    }
  }
  const retentionDays = options.retentionDays ?? DEFAULT_RETENTION_DAYS;
  checkRetentionDays(retentionDays); // before anything is opened
  const common = {
    retentionDays,
    ...(options.forceProfile ? { forceProfile: options.forceProfile } : {}),
    ...(options.clock ? { nowMs: options.clock } : {}),
  };
  if (parsed.kind === 'embedded') {
    return SqlStorage.open(ChdbExecutor.open(parsed.dir), { backend: 'embedded', database: EMBEDDED_DATABASE, ...common });
  }
  const executor = new ClickHouseExecutor(
    { url: parsed.httpUrl, username: parsed.username, password: parsed.password, location: parsed.location },
    options.requestTimeoutMs,
  );
  const reader =
    read?.kind === 'clickhouse'
      ? new ClickHouseExecutor({ url: read.httpUrl, username: read.username, password: read.password, location: read.location }, options.requestTimeoutMs)
      : undefined;
  return SqlStorage.open(executor, { backend: 'clickhouse', database: parsed.database, ...common, ...(reader ? { reader } : {}) });
}
