/**
 * The native engine under AddressSanitizer and UndefinedBehaviorSanitizer (LeakSanitizer on), built
 * with clang straight from native/engine (no Node, no addon):
 *
 * 1. native/fuzz/corpus_driver.c: every fixture record (read with the TypeScript readers and written
 *    to a corpus file in a temporary folder) on every link type and both tunnel port sets, the block
 *    loop against per-packet decoding, then random mutations; packets sit between poisoned guard
 *    bytes, so a read one byte outside the record is a report.
 * 2. native/fuzz/fuzz_decode.c under libFuzzer, seeded with every fixture record, for a bounded time.
 * 3. native/fuzz/pipeline_driver.c: the whole pipeline (sighting_pipeline.c: decode, fingerprint,
 *    flow table, hop matcher, expiry, takes, flushes, destroy) over the same corpus, as captured and
 *    then mutated, in blocks, with bounds of 3 to 16 entries, several nodes and interfaces, unknown
 *    interfaces and ifindexes; every allocation must be freed at the end.
 * 4. native/fuzz/fuzz_pipeline.c under libFuzzer: a tiny configuration and a few records per input,
 *    seeded with runs of 4 consecutive fixture records, for a bounded time.
 * 5. native/fuzz/fuzz_pcap_walk.c under libFuzzer: the walk over hostile pcap records (pcap_walk.c)
 *    in JavaScript's loop (ifindex, interval and undecoded-list stops), in one chunk or in pieces
 *    with a cut record carried over, every stop checked against the bytes; seeded with runs of 8
 *    fixture records of one link type written as pcap streams (both byte orders, micro- and
 *    nanoseconds, all three length orders), for a bounded time.
 *
 * Any sanitizer report, broken invariant (native/fuzz/guarded_decode.c) or crash fails the test.
 * Without clang (or its sanitizer runtimes, Debian's libclang-rt-dev) the tests are skipped with the
 * reason, except under CI=true, where they fail: CI must run them (scripts/ensure-ready.mjs
 * installs both).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allFixtureRecords } from './engine-test-support.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLANG = process.env.CLANG ?? 'clang';
const CI = process.env.CI === 'true';
const DRIVER_MUTATIONS = 2_000_000;
const FUZZ_SECONDS = 25;
/** Pipeline driver rounds: round 0 as captured, then one mutated pass over every record per round. */
const PIPELINE_ROUNDS = 200;
const FUZZ_PIPELINE_SECONDS = 6;
/** Records per seed of the pipeline fuzz target. */
const PIPELINE_SEED_RECORDS = 4;
const FUZZ_WALK_SECONDS = 6;
/** Records per seed of the pcap walk fuzz target, all of one link type (a pcap stream has one). */
const WALK_SEED_RECORDS = 8;
const LINKTYPE_LINUX_SLL2 = 276;
const SANITIZE = ['-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-fno-omit-frame-pointer', '-g', '-O1'];
const WARNINGS = ['-std=c11', '-Wall', '-Wextra', '-Wshadow', '-Werror'];
/** What any sanitizer or our invariant checks print when they find something. */
const REPORT = /ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|invariant broken|SUMMARY: /;
/** native/fuzz/guarded_decode.c's pw_fuzz_link_types: a seed's first byte is its link type's index there. */
const FUZZ_LINK_TYPES = [0, 1, 101, 108, 113, 228, 229, 276];
const SANITIZER_ENV = {
  ...process.env,
  ASAN_OPTIONS: 'abort_on_error=1:detect_leaks=1:strict_string_checks=1:check_initialization_order=1',
  UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
};

function engineSources(): string[] {
  const dir = join(ROOT, 'native', 'engine');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.c'))
    .sort()
    .map((f) => join(dir, f));
}

let work = '';
let clangProblem: string | undefined;
let driver = '';
let fuzzer = '';
let pipelineDriver = '';
let pipelineFuzzer = '';
let pipelineSeedDir = '';
let walkFuzzer = '';
let walkSeedDir = '';
let corpusFile = '';
let seedDir = '';
let records = 0;

