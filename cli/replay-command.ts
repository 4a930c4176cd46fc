/**
 * `pathwatch replay [--json] [--window MS] [--ifname IDX=NAME]... [--role NAME=ROLE]... [--collector URL] INPUT...`
 * Parses the arguments, runs the replay, prints the report or the JSON document (CONTRACT.md).
 */
import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parseRoleOverride, type InterfaceRole } from '../core/findings/interface-roles.js';
import { parseReplayInputSpec } from '../modes/replay/replay-input.js';
import { renderReplayReport } from '../modes/replay/replay-report.js';
import { renderFlowTable, type FlowTableOptions } from '../modes/replay/flow-table-report.js';
import { replayFlowJson, type ReplayFlow } from '../modes/replay/flow-catalog.js';
import { ReplayInputError, runReplay } from '../modes/replay/replay-runner.js';
import { UsageError } from './cli-error.js';
import { parseWindowOption } from './window-option.js';
import type { FlowRecord } from '../core/findings/flow-record.js';
import { CollectorUrlError, parseCollectorUrls } from '../agent/ship/collector-target.js';
import { ShipperConfigError } from '../agent/ship/shipper.js';
import { ReplayUploadError, uploadReplay } from '../modes/replay/replay-upload.js';
import { STORED_TIMES_MS } from '../schemas/wire-types.js';
import { ProgressBar } from './progress-bar.js';

export const REPLAY_USAGE = `Usage: pathwatch replay [--json] [--flows [--sort packets|bytes] [--top N]] [--window MS]
                        [--ifname IDX=NAME]... [--role NAME=ROLE]...
                        [--collector URL [--token-file F] [--ca-file F]] INPUT...

Finds packets that entered a node and never left it in capture files, and says why.

INPUT is [NODE:][IFACE=]PATH. PATH is a pcap or pcapng file (gzip-compressed too), or - for stdin.
  pcapng: interface names come from the file (a name node/iface gives both node and interface).
  pcap from \`tcpdump -i any\` (Linux SLL2): the interface of each packet comes from its index;
    name them with --ifname 3=vxlan.calico (unnamed ones show as if3).
  other pcap: one interface, named IFACE, else after the file.
  NODE defaults to "local"; inputs with the same NODE are one node seen on several interfaces.

Options:
  --json             print one JSON document {"drops": [...], "flows": [...], "stats": {...}} on stdout
  --flows            add the table of what was decoded to the report: per node and interface, each
                     innermost 5-tuple with its encapsulation, packets, bytes, first and last seen
  --sort KEY         order the table by packets (the default) or bytes
  --top N            show the first N flows of the table (default: all)
  --window MS        correlation window in milliseconds (default 250)
  --ifname IDX=NAME  name of interface index IDX in Linux \`any\` captures (repeatable)
  --role NAME=ROLE   override the role of an interface: tunnel, pod, uplink, loopback, other
  --collector URL    also send the findings to a running collector (http://, https://, unix:/path),
                     stored and shown there like live data, marked as a replay
  --token-file F     bearer token for the collector's ingest
  --ca-file F        PEM CA certificate(s) an https:// collector's certificate must chain to
                     (default: the system's trust store)
  -h, --help         show this help

A packet is judged vanished only when the interface it should have left by was captured;
otherwise it is counted as unobserved. Exit status: 0 when the analysis ran, 2 for bad input.
`;

/**
 * The one JSON document, byte for byte what JSON.stringify of {drops, flows, stats} gives, written
 * a page of flows at a time, each page made only when the last was written: a capture can hold
 * hundreds of thousands of flows, and all of them as objects, or as one string, would be most of
 * the run's memory.
 */
async function writeJsonDocument(result: { drops: readonly { event: unknown }[]; flowPages(pageSize: number): Iterable<ReplayFlow[]>; stats: unknown }): Promise<void> {
  const write = (text: string): Promise<void> => new Promise((resolve, reject) => void process.stdout.write(text, (e) => (e ? reject(e) : resolve())));
  await write(`{"drops":${JSON.stringify(result.drops.map((d) => d.event))},"flows":[`);
  let first = true;
  for (const page of result.flowPages(2_000)) {
    if (page.length === 0) continue;
    await write(`${first ? '' : ','}${page.map(replayFlowJson).join(',')}`);
    first = false;
  }
  await write(`],"stats":${JSON.stringify(result.stats)}}\n`);
}

/** --flows, --sort and --top: the table's options, checked together. */
function parseFlowTableOptions(flows: boolean, sort: string | undefined, top: string | undefined, json: boolean): FlowTableOptions | undefined {
  if (!flows) {
    if (sort !== undefined || top !== undefined) throw new UsageError(`replay: ${sort !== undefined ? '--sort' : '--top'} goes with --flows`);
    return undefined;
  }
  if (json) throw new UsageError('replay: --flows is the table in the report; --json already holds the flows');
  if (sort !== undefined && sort !== 'packets' && sort !== 'bytes') throw new UsageError(`replay: --sort takes packets or bytes, not "${sort}"`);
  let limit: number | undefined;
  if (top !== undefined) {
    if (!/^\d+$/.test(top) || Number(top) < 1) throw new UsageError(`replay: --top takes a whole number of flows above 0, not "${top}"`);
    limit = Number(top);
  }
  return { sortBy: sort === 'bytes' ? 'bytes' : 'packets', ...(limit !== undefined ? { top: limit } : {}) };
}

