/**
 * Which DDL profile a server gets, from `SELECT version()`.
 *
 * The `current` profile needs, with the ClickHouse release that brought each: IPv6 data type (19.3),
 * TTL (19.6), column codecs Delta/ZSTD (19.10), `{name:Type}` query parameters (19.11), DateTime64
 * (20.1), toUnixTimestamp64Milli/fromUnixTimestamp64Milli (20.5). 20.8 is the first long-term-support
 * release that has all of them, so it is the threshold: anything older (Debian's 18.16, 19.x, early
 * 20.x) gets `legacy`, whose SQL only uses what 18.16 already had and so runs on those too.
 * A version string that does not start with MAJOR.MINOR is taken as current: every release since
 * 18.x reports one, so an unparsable string means a newer, differently labelled build.
 */
export type ProfileName = 'current' | 'legacy';

const FIRST_CURRENT: readonly [number, number] = [20, 8];

export function detectProfile(version: string): ProfileName {
  const match = /^\s*(\d+)\.(\d+)/.exec(version);
  if (!match) return 'current';
  const major = Number(match[1]);
  const minor = Number(match[2]);
  const [wantMajor, wantMinor] = FIRST_CURRENT;
  return major > wantMajor || (major === wantMajor && minor >= wantMinor) ? 'current' : 'legacy';
}
