/**
 * `pathwatch agent --collector URL... [--node NAME] [--iface PATTERN]... [--token-file F] [--ca-file F]
 *  [--spool-dir DIR] [--spool-max-mb N] [--window MS]`: watches this node and ships what it finds.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LiveCaptureError } from '../agent/capture/live-capture.js';
import { runAgent } from '../agent/live/agent-runner.js';
import { CollectorUrlError, parseCollectorUrls } from '../agent/ship/collector-target.js';
import { ShipperConfigError } from '../agent/ship/shipper.js';
import { SpoolLockError, SpoolLockedError } from '../agent/ship/spool-lock.js';
import { UsageError } from './cli-error.js';
import { parseWindowOption } from './window-option.js';

export const AGENT_USAGE = `Usage: pathwatch agent --collector URL... [--node NAME] [--iface PATTERN]... [--token-file F]
                       [--ca-file F] [--spool-dir DIR] [--spool-max-mb N] [--window MS]

Watches this node (every interface, libpcap on any; the kernel's drop reasons through eBPF) and
ships flow records, vanished packets with their evidence (the kernel's drop of each packet,
matched by fingerprint) and the node's kernel drop counts to collectors.

  --collector URL    http://host:port, https://host:port or unix:/path/to/socket (repeatable: each
                     packet's records go to the collector its fingerprint chooses)
  --node NAME        this node's name (default: the host name)
  --iface PATTERN    analyse only interfaces matching the pattern (* wildcard; repeatable)
  --token-file F     bearer token for the collector's ingest
  --ca-file F        PEM CA certificate(s) that https:// collectors' certificates must chain to (a
                     private CA, or a self-signed collector certificate); default: the system's
                     trust store
  --spool-dir DIR    where batches wait while a collector is unreachable (default
                     /var/lib/pathwatch/spool/NODE); it belongs to one agent, a second agent
                     started on it is refused
  --spool-max-mb N   bound on the spool; beyond it the oldest batches are dropped and counted (default 256)
  --window MS        correlation window in milliseconds (default 250)
  --filter BPF       capture filter, e.g. "not port 22"
  --buffer-mb N      kernel capture buffer (default 16)
  --sample N         keep one packet in N, chosen by fingerprint so whole paths are kept
  --cross-node-sample N  report one encapsulated packet in N to the collector for stitching
                     across nodes (default 1024; 0 turns it off)
  --metrics-listen HOST:PORT   serve Prometheus metrics at /metrics
  -h, --help         show this help

Runs as root (or with CAP_NET_RAW, CAP_NET_ADMIN, CAP_BPF, CAP_PERFMON) in the node's network
namespace. Stops on SIGTERM or SIGINT, flushing what it has.
`;

/** Where each node's default spool directory lives. */
export const DEFAULT_SPOOL_ROOT = '/var/lib/pathwatch/spool';

/**
 * A node name as one readable path component: letters, digits, `_`, `-` and dots after the first
 * character are kept, every other byte is written %XX (so `/`, NUL, `.`, `..` and hidden names
 * cannot come out of it, and two names never share a directory); names too long for a path
 * component keep their start and get a hash.
 */