export async function replayCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        json: { type: 'boolean', default: false },
        flows: { type: 'boolean', default: false },
        sort: { type: 'string' },
        top: { type: 'string' },
        window: { type: 'string' },
        ifname: { type: 'string', multiple: true, default: [] },
        role: { type: 'string', multiple: true, default: [] },
        collector: { type: 'string' },
        'token-file': { type: 'string' },
        'ca-file': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    throw new UsageError(`replay: ${(e as Error).message.split('\n')[0]}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(REPLAY_USAGE);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('replay: no input given (see pathwatch replay --help)');
  const windowMs = parseWindowOption('replay', values.window);
  const table = parseFlowTableOptions(values.flows, values.sort, values.top, values.json);
  const ifnames = new Map<number, string>();
  for (const spec of values.ifname) {
    const m = /^(\d+)=(\S+)$/.exec(spec);
    if (!m) throw new UsageError(`replay: --ifname takes IDX=NAME, not "${spec}"`);
    ifnames.set(Number(m[1]), m[2] as string);
  }
  const roles = new Map<string, InterfaceRole>();
  for (const spec of values.role) {
    const r = parseRoleOverride(spec);
    if (!r) throw new UsageError(`replay: --role takes NAME=ROLE with ROLE one of tunnel, pod, uplink, loopback, other, not "${spec}"`);
    roles.set(r.name, r.role);
  }
  if (values.collector !== undefined) {
    try {
      parseCollectorUrls([values.collector]);
    } catch (e) {
      if (e instanceof CollectorUrlError) throw new UsageError(`replay: ${e.message}`);
      throw e;
    }
  }
  if (values['token-file'] !== undefined && values.collector === undefined) throw new UsageError('replay: --token-file goes with --collector');
  if (values['ca-file'] !== undefined && !/^\s*https:/i.test(values.collector ?? '')) throw new UsageError('replay: --ca-file goes with an https:// --collector');
  const flows: FlowRecord[] = [];
  const inputs = positionals.map(parseReplayInputSpec);
  if (inputs.filter((i) => i.path === '-').length > 1) throw new UsageError('replay: stdin (-) can be given only once');

  let totalBytes: number | undefined = 0;
  for (const i of inputs) {
    if (i.path === '-') totalBytes = undefined;
    else if (totalBytes !== undefined) {
      try {
        totalBytes += (await stat(i.path)).size;
      } catch {
        // Reported by the reader with its reason.
      }
    }
  }
  const bar = ProgressBar.enabledFor(process.stderr, totalBytes) ? new ProgressBar(process.stderr, totalBytes, 'replay') : undefined;
  try {
    const result = await runReplay({
      inputs,
      ...(windowMs !== undefined ? { windowMs } : {}),
      ifnames,
      roles,
      ...(bar ? { onProgress: (b: number) => bar.update(b) } : {}),
      ...(values.collector !== undefined ? { keepPacketBytes: true, onFlow: (f: FlowRecord) => void flows.push(f) } : {}),
    });
    bar?.done();
    // For `npm run bench`: the engine's own rate, apart from reading, judging and writing.
    if (process.env.PATHWATCH_ENGINE_RATE === '1') {
      const e = result.engine;
      process.stderr.write(`pathwatch replay: engine: ${e.sightings} sightings in ${e.seconds.toFixed(3)} s (${(e.sightings / Math.max(e.seconds, 1e-9) / 1e6).toFixed(2)} M sightings/s)\n`);
    }
    // The analysis first: whatever happens to the upload, it ran and is shown.
    if (values.json) {
      await writeJsonDocument(result);
    } else {
      process.stdout.write(renderReplayReport(result.drops, result.stats));
      if (table) process.stdout.write(renderFlowTable(result.flows, table));
    }
    if (values.collector !== undefined) {
      const first = result.stats.firstPacket === null ? undefined : Date.parse(result.stats.firstPacket);
      const last = result.stats.lastPacket === null ? undefined : Date.parse(result.stats.lastPacket);
      if ((first !== undefined && first < STORED_TIMES_MS.from) || (last !== undefined && last > STORED_TIMES_MS.until)) {
        throw new UsageError(`replay: not sent to ${values.collector}: the capture is dated ${result.stats.firstPacket} .. ${result.stats.lastPacket}, and a collector stores times from 2000 to 2200 (a device without a clock writes 1970); the analysis above is complete`);
      }
      const sent = await uploadReplay(result.findings, flows, {
        collector: values.collector,
        ...(values['token-file'] ? { tokenFile: values['token-file'] } : {}),
        ...(values['ca-file'] ? { caFile: values['ca-file'] } : {}),
        log: (line) => void process.stderr.write(`pathwatch replay: ${line}\n`),
      });
      const candidates = result.findings.reduce((n, f) => n + f.candidates.length, 0);
      process.stderr.write(`pathwatch replay: sent ${candidates} candidate groups (${result.vanished.length} judged vanished) and ${flows.length} flow records to ${values.collector} (${sent.delivered} batches)\n`);
    }
    return 0;
  } catch (e) {
    bar?.done();
    if (e instanceof ReplayInputError) throw new UsageError(e.message);
    if (e instanceof ReplayUploadError || e instanceof ShipperConfigError) throw new UsageError(`replay: ${e.message}`);
    throw e;
  }
}
