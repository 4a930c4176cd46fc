// The pieces the store's SQL is made of: profile detection, the STORE spec, addresses, literals, fragments.
import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToIp, canonicalIp, halvesToIp, InvalidIpAddressError, ipToBytes, ipToHalves, ipv6Text } from '../../../collector/store/ip-address.js';
import { render, sql, SqlFragment, SqlIdentifier, SqlValue, valueList, type SqlPiece } from '../../../collector/store/sql/fragment.js';
import { formatInteger, quoteString, SqlValueError } from '../../../collector/store/sql/literals.js';
import { detectProfile } from '../../../collector/store/sql/profile-detect.js';
import { parseStoreSpec, StoreSpecError } from '../../../collector/store/store-spec.js';

describe('profile detection', () => {
  it.each([
    ['18.16.1', 'legacy'],
    ['1.1.54394', 'legacy'],
    ['19.17.4.11', 'legacy'],
    ['20.3.21.2', 'legacy'],
    ['20.8.3.18', 'current'],
    ['21.8.15.7', 'current'],
    ['24.3.1.2672', 'current'],
    ['26.7.2.1', 'current'],
    ['something-else', 'current'],
  ])('%s -> %s', (version, profile) => {
    expect(detectProfile(version)).toBe(profile);
  });
});

describe('STORE spec', () => {
  it('embedded, with and without a directory', () => {
    expect(parseStoreSpec('embedded')).toEqual({ kind: 'embedded', dir: './pathwatch-data' });
    expect(parseStoreSpec('embedded:')).toEqual({ kind: 'embedded', dir: './pathwatch-data' });
    expect(parseStoreSpec('embedded:/var/lib/pw')).toEqual({ kind: 'embedded', dir: '/var/lib/pw' });
  });

  it('clickhouse URLs: user, password, database default and location without the password', () => {
    expect(parseStoreSpec('clickhouse://127.0.0.1:8123')).toEqual({
      kind: 'clickhouse',
      httpUrl: 'http://127.0.0.1:8123',
      username: 'default',
      password: '',
      database: 'pathwatch',
      location: 'clickhouse://default@127.0.0.1:8123/pathwatch',
    });
    expect(parseStoreSpec('clickhouse://bob:s%40cret@db.example:9123/metrics')).toMatchObject({
      httpUrl: 'http://db.example:9123',
      username: 'bob',
      password: 's@cret',
      database: 'metrics',
      location: 'clickhouse://bob@db.example:9123/metrics',
    });
    expect(parseStoreSpec('clickhouse://[::1]:8123/x')).toMatchObject({ httpUrl: 'http://[::1]:8123', database: 'x' });
  });

  it.each([
    'sqlite:/tmp/x',
    'clickhouse://',
    'clickhouse://host',
    'clickhouse://host:8123/bad-name',
    'clickhouse://host:8123/a/b',
    'clickhouse://host:8123/db?x=1',
    "clickhouse://host:8123/x';DROP",
    '',
  ])('%j is a StoreSpecError with a one-line message', (spec) => {
    let error: unknown;
    try {
      parseStoreSpec(spec);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StoreSpecError);
    expect((error as Error).message).not.toContain('\n');
  });

  it('never shows the password in a message', () => {
    expect(() => parseStoreSpec('clickhouse://u:hunter2@host/db')).toThrow(/\*\*\*/);
    expect(() => parseStoreSpec('clickhouse://u:hunter2@host/db')).not.toThrow(/hunter2/);
  });
});

