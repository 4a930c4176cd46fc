/**
 * A mutation corpus for `pathwatch replay`: deterministic mutants of the public captures in
 * test/fixtures/pcap (truncations at record and block boundaries and anywhere, flipped bytes, absurd
 * length and timestamp fields, inserted garbage, repeated blocks, gzip of a mutant and gzip cut
 * short), generated at test time into a temporary directory.
 *
 * Every mutant is replayed in-process (runReplay, then the report and the JSON the CLI would print):
 * the analysis runs, or the input is refused with a one-line ReplayInputError. A sample of them, and
 * every regression fixture in test/fixtures/mutants/, also goes through the built CLI (a file, or
 * stdin): exit 0 or 2, exactly one line on stderr with 2, never a stack trace.
 *
 * Regression fixtures: test/fixtures/mutants/ keeps the small mutants that once broke something, with
 * a README line each. None is open now (see OPEN below).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseReplayInputSpec } from '../../modes/replay/replay-input.js';
import { renderReplayReport } from '../../modes/replay/replay-report.js';
import { ReplayInputError, runReplay } from '../../modes/replay/replay-runner.js';
import { listFixtures, readFixture } from '../agent/capture/capture-test-helpers.js';
import { ensureBuilt, runPathwatch, type CliResult } from '../support/built-cli.js';
import { withinBudgetAsync } from './support/budget.js';
import { mutantCorpus, type Mutant } from './support/capture-mutants.js';

const SEED = 0x70617468; // "path"
const COUNT = 400;
/** One in this many mutants also runs through the CLI. */
const CLI_EVERY = 10;
const REPLAY_BUDGET_MS = 5000;
const MUTANT_FIXTURES = fileURLToPath(new URL('../fixtures/mutants/', import.meta.url));

/**
 * Regression fixtures whose bug is still open (reported, not fixed here): they are expected to fail
 * the contract, and the corpus tolerates mutants that fail the same way. Remove an entry once its
 * bug is fixed; its test (an `it.fails`) then fails to remind you.
 */
const OPEN: ReadonlyArray<{ fixture: string; what: string; matches: (e: unknown) => boolean; stderr: RegExp }> = [];

type Outcome = { kind: 'ok'; drops: number } | { kind: 'refused'; message: string } | { kind: 'crash'; error: unknown };

/** What the CLI does with an input, in-process: replay, then render the report and the JSON. */
async function replayInProcess(path: string): Promise<Outcome> {
  try {
    const result = await runReplay({ inputs: [parseReplayInputSpec(path)] });
    renderReplayReport(result.drops, result.stats);
    JSON.stringify({ drops: result.drops.map((d) => d.event), stats: result.stats });
    return { kind: 'ok', drops: result.drops.length };
  } catch (e) {
    if (e instanceof ReplayInputError) return { kind: 'refused', message: e.message };
    return { kind: 'crash', error: e };
  }
}

/** The CLI contract: 0 or 2; with 2 exactly one line on stderr; no stack trace anywhere. */
function checkCli(r: CliResult, what: string): void {
  const context = `${what}: exit ${r.code}, stderr ${JSON.stringify(r.stderr.slice(0, 500))}`;
  expect([0, 2], context).toContain(r.code);
  expect(r.stderr, context).not.toMatch(/ {4}at /);
  expect(r.stdout, context).not.toMatch(/ {4}at .*\(.*:\d+:\d+\)/);
  if (r.code === 2) {
    expect(r.stderr, context).toMatch(/^pathwatch: [^\n]+\n$/);
  }
}

