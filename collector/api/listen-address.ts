/**
 * `--listen` addresses: `HOST:PORT` (IPv6 in brackets) or `unix:/path/to/socket`, and whether one
 * is reachable from other machines (then tokens are required).
 */
import { isIP } from 'node:net';

export type ListenAddress = { readonly kind: 'tcp'; readonly host: string; readonly port: number } | { readonly kind: 'unix'; readonly path: string };

export class ListenAddressError extends Error {
  override name = 'ListenAddressError';
}

export const DEFAULT_LISTEN = '127.0.0.1:7070';

export function parseListenAddress(text: string): ListenAddress {
  if (text.startsWith('unix:')) {
    const path = text.slice(5);
    if (path.length === 0) throw new ListenAddressError(`--listen ${text}: give the socket path after unix:`);
    return { kind: 'unix', path };
  }
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!m || host === undefined || port > 65535) throw new ListenAddressError(`--listen ${text}: expected HOST:PORT or unix:/path`);
  if (host !== '' && host !== 'localhost' && isIP(host) === 0) throw new ListenAddressError(`--listen ${text}: ${host} is not an IP address`);
  return { kind: 'tcp', host: host === '' ? '0.0.0.0' : host, port };
}

/** Loopback and unix sockets are local; anything else can be reached from other machines. */
export function isLocalOnly(address: ListenAddress): boolean {
  if (address.kind === 'unix') return true;
  const h = address.host;
  return h === 'localhost' || h === '::1' || (isIP(h) === 4 && h.startsWith('127.'));
}

export function formatListenAddress(address: ListenAddress): string {
  if (address.kind === 'unix') return `unix:${address.path}`;
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