function compile(out: string, sanitize: string[], sources: string[]): void {
  const r = spawnSync(CLANG, [...WARNINGS, ...sanitize, `-I${join(ROOT, 'native')}`, ...engineSources(), ...sources, '-o', out], { encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${CLANG} failed to build ${out}:\n${r.stderr}`);
}

/** Why clang cannot build the sanitizer targets here, or undefined when it can. */
function probeClang(): string | undefined {
  const version = spawnSync(CLANG, ['--version'], { encoding: 'utf8' });
  if (version.error || version.status !== 0) return `${CLANG} is not installed (Debian: clang)`;
  const probe = join(work, 'probe.c');
  writeFileSync(probe, 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n');
  const r = spawnSync(CLANG, ['-fsanitize=fuzzer,address,undefined', probe, '-o', join(work, 'probe')], { encoding: 'utf8' });
  if (r.status !== 0) return `${CLANG} cannot link -fsanitize=fuzzer,address,undefined (Debian: libclang-rt-dev): ${r.stderr.trim().split('\n')[0] ?? ''}`;
  return undefined;
}

/** Skips with the reason when clang is unusable, except under CI=true, where that fails. */
function requireClang(skip: (note: string) => never): void {
  if (clangProblem === undefined) return;
  if (CI) throw new Error(`the sanitizer tests must run in CI (CI=true): ${clangProblem}`);
  skip(`${clangProblem}: sanitizer and fuzzing tests skipped`);
}

function le32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'pathwatch-sanitizers-'));
  clangProblem = probeClang();
  if (clangProblem !== undefined) return;
  // Corpus and seeds from every fixture record, as the TypeScript readers deliver them.
  const all = await allFixtureRecords();
  records = all.length;
  const parts: Uint8Array[] = [];
  seedDir = join(work, 'seeds');
  mkdirSync(seedDir);
  all.forEach((r, i) => {
    parts.push(le32(r.linkType), le32(r.bytes.length), r.bytes);
    // The fuzz target's selector: the link type's index in its table (0xff: one it does not read).
    const index = FUZZ_LINK_TYPES.indexOf(r.linkType);
    const selector = index < 0 ? 0xff : index;
    writeFileSync(join(seedDir, `record-${i}`), Buffer.concat([Buffer.from([selector]), r.bytes]));
  });
  corpusFile = join(work, 'fixtures.corpus');
  writeFileSync(corpusFile, Buffer.concat(parts));
  driver = join(work, 'pw_fuzz_driver');
  fuzzer = join(work, 'pw_fuzz_decode');
  compile(driver, SANITIZE, [join(ROOT, 'native/fuzz/guarded_decode.c'), join(ROOT, 'native/fuzz/corpus.c'), join(ROOT, 'native/fuzz/corpus_driver.c')]);
  compile(fuzzer, [...SANITIZE, '-fsanitize=fuzzer'], [join(ROOT, 'native/fuzz/guarded_decode.c'), join(ROOT, 'native/fuzz/fuzz_decode.c')]);
  pipelineDriver = join(work, 'pw_fuzz_pipeline');
  compile(pipelineDriver, SANITIZE, [join(ROOT, 'native/fuzz/corpus.c'), join(ROOT, 'native/fuzz/pipeline_driver.c')]);
  // Pipeline seeds (fuzz_pipeline.c's format): a configuration, then runs of consecutive records.
  pipelineSeedDir = join(work, 'pipeline-seeds');
  mkdirSync(pipelineSeedDir);
  for (let i = 0; i < all.length; i += PIPELINE_SEED_RECORDS) {
    const parts: Buffer[] = [Buffer.from([i & 0xff, 7, 7, 0x2c | (i & 3)])];
    all.slice(i, i + PIPELINE_SEED_RECORDS).forEach((r, k, run) => {
      const index = FUZZ_LINK_TYPES.indexOf(r.linkType);
      if (index < 0 || r.bytes.length > 0xffff) return;
      const iface = r.linkType === 276 ? 15 : (i + k) % 6;
      const last = k === run.length - 1 ? 0x80 : 0;
      parts.push(Buffer.from([index | (iface << 3) | last, 4 * k + 1, r.bytes.length & 0xff, r.bytes.length >> 8]), Buffer.from(r.bytes));
    });
    writeFileSync(join(pipelineSeedDir, `run-${i}`), Buffer.concat(parts));
  }
  pipelineFuzzer = join(work, 'pw_fuzz_pipeline_libfuzzer');
  compile(pipelineFuzzer, [...SANITIZE, '-fsanitize=fuzzer'], [join(ROOT, 'native/fuzz/fuzz_pipeline.c')]);
  walkSeedDir = join(work, 'walk-seeds');
  mkdirSync(walkSeedDir);
  writeWalkSeeds(all, walkSeedDir);
  walkFuzzer = join(work, 'pw_fuzz_pcap_walk');
  compile(walkFuzzer, [...SANITIZE, '-fsanitize=fuzzer'], [join(ROOT, 'native/fuzz/fuzz_pcap_walk.c')]);
}, 240_000);

/**
 * Seeds of fuzz_pcap_walk.c (8 configuration bytes, then pcap records): runs of consecutive fixture
 * records of one link type, 1.5 ms apart, as a pcap writer lays them out, in both byte orders, in
 * micro- or nanoseconds, in all three length orders; SLL2 runs mostly with the interface per packet;
 * some with a sub-second field left past one second, some ending in a record cut short or one with
 * an absurd length, some laid out hundreds of times over by the target, most read in pieces.
 */
function writeWalkSeeds(all: readonly { linkType: number; bytes: Uint8Array }[], dir: string): void {
  let seed = 0;
  for (let i = 0; i < all.length; ) {
    const linkType = all[i]?.linkType ?? 0;
    const index = FUZZ_LINK_TYPES.indexOf(linkType);
    let end = i + 1;
    while (end < all.length && end - i < WALK_SEED_RECORDS && all[end]?.linkType === linkType) end++;
    const run = all.slice(i, end);
    i = end;
    if (index < 0) continue;
    const s = seed++;
    const littleEndian = s % 3 !== 1;
    const nano = s % 4 === 2;
    const lengthOrder = s % 5 === 3 ? 1 : s % 5 === 4 ? 2 : 0;
    const perPacket = linkType === LINKTYPE_LINUX_SLL2 && s % 5 !== 0;
    const unfolded = s % 7 === 5;
    const config = [
      s & 0xff, 7, 7, 0x2c | (s & 3),
      (littleEndian ? 1 : 0) | (nano ? 2 : 0) | (lengthOrder << 2) | (index << 4) | (perPacket ? 0x80 : 0),
      1 | ((s % 4) << 1) | 8 | (s & 0x10) | ((s % 7) << 5),
      // Interval 2-10 ms; one run in four laid out up to 512 times over (past the walk's batches of 256 records, filling its undecoded list).
      (s % 9) | (s % 4 === 3 ? 0xc0 : 0),
      // Two runs in three read in pieces (37 to 9435 bytes), carrying a cut record over.
      s % 3 === 0 ? 0 : ((s * 13) % 255) + 1,
    ];
    const parts: Buffer[] = [Buffer.from(config)];
    const header = (k: number, caplen: number, origlen: number): Buffer => {
      const h = Buffer.alloc(16);
      const u32 = (at: number, v: number): number => (littleEndian ? h.writeUInt32LE(v >>> 0, at) : h.writeUInt32BE(v >>> 0, at));
      const us = 995_000 + 1500 * k; // crosses a second within the run
      const sec = 1_700_000_000 + s + (unfolded ? 0 : Math.floor(us / 1e6));
      const frac = unfolded ? us : us % 1e6;
      u32(0, sec);
      u32(4, nano ? frac * 1000 : frac);
      // Swapped, and maybe-swapped with the larger first (the reader swaps them back).
      const swapped = lengthOrder === 1 || (lengthOrder === 2 && origlen > caplen);
      u32(8, swapped ? origlen : caplen);
      u32(12, swapped ? caplen : origlen);
      return h;
    };
    run.forEach((r, k) => parts.push(header(k, r.bytes.length, r.bytes.length + (k % 2) * 4), Buffer.from(r.bytes)));
    const last = run[run.length - 1]?.bytes ?? new Uint8Array(0);
    if (s % 6 === 4) parts.push(header(run.length, 0x7fff_ffff, 0x7fff_ffff));
    if (s % 6 === 5) parts.push(header(run.length, last.length, last.length), Buffer.from(last.subarray(0, last.length >> 1)));
    writeFileSync(join(dir, `walk-${s}`), Buffer.concat(parts));
  }
}

afterAll(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

describe('the native decoder and fingerprint under ASan and UBSan', () => {
  it(`the standalone driver: every fixture record on every link type, the block loop, ${DRIVER_MUTATIONS} mutations`, (ctx) => {
    requireClang(ctx.skip);
    const r = spawnSync(driver, [corpusFile, String(DRIVER_MUTATIONS), '20260107'], { encoding: 'utf8', env: SANITIZER_ENV, timeout: 120_000 });
    const output = `${r.stdout}\n${r.stderr}`;
    expect(r.error, output).toBeUndefined();
    expect(output, output).not.toMatch(REPORT);
    expect(r.status, output).toBe(0);
    const summary = /pw_fuzz_driver: (\d+) records, (\d+) mutations, (\d+) decodes/.exec(r.stdout);
    expect(summary, r.stdout).not.toBeNull();
    expect(Number(summary?.[1])).toBe(records);
    console.log(r.stdout.trim());
  }, 150_000);

  it(`libFuzzer, seeded with every fixture record, for ${FUZZ_SECONDS} s`, (ctx) => {
    requireClang(ctx.skip);
    const corpus = join(work, 'corpus');
    mkdirSync(corpus);
    const r = spawnSync(
      fuzzer,
      [`-max_total_time=${FUZZ_SECONDS}`, '-max_len=4096', '-timeout=10', '-rss_limit_mb=2048', '-print_final_stats=1', `-artifact_prefix=${work}/`, corpus, seedDir],
      { encoding: 'utf8', env: SANITIZER_ENV, timeout: (FUZZ_SECONDS + 60) * 1000 },
    );
    const output = `${r.stdout}\n${r.stderr}`;
    const tail = output.split('\n').slice(-60).join('\n');
    expect(r.error, tail).toBeUndefined();
    expect(output, tail).not.toMatch(REPORT);
    expect(r.status, tail).toBe(0);
    expect(readdirSync(work).filter((f) => /^(crash|leak|timeout|oom|slow-unit)-/.test(f)), tail).toEqual([]);
    const runs = Number(/stat::number_of_executed_units:\s*(\d+)/.exec(output)?.[1] ?? 0);
    const coverage = /#\d+\s+DONE\s+cov: (\d+) ft: (\d+) corp: (\d+)/.exec(output);
    console.log(`libFuzzer: ${runs} inputs in ${FUZZ_SECONDS} s from ${records} seeds, no report (${coverage ? `cov ${coverage[1]}, ft ${coverage[2]}, corpus ${coverage[3]}` : 'no coverage line'})`);
    expect(runs).toBeGreaterThan(10_000);
  }, (FUZZ_SECONDS + 90) * 1000);

  it(`the whole pipeline: every fixture record in blocks, as captured and ${PIPELINE_ROUNDS - 1} mutated passes, tiny bounds, then destroy with no leak`, (ctx) => {
    requireClang(ctx.skip);
    const started = Date.now();
    const r = spawnSync(pipelineDriver, [corpusFile, String(PIPELINE_ROUNDS), '20260107'], { encoding: 'utf8', env: SANITIZER_ENV, timeout: 120_000 });
    const output = `${r.stdout}\n${r.stderr}`;
    expect(r.error, output).toBeUndefined();
    expect(output, output).not.toMatch(REPORT);
    expect(r.status, output).toBe(0);
    const summary = /pw_fuzz_pipeline: (\d+) records, (\d+) rounds, (\d+) fed, (\d+) mutations, (\d+) counted, (\d+) blocks, (\d+) ifindex stops, (\d+) matchers, (\d+) takes, (\d+) flow records flushed, (\d+) overflowed/.exec(r.stdout);
    expect(summary, r.stdout).not.toBeNull();
    expect(Number(summary?.[1])).toBe(records);
    expect(Number(summary?.[3])).toBe(records * PIPELINE_ROUNDS);
    // The bounds were reached and the tables recycled, or the run proves little.
    expect(Number(summary?.[4])).toBeGreaterThan(0);
    expect(Number(summary?.[11])).toBeGreaterThan(0);
    console.log(`${r.stdout.trim()} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }, 150_000);

  it(`libFuzzer on the whole pipeline, seeded with runs of fixture records, for ${FUZZ_PIPELINE_SECONDS} s`, (ctx) => {
    requireClang(ctx.skip);
    const corpus = join(work, 'pipeline-corpus');
    mkdirSync(corpus);
    const r = spawnSync(
      pipelineFuzzer,
      [`-max_total_time=${FUZZ_PIPELINE_SECONDS}`, '-max_len=8192', '-timeout=10', '-rss_limit_mb=2048', '-print_final_stats=1', `-artifact_prefix=${work}/pipeline-`, corpus, pipelineSeedDir],
      { encoding: 'utf8', env: SANITIZER_ENV, timeout: (FUZZ_PIPELINE_SECONDS + 60) * 1000 },
    );
    const output = `${r.stdout}\n${r.stderr}`;
    const tail = output.split('\n').slice(-60).join('\n');
    expect(r.error, tail).toBeUndefined();
    expect(output, tail).not.toMatch(REPORT);
    expect(r.status, tail).toBe(0);
    expect(readdirSync(work).filter((f) => /^pipeline-(crash|leak|timeout|oom|slow-unit)-/.test(f)), tail).toEqual([]);
    const runs = Number(/stat::number_of_executed_units:\s*(\d+)/.exec(output)?.[1] ?? 0);
    const coverage = /#\d+\s+DONE\s+cov: (\d+) ft: (\d+) corp: (\d+)/.exec(output);
    console.log(`libFuzzer (pipeline): ${runs} inputs in ${FUZZ_PIPELINE_SECONDS} s, no report (${coverage ? `cov ${coverage[1]}, ft ${coverage[2]}, corpus ${coverage[3]}` : 'no coverage line'})`);
    expect(runs).toBeGreaterThan(300);
  }, (FUZZ_PIPELINE_SECONDS + 90) * 1000);

  it(`libFuzzer on the pcap walk (hostile record headers into the pipeline), seeded with pcap runs of fixture records, for ${FUZZ_WALK_SECONDS} s`, (ctx) => {
    requireClang(ctx.skip);
    const corpus = join(work, 'walk-corpus');
    mkdirSync(corpus);
    const r = spawnSync(
      walkFuzzer,
      [`-max_total_time=${FUZZ_WALK_SECONDS}`, '-max_len=16384', '-timeout=10', '-rss_limit_mb=2048', '-print_final_stats=1', `-artifact_prefix=${work}/walk-`, corpus, walkSeedDir],
      {
        encoding: 'utf8',
        env: SANITIZER_ENV,
        timeout: (FUZZ_WALK_SECONDS + 60) * 1000,
      },
    );
    const output = `${r.stdout}\n${r.stderr}`;
    const tail = output.split('\n').slice(-60).join('\n');
    expect(r.error, tail).toBeUndefined();
    expect(output, tail).not.toMatch(REPORT);
    expect(r.status, tail).toBe(0);
    expect(readdirSync(work).filter((f) => /^walk-(crash|leak|timeout|oom|slow-unit)-/.test(f)), tail).toEqual([]);
    const runs = Number(/stat::number_of_executed_units:\s*(\d+)/.exec(output)?.[1] ?? 0);
    const coverage = /#\d+\s+DONE\s+cov: (\d+) ft: (\d+) corp: (\d+)/.exec(output);
    console.log(`libFuzzer (pcap walk): ${runs} inputs in ${FUZZ_WALK_SECONDS} s from ${readdirSync(walkSeedDir).length} seeds, no report (${coverage ? `cov ${coverage[1]}, ft ${coverage[2]}, corpus ${coverage[3]}` : 'no coverage line'})`);
    expect(runs).toBeGreaterThan(300);
  }, (FUZZ_WALK_SECONDS + 90) * 1000);
});
