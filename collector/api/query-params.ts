/**
 * The query API's parameters, checked and turned into typed filters: a bad value is a 400 with a
 * one-line reason, never a query. Addresses come out canonical, times as epoch milliseconds.
 */
import { canonicalIpText } from '../store/ip-address.js';
import type { DropFilter, FlowFilter } from '../store/storage.js';

export class QueryParamError extends Error {
  override name = 'QueryParamError';
}

type Query = Record<string, unknown>;

const KNOWN_DROP_PARAMS = new Set(['since', 'until', 'node', 'src', 'dst', 'limit']);
const KNOWN_FLOW_PARAMS = new Set(['since', 'until', 'node', 'src', 'dst', 'port', 'proto', 'limit']);
const PROTO_NUMBERS: Readonly<Record<string, number>> = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58, sctp: 132 };

function single(q: Query, name: string): string | undefined {
  const v = q[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new QueryParamError(`${name} must be given once`);
  return v;
}

/** ISO 8601 with a time zone, or epoch milliseconds. */
export function parseTime(name: string, text: string): number {
  let ms: number;
  if (/^\d{1,16}$/.test(text)) ms = Number(text);
  else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/.test(text)) {
    // Date.parse rolls a day past the month's end over (2026-02-30 is 2 March): refuse it instead.
    const [year, month, day] = text.slice(0, 10).split('-').map(Number) as [number, number, number];
    const monthEnd = new Date(0);
    monthEnd.setUTCFullYear(year, month, 0); // (Date.UTC would read years 0-99 as 1900-1999)
    if (month < 1 || month > 12 || day < 1 || day > monthEnd.getUTCDate()) {
      throw new QueryParamError(`${name} has no such date: ${text.slice(0, 10)}`);
    }
    ms = Date.parse(text);
  } else throw new QueryParamError(`${name} must be ISO 8601 (2026-01-01T00:00:00.000Z) or epoch milliseconds`);
  if (!Number.isFinite(ms) || ms > 8.64e15) throw new QueryParamError(`${name} is not a valid time`);
  return ms;
}

export function parseAddressParam(name: string, text: string): string {
  const canonical = canonicalIpText(text);
  if (canonical === undefined) throw new QueryParamError(`${name} must be an IPv4 or IPv6 address`);
  return canonical;
}

function parseNode(text: string): string {
  if (text.length === 0 || text.length > 256 || /[\u0000-\u001f\u007f]/.test(text)) throw new QueryParamError('node must be 1-256 printable characters');
  return text;
}

function parseIntParam(name: string, text: string, min: number, max: number): number {
  if (!/^\d{1,10}$/.test(text)) throw new QueryParamError(`${name} must be an integer from ${min} to ${max}`);
  const n = Number(text);
  if (n < min || n > max) throw new QueryParamError(`${name} must be an integer from ${min} to ${max}`);
  return n;
}

function rejectUnknown(q: Query, known: ReadonlySet<string>): void {
  for (const name of Object.keys(q)) if (!known.has(name)) throw new QueryParamError(`unknown parameter ${name.slice(0, 64)}`);
}

function common(q: Query) {
  const since = single(q, 'since');
  const until = single(q, 'until');
  const node = single(q, 'node');
  const src = single(q, 'src');
  const dst = single(q, 'dst');
  const limit = single(q, 'limit');
  const f = {
    ...(since !== undefined ? { sinceMs: parseTime('since', since) } : {}),
    ...(until !== undefined ? { untilMs: parseTime('until', until) } : {}),
    ...(node !== undefined ? { node: parseNode(node) } : {}),
    ...(src !== undefined ? { src: parseAddressParam('src', src) } : {}),
    ...(dst !== undefined ? { dst: parseAddressParam('dst', dst) } : {}),
    limit: limit === undefined ? 100 : parseIntParam('limit', limit, 1, 10_000),
  };
  if (f.sinceMs !== undefined && f.untilMs !== undefined && f.sinceMs > f.untilMs) throw new QueryParamError('since is after until');
  return f;
}

export function parseDropQuery(q: Query): DropFilter {
  rejectUnknown(q, KNOWN_DROP_PARAMS);
  return common(q);
}

export function parseFlowQuery(q: Query): FlowFilter {
  rejectUnknown(q, KNOWN_FLOW_PARAMS);
  const port = single(q, 'port');
  const proto = single(q, 'proto');
  let protoNumber: number | undefined;
  if (proto !== undefined) protoNumber = PROTO_NUMBERS[proto.toLowerCase()] ?? parseIntParam('proto', proto, 0, 255);
  return {
    ...common(q),
    ...(port !== undefined ? { port: parseIntParam('port', port, 0, 65535) } : {}),
    ...(protoNumber !== undefined ? { proto: protoNumber } : {}),
  };
}

/** A drop event id: 20 lower-case hex digits (drop-event.ts). */
export function parseDropId(text: string): string {
  if (!/^[0-9a-f]{20}$/.test(text)) throw new QueryParamError('a drop event id is 20 hex digits');
  return text;
}
