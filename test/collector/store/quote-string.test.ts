// quoteString is the one function that puts strings into SQL text on servers without query parameters.
// Property: for any string, the quoted literal reads back through the engine as exactly that string.
// Run against chDB always and against the ClickHouse server (18.16, started by the test run unless
// PATHWATCH_CLICKHOUSE_URL is given) when there is one.
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChdbExecutor } from '../../../collector/store/backends/chdb-executor.js';
import { ClickHouseExecutor } from '../../../collector/store/backends/clickhouse-executor.js';
import { quoteString } from '../../../collector/store/sql/literals.js';
import type { SqlExecutor } from '../../../collector/store/sql-executor.js';
import { parseStoreSpec } from '../../../collector/store/store-spec.js';
import { HOSTILE_STRINGS } from './storage-contract.js';

const EDGE_CASES = [...HOSTILE_STRINGS, '\\', "'", "\\'", "''", '\\\\\'', '\0\0', '\u0001\u007f', '\u2028\u2029', '\uffff', '𝌆'];

/** Well-formed Unicode strings, biased towards the characters that matter to a quoting function. */
const interesting = fc.string({
  unit: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('\\', "'", '\n', '\r', '\t', '\0', '"', '`', '?', '{', '}', ':', ';', '-') },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  ),
  maxLength: 40,
});

/**
 * Many strings per statement keep the property test quick over HTTP: one SELECT with a literal per
 * string, compared column by column.
 */
async function roundTrip(executor: SqlExecutor, values: readonly string[]): Promise<string[]> {
  const list = values.map((v, i) => `${quoteString(v)} AS c${i}`).join(', ');
  // Built from quoteString output and fixed text only: the subject under test.
  const rows = await executor.select({ text: `SELECT ${list}`, params: {} });
  return values.map((_, i) => rows[0]![`c${i}`] as string);
}

function describeRoundTrip(name: string, open: () => Promise<SqlExecutor>, cleanup: () => void = () => undefined): void {
  describe(`quoteString round trip: ${name}`, () => {
    let executor: SqlExecutor;
    beforeAll(async () => {
      executor = await open();
    });
    afterAll(async () => {
      await executor.close();
      cleanup();
    });

    it('edge cases come back unchanged', async () => {
      expect(await roundTrip(executor, EDGE_CASES)).toEqual(EDGE_CASES);
    });

    it('arbitrary strings come back unchanged', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(interesting, { minLength: 1, maxLength: 25 }), async (values) => {
          expect(await roundTrip(executor, values)).toEqual(values);
        }),
        { numRuns: 150 },
      );
    });
  });
}

let chdbDir = '';
describeRoundTrip(
  'chDB',
  async () => {
    chdbDir = mkdtempSync(join(tmpdir(), 'pathwatch-quote-test-'));
    return ChdbExecutor.open(chdbDir);
  },
  () => rmSync(chdbDir, { recursive: true, force: true }),
);

const url = process.env.PATHWATCH_CLICKHOUSE_URL;
if (url) {
  describeRoundTrip(`ClickHouse server at ${url}`, async () => {
    const spec = parseStoreSpec(url);
    if (spec.kind !== 'clickhouse') throw new Error(`not a server URL: ${url}`);
    return new ClickHouseExecutor({ url: spec.httpUrl, username: spec.username, password: spec.password, location: spec.location });
  });
}