export function nodePathComponent(node: string): string {
  if (node === '') throw new RangeError('a node name cannot be empty');
  let out = '';
  for (const byte of Buffer.from(node, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /^[A-Za-z0-9_-]$/.test(c) || (c === '.' && out !== '') ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  if (out.length <= 200) return out;
  return `${out.slice(0, 180)}-${createHash('sha256').update(node).digest('hex').slice(0, 16)}`;
}

/**
 * The default --spool-dir: one directory per node under DEFAULT_SPOOL_ROOT, so agents of several
 * nodes on one host (one per network namespace, as in the lab) do not share a spool by default.
 */
export function defaultSpoolDir(node: string, root: string = DEFAULT_SPOOL_ROOT): string {
  return join(root, nodePathComponent(node));
}

/**
 * Agents before per-node default spools kept their collectors' spools right under the root; those
 * batches are not sent from there any more, so say where they are (a node's directory holds
 * collector directories, never batches, and is not reported).
 */
function reportOldDefaultSpools(root: string, spoolDir: string, log: (line: string) => void): void {
  let entries;
  try {
    entries = readdirSync(root, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const dir = join(root, entry.name);
    let batches = 0;
    try {
      batches = readdirSync(dir).filter((name) => /^\d{16}-\d{20}\.batch$/.test(name)).length;
    } catch {
      continue;
    }
    if (batches > 0) log(`${dir} holds ${batches} batch(es) spooled by an older agent under the old default spool directory; to deliver them, move it into ${spoolDir} while this agent is stopped`);
  }
}

function globToRegExp(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
}

export async function agentCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        collector: { type: 'string', multiple: true, default: [] },
        node: { type: 'string' },
        iface: { type: 'string', multiple: true, default: [] },
        'token-file': { type: 'string' },
        'ca-file': { type: 'string' },
        'spool-dir': { type: 'string' },
        'spool-max-mb': { type: 'string' },
        window: { type: 'string' },
        filter: { type: 'string' },
        'buffer-mb': { type: 'string' },
        sample: { type: 'string' },
        'cross-node-sample': { type: 'string' },
        'metrics-listen': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    throw new UsageError(`agent: ${(e as Error).message.split('\n')[0]}`);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(AGENT_USAGE);
    return 0;
  }
  if (v.collector.length === 0) throw new UsageError('agent: at least one --collector URL is needed (see pathwatch agent --help)');
  try {
    parseCollectorUrls(v.collector);
  } catch (e) {
    if (e instanceof CollectorUrlError) throw new UsageError(`agent: ${e.message}`);
    throw e;
  }
  if (v['ca-file'] !== undefined && !v.collector.some((u) => /^\s*https:/i.test(u))) throw new UsageError('agent: --ca-file is for https:// collectors, and none is given');
  const spoolMb = v['spool-max-mb'] === undefined ? 256 : Number(v['spool-max-mb']);
  if (!(spoolMb > 0 && spoolMb <= 1 << 20)) throw new UsageError(`agent: --spool-max-mb must be a positive number, not "${v['spool-max-mb']}"`);
  const windowMs = parseWindowOption('agent', v.window);
  const patterns = v.iface.map(globToRegExp);
  const sample = v.sample === undefined ? undefined : Number(v.sample);
  if (sample !== undefined && !(Number.isInteger(sample) && sample >= 1 && sample <= 1_000_000)) throw new UsageError(`agent: --sample takes a whole number from 1 to 1000000, not "${v.sample}"`);
  const bufferMb = v['buffer-mb'] === undefined ? undefined : Number(v['buffer-mb']);
  // libpcap takes the ring's size as an int: up to 1 GiB here.
  if (bufferMb !== undefined && !(bufferMb >= 1 && bufferMb <= 1024)) throw new UsageError(`agent: --buffer-mb takes 1 to 1024, not "${v['buffer-mb']}"`);
  const crossNodeSample = v['cross-node-sample'] === undefined ? undefined : Number(v['cross-node-sample']);
  if (crossNodeSample !== undefined && !(Number.isInteger(crossNodeSample) && crossNodeSample >= 0 && crossNodeSample <= 1_000_000)) {
    throw new UsageError(`agent: --cross-node-sample takes a whole number from 0 to 1000000, not "${v['cross-node-sample']}"`);
  }
  const node = v.node ?? hostname();
  if (node === '') throw new UsageError('agent: --node cannot be empty');
  const spoolDir = v['spool-dir'] ?? defaultSpoolDir(node);
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.on('SIGINT', stop); // on, not once: a second signal while flushing must not kill it
  process.on('SIGTERM', stop);
  const log = (line: string): void => void process.stderr.write(`pathwatch agent: ${line}\n`);
  try {
    const summary = await runAgent(
      {
        node,
        collectors: v.collector,
        ...(v['token-file'] ? { tokenFile: v['token-file'] } : {}),
        ...(v['ca-file'] ? { caFile: v['ca-file'] } : {}),
        spoolDir,
        spoolMaxBytes: Math.floor(spoolMb * 1024 * 1024),
        ...(windowMs !== undefined ? { windowMs } : {}),
        capture: { ...(v.filter ? { filter: v.filter } : {}), ...(bufferMb ? { bufferKiB: bufferMb * 1024 } : {}) },
        ...(sample !== undefined ? { sampleOneIn: sample } : {}),
        ...(crossNodeSample !== undefined ? { crossNodeSampleOneIn: crossNodeSample } : {}),
        ...(v['metrics-listen'] ? { metricsListen: v['metrics-listen'] } : {}),
        ...(patterns.length > 0 ? { acceptInterface: (name: string) => patterns.some((p) => p.test(name)) } : {}),
        onReady: () => {
          log(`watching ${node}${patterns.length > 0 ? ` (interfaces ${v.iface.join(', ')})` : ''}, shipping to ${v.collector.join(', ')}`);
          // Once running, so that an agent refused at start still says one line.
          if (v['spool-dir'] === undefined) reportOldDefaultSpools(DEFAULT_SPOOL_ROOT, spoolDir, log);
        },
        log,
      },
      controller.signal,
    );
    const s = summary.shipper;
    log(`stopped: ${summary.packets} packets, ${summary.batches} batches (${s.sent} delivered, ${s.spooledBatches} spooled, ${s.lostBatches} lost), ${summary.vanishedGroups} vanished groups`);
    return 0;
  } catch (e) {
    // The spool is locked when the shipper is made, before the capture starts: a refused agent says so first.
    if (e instanceof SpoolLockedError) throw new UsageError(`agent: ${e.message}; give each agent its own --spool-dir`);
    if (e instanceof LiveCaptureError || e instanceof ShipperConfigError || e instanceof SpoolLockError || (e instanceof Error && /^cannot listen on|^--metrics-listen|^cannot (create|read) spool directory/.test(e.message))) {
      throw new UsageError(`agent: ${e.message}`);
    }
    throw e;
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  }
}
