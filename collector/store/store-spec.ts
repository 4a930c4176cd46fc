/**
 * The STORE argument (`--store`): `embedded[:DIR]` or `clickhouse://[user[:password]@]host:port[/database]`.
 */
import { isIdentifier } from './sql/fragment.js';

export const DEFAULT_EMBEDDED_DIR = './pathwatch-data';
export const DEFAULT_DATABASE = 'pathwatch';
/** The database chDB keeps the tables in (the directory already separates stores). */
export const EMBEDDED_DATABASE = 'pathwatch';

const USAGE = 'expected embedded:DIR or clickhouse://[user[:password]@]host:port[/database]';

/** A STORE that cannot be parsed; the message is one line, fit for a usage error. */
export class StoreSpecError extends Error {
  override name = 'StoreSpecError';
}

export type StoreSpec =
  | { readonly kind: 'embedded'; readonly dir: string }
  | {
      readonly kind: 'clickhouse';
      /** http://host:port */
      readonly httpUrl: string;
      readonly username: string;
      readonly password: string;
      readonly database: string;
      /** clickhouse://user@host:port/database: the spec without its password. */
      readonly location: string;
    };

export function parseStoreSpec(spec: string): StoreSpec {
  if (spec === 'embedded' || spec === 'embedded:') return { kind: 'embedded', dir: DEFAULT_EMBEDDED_DIR };
  if (spec.startsWith('embedded:')) return { kind: 'embedded', dir: spec.slice('embedded:'.length) };
  if (spec.startsWith('clickhouse://')) return parseClickHouse(spec);
  throw new StoreSpecError(`bad store ${JSON.stringify(spec)}: ${USAGE}`);
}

function parseClickHouse(spec: string): StoreSpec {
  const shown = spec.replace(/(\/\/[^:@/]*:)[^@/]*@/, '$1***@');
  const bad = (why: string): StoreSpecError => new StoreSpecError(`bad store ${JSON.stringify(shown)}: ${why}`);
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    throw bad(USAGE);
  }
  if (url.hostname === '') throw bad('the host is missing');
  if (url.port === '') throw bad('the port is missing (the HTTP port, usually 8123)');
  if (url.search !== '' || url.hash !== '') throw bad('query strings and fragments are not supported');
  const path = url.pathname.replace(/^\//, '');
  const database = path === '' ? DEFAULT_DATABASE : decodeURIComponent(path);
  if (!isIdentifier(database)) throw bad(`database ${JSON.stringify(database)}: letters, digits and _ only`);
  const username = url.username === '' ? 'default' : decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  const host = url.hostname; // IPv6 literals keep their brackets here
  return {
    kind: 'clickhouse',
    httpUrl: `http://${host}:${url.port}`,
    username,
    password,
    database,
    location: `clickhouse://${encodeURIComponent(username)}@${host}:${url.port}/${database}`,
  };
}