async function inParallel<T, R>(items: readonly T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

let dir: string;
let corpus: Mutant[];
const paths = new Map<string, string>();
const outcomes = new Map<string, Outcome>();

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'pathwatch-mutants-'));
  const sources = listFixtures().map((name) => ({ name, bytes: readFixture(name) }));
  corpus = mutantCorpus(sources, COUNT, SEED);
  for (const m of corpus) {
    const p = join(dir, m.name);
    writeFileSync(p, m.bytes);
    paths.set(m.name, p);
  }
}, 300_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('pathwatch replay on a mutation corpus', () => {
  it(`the corpus is deterministic and varied (${COUNT} mutants of every fixture)`, () => {
    const again = mutantCorpus(listFixtures().map((name) => ({ name, bytes: readFixture(name) })), COUNT, SEED);
    expect(again.map((m) => m.description)).toEqual(corpus.map((m) => m.description));
    const text = corpus.map((m) => m.description).join('\n');
    for (const kind of ['cut at', 'garbage bytes inserted', '^=', 'caplen', 'block length', 'timestamp', 'repeated at', 'gzipped', 'gzip stream cut']) expect(text).toContain(kind);
  });

  it('in-process: every mutant is analysed or refused with one line, within the budget', async () => {
    const crashes: string[] = [];
    const known: string[] = [];
    for (const m of corpus) {
      // (Assigned in the callback: a plain annotation would let TypeScript narrow it to 'ok'.)
      let outcome = { kind: 'ok', drops: 0 } as Outcome;
      const ms = await withinBudgetAsync(REPLAY_BUDGET_MS, async () => {
        outcome = await replayInProcess(paths.get(m.name)!);
      });
      outcomes.set(m.name, outcome);
      const what = `${m.name} (${m.description})`;
      if (ms > REPLAY_BUDGET_MS) crashes.push(`${what}: took ${ms === Infinity ? 'forever' : `${Math.round(ms)} ms`}`);
      if (outcome.kind === 'refused') {
        expect(outcome.message, what).not.toMatch(/\n/);
        expect(outcome.message, what).not.toMatch(/ {4}at /);
      }
      if (outcome.kind === 'crash') {
        const error = outcome.error;
        const open = OPEN.find((o) => o.matches(error));
        const line = `${what}: ${error instanceof Error ? (error.stack ?? error.message).split('\n').slice(0, 3).join(' | ') : String(error)}`;
        (open ? known : crashes).push(line);
      }
    }
    if (known.length > 0) console.warn(`replay mutants failing by a known open bug (${known.length}):\n${known.join('\n')}`);
    expect(crashes).toEqual([]);
    const counts = { ok: 0, refused: 0, crash: 0 };
    for (const o of outcomes.values()) counts[o.kind]++;
    // A corpus that only ever fails at the magic number would test little.
    expect(counts.ok, JSON.stringify(counts)).toBeGreaterThan(COUNT / 5);
    expect(counts.refused, JSON.stringify(counts)).toBeGreaterThan(COUNT / 5);
  }, 600_000);

  it('the built CLI on a sample (files and stdin): exit 0 or 2, one line on stderr, no stack trace, as in-process', async () => {
    const sample = corpus.filter((_, i) => i % CLI_EVERY === 0);
    const results = await inParallel(sample, 4, async (m) => {
      const viaStdin = sample.indexOf(m) % 3 === 2;
      const json = sample.indexOf(m) % 2 === 1;
      const args = ['replay', ...(json ? ['--json'] : []), viaStdin ? '-' : paths.get(m.name)!];
      const r = await runPathwatch(args, { timeoutMs: 60_000, ...(viaStdin ? { input: Buffer.from(m.bytes) } : {}) });
      return { m, r, args };
    });
    for (const { m, r, args } of results) {
      const what = `pathwatch ${args.slice(0, -1).join(' ')} ${m.name} (${m.description})`;
      const inProcess = outcomes.get(m.name);
      const open = inProcess?.kind === 'crash' ? OPEN.find((o) => o.matches(inProcess.error)) : undefined;
      if (open) {
        expect(r.stderr, what).toMatch(open.stderr);
        continue;
      }
      checkCli(r, what);
      if (inProcess) expect(r.code, what).toBe(inProcess.kind === 'ok' ? 0 : 2);
      if (r.code === 0 && args.includes('--json')) expect(() => JSON.parse(r.stdout), what).not.toThrow();
    }
  }, 600_000);
});

describe('regression fixtures (test/fixtures/mutants)', () => {
  const files = readdirSync(MUTANT_FIXTURES).filter((f) => f !== 'README.md').sort();
  const readme = readFileSync(join(MUTANT_FIXTURES, 'README.md'), 'utf8');

  it('each has a README line saying what broke, and none is big', () => {
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      expect(readme, f).toMatch(new RegExp(`^\\| \`${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\` \\|`, 'm'));
      expect(readFileSync(join(MUTANT_FIXTURES, f)).length, f).toBeLessThan(64 * 1024);
    }
    for (const o of OPEN) expect(files).toContain(o.fixture);
  });

  for (const f of files) {
    const open = OPEN.find((o) => o.fixture === f);
    const test = open ? it.fails : it;
    test(`${open ? 'KNOWN BUG (open): ' : ''}${f}: exit 0 or 2 with one line, in-process and by the CLI (file and stdin)`, async () => {
      const path = join(MUTANT_FIXTURES, f);
      const outcome = await replayInProcess(path);
      expect(outcome.kind === 'crash' ? String((outcome.error as Error).stack) : '', f).toBe('');
      for (const args of [['replay', path], ['replay', '--json', '-']]) {
        const r = await runPathwatch(args, { timeoutMs: 60_000, ...(args.includes('-') ? { input: readFileSync(path) } : {}) });
        checkCli(r, `pathwatch ${args.join(' ')}`);
        expect(r.code).toBe(outcome.kind === 'ok' ? 0 : 2);
      }
    }, 120_000);
  }
});