describe('IP addresses', () => {
  it('canonical spellings', () => {
    expect(canonicalIp('10.0.0.1')).toBe('10.0.0.1');
    expect(canonicalIp('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(canonicalIp('FD00:0:0::0:1')).toBe('fd00::1');
    expect(canonicalIp('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(canonicalIp('2001:0:0:1:0:0:0:1')).toBe('2001:0:0:1::1');
    expect(canonicalIp('::')).toBe('::');
    expect(canonicalIp('::1')).toBe('::1');
    expect(canonicalIp('1::')).toBe('1::');
    expect(canonicalIp('64:ff9b::192.0.2.33')).toBe('64:ff9b::c000:221');
    expect(canonicalIp('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2:3:4:5:6');
    expect(ipv6Text('10.0.0.1')).toBe('::ffff:10.0.0.1');
  });

  it('refuses what is not an address', () => {
    for (const bad of ['', '1.2.3', '1.2.3.256', 'fe80::1%eth0', "1.2.3.4'", 'x', '::g']) {
      expect(() => ipToBytes(bad), bad).toThrow(InvalidIpAddressError);
    }
  });

  it('bytes -> text -> bytes is the identity, and the text is an address node accepts', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const text = bytesToIp(bytes);
        expect(isIP(text)).not.toBe(0);
        expect(ipToBytes(text)).toEqual(bytes);
      }),
      { numRuns: 2000 },
    );
  });

  it('any generated IPv4 or IPv6 spelling parses to its canonical form', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (text) => {
        const canonical = canonicalIp(text);
        expect(canonicalIp(canonical)).toBe(canonical);
        const { hi, lo } = ipToHalves(text);
        expect(halvesToIp(hi, lo)).toBe(canonical);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('literals (legacy servers)', () => {
  it('integers: only safe integers or bigints within the type', () => {
    expect(formatInteger('UInt64', 2n ** 64n - 1n)).toBe('18446744073709551615');
    expect(formatInteger('Int64', -5)).toBe('-5');
    expect(formatInteger('UInt16', 65535)).toBe('65535');
    for (const bad of [1.5, NaN, Infinity, -1, 2 ** 53, 65536]) {
      expect(() => formatInteger('UInt16', bad), String(bad)).toThrow(SqlValueError);
    }
    expect(() => formatInteger('UInt64', 2n ** 64n)).toThrow(SqlValueError);
    expect(() => formatInteger('UInt32', '7' as unknown as number)).toThrow(SqlValueError);
  });

  it('strings: quote and backslash escaped, nothing else can end the literal', () => {
    expect(quoteString("'; DROP TABLE x; --")).toBe("'\\'; DROP TABLE x; --'");
    expect(quoteString('a\\b')).toBe("'a\\\\b'");
    expect(quoteString('\0\n\r\t')).toBe("'\\0\\n\\r\\t'");
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const body = quoteString(s).slice(1, -1);
        // Every quote inside is escaped (preceded by an odd run of backslashes).
        expect(body.replace(/\\./gs, '')).not.toMatch(/['\\]/);
      }),
    );
  });
});

describe('SQL fragments', () => {
  const f = sql`SELECT * FROM ${SqlIdentifier.of('flows')} WHERE node = ${SqlValue.string("n'1")} AND sport = ${SqlValue.integer('UInt16', 80)}`;

  it('bound: values become typed placeholders, apart from the text', () => {
    expect(render(f, 'bound')).toEqual({
      text: 'SELECT * FROM `flows` WHERE node = {p0:String} AND sport = {p1:UInt16}',
      params: { p0: "n'1", p1: '80' },
    });
  });

  it('inline: values become re-formatted literals', () => {
    expect(render(f, 'inline')).toEqual({ text: "SELECT * FROM `flows` WHERE node = 'n\\'1' AND sport = 80", params: {} });
  });

  it('refuses a plain string, a bad identifier, a bad integer', () => {
    expect(() => sql`SELECT ${'1; DROP TABLE x' as unknown as SqlPiece}`).toThrow(SqlValueError);
    expect(() => SqlIdentifier.of('flows`; DROP')).toThrow(SqlValueError);
    expect(() => SqlValue.integer('UInt8', 256)).toThrow(SqlValueError);
    expect(() => SqlValue.ipv6("1.2.3.4' OR 1")).toThrow(InvalidIpAddressError);
    expect(() => render(sql`${SqlValue.ipv6('::1')}`, 'inline')).toThrow(SqlValueError);
    expect(new SqlFragment([''], [])).toBeInstanceOf(SqlFragment);
  });

  it('value lists: one placeholder or literal per element, never empty, typed values only', () => {
    const ids = sql`SELECT id FROM ${SqlIdentifier.of('drops')} WHERE id IN ${valueList(["a'b", 'c\\', '{p0:String}'].map(SqlValue.string))} AND packets > ${SqlValue.integer('UInt32', 1)}`;
    expect(render(ids, 'bound')).toEqual({
      text: 'SELECT id FROM `drops` WHERE id IN ({p0:String}, {p1:String}, {p2:String}) AND packets > {p3:UInt32}',
      params: { p0: "a'b", p1: 'c\\', p2: '{p0:String}', p3: '1' },
    });
    expect(render(ids, 'inline')).toEqual({
      text: "SELECT id FROM `drops` WHERE id IN ('a\\'b', 'c\\\\', '{p0:String}') AND packets > 1",
      params: {},
    });
    expect(render(sql`${valueList([SqlValue.string('x')])}`, 'inline').text).toBe("('x')");
    expect(() => valueList([])).toThrow(SqlValueError);
    expect(() => valueList(['x' as unknown as SqlValue])).toThrow(SqlValueError);
  });
});
