/**
 * Where the agent ships batches: collector URLs parsed once at startup, and which collector owns a
 * routing key.
 *
 * URLs are validated up front with one-line errors because a typo here otherwise shows up much later
 * as a spool that silently fills. Keyed batches (packet fingerprints, group keys) must land on the
 * same collector from every node so that collector can stitch a packet's sightings across nodes;
 * rendezvous (highest random weight) hashing gives that without any coordination, ignores the order
 * of the list, and when a collector is removed only the keys it owned move. The weight hashes the
 * target's normalised label with SHA-256 (stable across processes and versions), so every agent must
 * name a given collector by the same URL.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';

export interface TcpTarget {
  readonly kind: 'tcp';
  /** Host name or address; IPv6 without brackets (as node:http wants it). */
  readonly host: string;
  readonly port: number;
  readonly socketPath: undefined;
  readonly tls: boolean;
  /** Normalised URL: identity for hashing, spool directory names and messages. */
  readonly label: string;
}

export interface UnixTarget {
  readonly kind: 'unix';
  /** Sent as the Host header only. */
  readonly host: 'localhost';
  readonly port: 0;
  readonly socketPath: string;
  readonly tls: false;
  readonly label: string;
}

export type CollectorTarget = TcpTarget | UnixTarget;

export class CollectorUrlError extends Error {
  override readonly name = 'CollectorUrlError';
}

const EXPECTED = 'expected http://host:port, https://host:port or unix:/path/to/socket';
/** sun_path is 108 bytes on Linux, including the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;

function fail(raw: string, reason: string): never {
  const shown = raw.length > 200 ? `${raw.slice(0, 200)}...` : raw;
  // JSON.stringify escapes control characters, so the message stays on one line whatever was passed.
  throw new CollectorUrlError(`bad collector URL ${JSON.stringify(shown)}: ${reason}`);
}

/** Parses one collector URL; throws CollectorUrlError with a one-line message. */
export function parseCollectorUrl(raw: string): CollectorTarget {
  const text = raw.trim();
  if (text === '') fail(raw, `empty (${EXPECTED})`);
  if (/\s/.test(text)) fail(raw, 'contains whitespace');
  if (/^unix:/i.test(text)) return parseUnix(raw, text.slice('unix:'.length));
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text);
  if (scheme === null) fail(raw, `missing scheme (${EXPECTED})`);
  const protocol = (scheme[1] as string).toLowerCase();
  if (protocol !== 'http' && protocol !== 'https') fail(raw, `unsupported scheme "${protocol}:" (${EXPECTED})`);
  // new URL() rejects a port above 65535 with a vague error; say what is wrong instead.
  const authority = (/^[^/?#]*/.exec(text.slice(scheme[0].length)) as RegExpExecArray)[0];
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1).replace(/^\[[^\]]*\]/, '');
  const portText = /:(\d+)$/.exec(hostPort);
  if (portText !== null && Number(portText[1]) > 65535) fail(raw, `port ${portText[1]} is out of range (1-65535)`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    fail(raw, `not a valid URL (${EXPECTED})`);
  }
  if (url.username !== '' || url.password !== '') fail(raw, 'credentials do not belong in the URL (use the token file)');
  if (url.hostname === '') fail(raw, 'missing host');
  if (url.pathname !== '/' && url.pathname !== '') fail(raw, `unexpected path "${url.pathname}" (the agent always posts to /api/v1/ingest)`);
  if (url.search !== '' || url.hash !== '') fail(raw, 'unexpected query or fragment');
  const tls = protocol === 'https';
  const port = url.port === '' ? (tls ? 443 : 80) : Number(url.port);
  if (port === 0) fail(raw, 'port 0 is out of range (1-65535)');
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return { kind: 'tcp', host, port, socketPath: undefined, tls, label: `${protocol}://${url.hostname}:${port}` };
}

function parseUnix(raw: string, rest: string): UnixTarget {
  // unix:/path and unix:///path both name an absolute path; unix://path would read as a host.
  let path = rest;
  if (path.startsWith('//')) {
    path = path.slice(2);
    if (!path.startsWith('/')) fail(raw, 'unix socket path must be absolute (unix:/path/to/socket)');
  }
  if (path === '') fail(raw, 'missing socket path (unix:/path/to/socket)');
  if (!path.startsWith('/')) fail(raw, 'unix socket path must be absolute (unix:/path/to/socket)');
  if (path.endsWith('/')) fail(raw, 'unix socket path names a directory');
  const normal = posix.normalize(path);
  if (Buffer.byteLength(normal) > MAX_SOCKET_PATH_BYTES) fail(raw, `unix socket path is longer than ${MAX_SOCKET_PATH_BYTES} bytes`);
  return { kind: 'unix', host: 'localhost', port: 0, socketPath: normal, tls: false, label: `unix:${normal}` };
}

/** Parses a list of collector URLs: at least one, no collector twice. */
export function parseCollectorUrls(raws: readonly string[]): CollectorTarget[] {
  if (raws.length === 0) throw new CollectorUrlError('no collector URL given (expected at least one)');
  const seen = new Set<string>();
  return raws.map((raw) => {
    const target = parseCollectorUrl(raw);
    if (seen.has(target.label)) fail(raw, `collector ${target.label} is listed twice`);
    seen.add(target.label);
    return target;
  });
}

/** The rendezvous weight of key on the target labelled label: 48 bits of SHA-256. */
export function rendezvousWeight(label: string, key: string): number {
  return createHash('sha256').update(label).update('\n').update(key).digest().readUIntBE(0, 6);
}

/** The target with the highest weight for key (ties, practically never, go to the smaller label). */
export function rendezvousPick<T extends { readonly label: string }>(targets: readonly T[], key: string): T {
  let best: T | undefined;
  let bestWeight = -1;
  for (const target of targets) {
    const weight = rendezvousWeight(target.label, key);
    if (weight > bestWeight || (weight === bestWeight && best !== undefined && target.label < best.label)) {
      best = target;
      bestWeight = weight;
    }
  }
  if (best === undefined) throw new RangeError('rendezvousPick needs at least one target');
  return best;
}
