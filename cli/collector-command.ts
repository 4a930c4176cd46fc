/**
 * `pathwatch collector [--listen ADDR]... [--store STORE] [--token-file F] [--read-token-file F]
 *  [--tls-cert F --tls-key F] [--read-store STORE] [--alertmanager URL] [--webhook URL]`: receives agents' batches, explains and stores drops,
 * answers queries, raises alerts.
 */
import { parseArgs } from 'node:util';
import { AlertUrlError } from '../collector/alert/alert-senders.js';
import { TokenFileError } from '../collector/api/bearer-token.js';
import { ListenAddressError } from '../collector/api/listen-address.js';
import { CollectorConfigError, startCollector } from '../collector/collector-runner.js';
import { StoreSpecError } from '../collector/store/open-storage.js';
import { StorageUnavailableError } from '../collector/store/storage.js';
import { UsageError } from './cli-error.js';

export const COLLECTOR_USAGE = `Usage: pathwatch collector [--listen ADDR]... [--store STORE] [--token-file F] [--read-token-file F]
                           [--tls-cert F --tls-key F] [--read-store STORE] [--alertmanager URL] [--webhook URL]

Receives the agents' batches, joins what they saw, explains every packet that vanished, stores it,
answers queries (HTTP API, server-sent events, pcapng export) and raises alerts.

  --listen ADDR          HOST:PORT or unix:/path/to/socket (repeatable; default 127.0.0.1:7070)
  --store STORE          embedded:DIR (chDB in this process; default embedded:./pathwatch-data) or
                         clickhouse://[user[:password]@]host:port[/database] (ClickHouse over HTTP)
  --token-file F         bearer token agents must present to ingest
  --read-token-file F    bearer token for the query API, UI, exports and metrics
  --tls-cert F           PEM certificate (chain) for HTTPS on every TCP listener; with --tls-key
  --tls-key F            its PEM private key (unix sockets stay plain HTTP)
  --read-store STORE     clickhouse://reader[:password]@host:port/database: run the query API as this
                         (read-only) ClickHouse user; same database as --store
  --alertmanager URL     push alerts to an Alertmanager (URL/api/v2/alerts; repeatable)
  --webhook URL          POST Alertmanager-webhook-shaped JSON to URL (repeatable)
  --retention-days N     keep data this many days (default 7)
  --stitch-hold S        how long a packet that left a node through the tunnel may take to be
                         reported arriving at the next before it counts as lost (default 45)
  --insecure-listen      allow non-loopback --listen without tokens
  -h, --help             show this help

Without tokens only loopback and unix-socket listeners are allowed (with TLS too). Queries run with
ClickHouse's readonly setting. Stops on SIGTERM or SIGINT.
`;

export async function collectorCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        listen: { type: 'string', multiple: true, default: [] },
        store: { type: 'string', default: 'embedded:./pathwatch-data' },
        'token-file': { type: 'string' },
        'read-token-file': { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'read-store': { type: 'string' },
        alertmanager: { type: 'string', multiple: true, default: [] },
        webhook: { type: 'string', multiple: true, default: [] },
        'retention-days': { type: 'string' },
        'stitch-hold': { type: 'string' },
        'insecure-listen': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    throw new UsageError(`collector: ${(e as Error).message.split('\n')[0]}`);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(COLLECTOR_USAGE);
    return 0;
  }
  const retentionDays = v['retention-days'] === undefined ? undefined : Number(v['retention-days']);
  if (retentionDays !== undefined && !(Number.isInteger(retentionDays) && retentionDays >= 1 && retentionDays <= 3650)) {
    throw new UsageError(`collector: --retention-days takes a whole number from 1 to 3650, not "${v['retention-days']}"`);
  }
  const stitchHold = v['stitch-hold'] === undefined ? undefined : Number(v['stitch-hold']);
  if (stitchHold !== undefined && !(stitchHold >= 1 && stitchHold <= 3600)) throw new UsageError(`collector: --stitch-hold takes 1 to 3600 seconds, not "${v['stitch-hold']}"`);
  if ((v['tls-cert'] === undefined) !== (v['tls-key'] === undefined)) throw new UsageError('collector: --tls-cert and --tls-key go together: give both or neither');
  if (v['read-store'] !== undefined && !v['read-store'].startsWith('clickhouse://')) {
    throw new UsageError('collector: --read-store takes clickhouse://user[:password]@host:port/database (a ClickHouse server; the embedded store has no users)');
  }
  const log = (line: string): void => void process.stderr.write(`pathwatch collector: ${line}\n`);
  let collector;
  try {
    collector = await startCollector({
      listen: v.listen,
      store: v.store,
      ...(v['token-file'] ? { tokenFile: v['token-file'] } : {}),
      ...(v['read-token-file'] ? { readTokenFile: v['read-token-file'] } : {}),
      ...(v['tls-cert'] !== undefined && v['tls-key'] !== undefined ? { tlsCert: v['tls-cert'], tlsKey: v['tls-key'] } : {}),
      ...(v['read-store'] !== undefined ? { readStore: v['read-store'] } : {}),
      alertmanager: v.alertmanager,
      webhook: v.webhook,
      allowInsecureRemote: v['insecure-listen'],
      ...(retentionDays !== undefined ? { retentionDays } : {}),
      ...(stitchHold !== undefined ? { stitchHoldMs: stitchHold * 1000 } : {}),
      log,
    });
  } catch (e) {
    if (e instanceof CollectorConfigError || e instanceof ListenAddressError || e instanceof TokenFileError || e instanceof AlertUrlError || e instanceof StoreSpecError || e instanceof StorageUnavailableError) {
      throw new UsageError(`collector: ${e.message}`);
    }
    throw e;
  }
  const info = collector.storage.info;
  const scheme = v['tls-cert'] !== undefined ? ' (HTTPS on TCP)' : '';
  const reader = info.readLocation !== undefined ? `; queries as ${info.readLocation}` : '';
  log(`listening on ${collector.addresses.join(', ')}${scheme}; store ${info.backend} ${info.location} (ClickHouse ${info.serverVersion}, ${info.profile} schema)${reader}`);
  await new Promise<void>((resolve) => {
    // on, not once: a second signal (a process group's Ctrl-C, then a supervisor's SIGTERM) while
    // stopping must not kill the process before it has flushed and closed.
    process.on('SIGINT', () => resolve());
    process.on('SIGTERM', () => resolve());
  });
  log('stopping');
  await collector.close();
  return 0;
}
