/**
 * A collector as an operator runs one with tokens: an embedded store under `dir`, the ingest and
 * read tokens written to files in `dir` and passed by path, listening on 127.0.0.1 (or as `extra`
 * says). For the tests that drive the API, the UI and hostile clients against a real collector.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCollector, type CollectorOptions, type RunningCollector } from '../../collector/collector-runner.js';

export function startCollectorWithTokens(
  dir: string,
  tokens: { readonly ingest: string; readonly read: string },
  extra: Partial<CollectorOptions> = {},
): Promise<RunningCollector> {
  writeFileSync(join(dir, 'ingest.token'), tokens.ingest);
  writeFileSync(join(dir, 'read.token'), tokens.read);
  return startCollector({
    listen: ['127.0.0.1:0'],
    store: `embedded:${join(dir, 'data')}`,
    tokenFile: join(dir, 'ingest.token'),
    readTokenFile: join(dir, 'read.token'),
    log: () => {},
    ...extra,
  });
}
