/**
 * `npm run bench`: how fast is `pathwatch replay` next to tcpdump and tshark on the same capture, and
 * is its answer right?
 *
 *   node dist/bench/run-bench.js [--packets N] [--runs K] [--seed S] [--skip-tshark] [--tshark-full]
 *                                [--timeout SEC] [--truncate-rate R]
 *
 * 1. Capture: bench/out/capture-<N>-seed<S>[-trunc<R>].pcap (gitignored), a synthetic `tcpdump -i any` capture of
 *    one Calico node with a known answer (capture/generator.ts). Reused when present and its truth file
 *    says same packets, seed and generator version, and the file has the recorded size; else generated.
 * 2. Tools, timed on the same file (page cache warmed first, so no tool pays the disk):
 *    - `tcpdump -r F -w /dev/null`: libpcap reading and writing every record, no decoding: the floor
 *      of what reading a capture costs natively. K runs, median.
 *    - `tshark -r F -q -z conv,ip`: a full dissector building a per-conversation table, the closest
 *      common tool to what replay does. Run once. By default on a subset, the first N/10 packets (tshark
 *      runs ~35k packets/s and keeps per-packet state, 1.3 GB for 2M packets), with the time scaled by 10
 *      for the full file and said so in the output; --tshark-full runs it on the whole file.
 *    - `node bin/pathwatch.js replay --json --ifname ... F`: K runs, median. If it fails, its stderr is
 *      printed and it is marked failed; the others still run.
 *    Wall time, packets per second and peak RSS for each (measure.ts).
 * 3. Ratios: replay Mpps / tcpdump Mpps and replay / tshark.
 * 4. Correctness: the replay's drop groups against the truth file (replay-check.ts).
 * 5. bench/out/results.json: everything above, for trend tracking.
 *
 * Exit status: 0 when the replay ran and found exactly the expected drop groups; 1 when it failed or
 * disagreed (the numbers are still printed and written); 2 for bad arguments.
 */

import { measureFingerprintCollisions } from './fingerprint-collisions.js';
import { createReadStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_TRUNCATE_RATE, GENERATOR_VERSION, TRUTH_FORMAT, type CaptureTruth } from './capture/generator.js';
import { UsageError, parseCount, parseRate, writeCaptureFile } from './generate-capture.js';
import { hasGnuTime, measure, toolVersion, type RunResult } from './measure.js';
import { checkReplay, type ReplayCheck } from './replay-check.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUT_DIR = join(REPO_ROOT, 'bench', 'out');

const USAGE = `usage: node dist/bench/run-bench.js [options]   (npm run bench -- [options])

  --packets N     capture size, at least 2000000 recommended (default 2000000)
  --runs K        timed runs of tcpdump and replay, median reported (default 3)
  --seed S        generator seed (default 1)
  --skip-tshark   do not run tshark
  --tshark-full   run tshark on the whole capture instead of the first N/10 packets
  --timeout SEC   stop any one run after SEC seconds (default 900)
  --truncate-rate R
                  share of packets recorded cut at 96 bytes (default 0.05; 0 for whole packets)

Writes bench/out/capture-<N>-seed<S>.pcap (+ .truth.json, reused when valid) and bench/out/results.json.
Exit status 0 when replay ran and matched the truth's drop groups, 1 when it failed or disagreed.
`;

interface BenchOptions {
  readonly packets: number;
  readonly runs: number;
  readonly seed: number;
  readonly skipTshark: boolean;
  readonly tsharkFull: boolean;
  readonly timeoutSeconds: number;
  readonly truncateRate: number;
}

type ToolStatus = 'ok' | 'failed' | 'skipped' | 'unavailable';

interface ToolResult {
  readonly name: string;
  readonly command: string;
  status: ToolStatus;
  /** Packets in the file the tool read. */
  readonly packetsRead: number;
  readonly runs: { wallSeconds: number; peakRssKiB: number | null; exitCode: number | null }[];
  medianWallSeconds: number | null;
  /** The median wall time scaled to the full capture (equal to the median unless run on a subset). */
  fullCaptureWallSeconds: number | null;
  mpps: number | null;
  peakRssMiB: number | null;
  note: string;
  stderrTail: string | null;
}

function parseArgs(argv: readonly string[]): BenchOptions | null {
  let packets = 2_000_000;
  let runs = 3;
  let seed = 1;
  let skipTshark = false;
  let tsharkFull = false;
  let timeoutSeconds = 900;
  let truncateRate = DEFAULT_TRUNCATE_RATE;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    const positive = (v: string): number => {
      const n = parseCount(v);
      if (n === undefined) throw new UsageError(`${a}: not a positive integer: ${v}`);
      return n;
    };
    if (a === '--help' || a === '-h') return null;
    else if (a === '--packets') packets = positive(value());
    else if (a === '--runs') runs = positive(value());
    else if (a === '--timeout') timeoutSeconds = positive(value());
    else if (a === '--seed') {
      const v = value();
      seed = Number(v);
      if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) throw new UsageError(`--seed: not an integer in [0, 2^32): ${v}`);
    } else if (a === '--skip-tshark') skipTshark = true;
    else if (a === '--tshark-full') tsharkFull = true;
    else if (a === '--truncate-rate') truncateRate = parseRate(value());
    else throw new UsageError(`unknown argument: ${a}`);
  }
  return { packets, runs, seed, skipTshark, tsharkFull, timeoutSeconds, truncateRate };
}

// ----- capture ------------------------------------------------------------------------------------

function loadReusableTruth(path: string, o: BenchOptions): CaptureTruth | null {
  const truthPath = `${path}.truth.json`;
  if (!existsSync(path) || !existsSync(truthPath)) return null;
  try {
    const t = JSON.parse(readFileSync(truthPath, 'utf8')) as CaptureTruth;
    const fresh =
      t.format === TRUTH_FORMAT &&
      t.generator.version === GENERATOR_VERSION &&
      t.generator.packets === o.packets &&
      t.generator.seed === o.seed &&
      t.generator.truncateRate === o.truncateRate &&
      t.file.bytes === statSync(path).size;
    return fresh ? t : null;
  } catch {
    return null; // unreadable or older format: regenerate
  }
}

/** Read the file once so that every tool is timed on the page cache, not on the disk. */
async function warmPageCache(path: string): Promise<void> {
  const stream = createReadStream(path, { highWaterMark: 4 * 1024 * 1024 });
  for await (const chunk of stream) void chunk;
}

// ----- tools --------------------------------------------------------------------------------------

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function tail(text: string, lines: number): string {
  const all = text.trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}

function newTool(name: string, command: string, packetsRead: number): ToolResult {
  return {
    name,
    command,
    status: 'ok',
    packetsRead,
    runs: [],
    medianWallSeconds: null,
    fullCaptureWallSeconds: null,
    mpps: null,
    peakRssMiB: null,
    note: '',
    stderrTail: null,
  };
}

function finishTool(t: ToolResult, scale: number): void {
  if (t.status !== 'ok' || t.runs.length === 0) return;
  t.medianWallSeconds = median(t.runs.map((r) => r.wallSeconds));
  t.fullCaptureWallSeconds = t.medianWallSeconds * scale;
  t.mpps = t.packetsRead / t.medianWallSeconds / 1e6;
  const rss = t.runs.map((r) => r.peakRssKiB).filter((v): v is number => v !== null);
  t.peakRssMiB = rss.length > 0 ? Math.max(...rss) / 1024 : null;
}

/** Run `runs` times; stop at the first failure (repeating a failing command tells nothing new). */
async function runTool(
  t: ToolResult,
  command: string,
  args: readonly string[],
  runs: number,
  o: BenchOptions,
  onSuccess?: (r: RunResult) => void,
  onEachRun?: (r: RunResult) => void,
): Promise<void> {
  for (let i = 0; i < runs; i++) {
    process.stderr.write(`  ${t.name}: run ${i + 1}/${runs} ... `);
    let r: RunResult;
    try {
      r = await measure(command, args, { cwd: REPO_ROOT, keepStdout: onSuccess !== undefined, timeoutSeconds: o.timeoutSeconds });
    } catch (e) {
      process.stderr.write('could not start\n');
      t.status = 'unavailable';
      t.note = `could not start ${command}: ${e instanceof Error ? e.message : String(e)}`;
      return;
    }
    process.stderr.write(`${r.wallSeconds.toFixed(2)} s${r.ok ? '' : r.timedOut ? ' (timed out)' : ` (exit ${r.exitCode ?? r.signal})`}\n`);
    if (!r.ok) {
      t.status = 'failed';
      t.note = r.timedOut ? `timed out after ${o.timeoutSeconds} s` : `exit ${r.exitCode ?? r.signal}`;
      t.stderrTail = tail(r.stderr, 40);
      return;
    }
    t.runs.push({ wallSeconds: r.wallSeconds, peakRssKiB: r.peakRssKiB, exitCode: r.exitCode });
    if (i === 0 && onSuccess) onSuccess(r);
    onEachRun?.(r);
  }
}

/** The engine's own rate from a replay's stderr (PATHWATCH_ENGINE_RATE=1): sightings and seconds, or null. */
function engineRate(stderr: string): { sightings: number; seconds: number } | null {
  const m = /engine: (\d+) sightings in ([\d.]+) s/.exec(stderr);
  return m ? { sightings: Number(m[1]), seconds: Number(m[2]) } : null;
}

/** The first `count` packets of `full`, written by tcpdump with nanosecond timestamps kept. */
async function makeSubset(full: string, subset: string, count: number): Promise<boolean> {
  if (existsSync(subset) && statSync(subset).mtimeMs >= statSync(full).mtimeMs) return true;
  // Without --time-stamp-precision=nano, tcpdump would write a microsecond file.
  const r = await measure('tcpdump', ['--time-stamp-precision=nano', '-r', full, '-c', String(count), '-w', subset]);
  return r.ok;
}

// ----- report -------------------------------------------------------------------------------------

function fmt(v: number | null, digits: number, unit = ''): string {
  return v === null ? '-' : `${v.toFixed(digits)}${unit}`;
}

function printTable(tools: readonly ToolResult[]): void {
  const rows = [
    ['tool', 'status', 'runs', 'wall (median)', 'full-file wall', 'Mpps', 'peak RSS', 'note'],
    ...tools.map((t) => [
      t.name,
      t.status,
      String(t.runs.length),
      fmt(t.medianWallSeconds, 3, ' s'),
      fmt(t.fullCaptureWallSeconds, 2, ' s'),
      fmt(t.mpps, 3),
      fmt(t.peakRssMiB, 1, ' MiB'),
      t.note,
    ]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const [i, r] of rows.entries()) {
    process.stdout.write(`${r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()}\n`);
    if (i === 0) process.stdout.write(`${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  }
}

function ratio(a: ToolResult, b: ToolResult): number | null {
  return a.mpps !== null && b.mpps !== null ? a.mpps / b.mpps : null;
}

function printCheck(c: ReplayCheck): void {
  process.stdout.write('\nreplay vs truth\n');
  if (!c.parsed) {
    process.stdout.write(`  output not usable: ${c.error}\n`);
    return;
  }
  process.stdout.write(
    `  drop groups:   ${c.foundGroups} of ${c.expectedGroups} found, ${c.missingGroups} missed, ${c.unexpectedGroups} unexpected\n` +
      `  packets:       ${c.foundPackets} of ${c.expectedPackets} vanished packets in matched groups, ${c.unexpectedPackets} in unexpected groups\n` +
      `  iface tunl0:   ${c.ifaceCorrect} of ${c.foundGroups} matched groups\n` +
      `  verdict:       ${c.verdictCorrect} of ${c.foundGroups} matched groups as expected (reverse-path where the asymmetric return was captured, else vanished)\n`,
  );
  for (const m of c.examples.missing) process.stdout.write(`  missed:     ${m}\n`);
  for (const u of c.examples.unexpected) process.stdout.write(`  unexpected: ${u}\n`);
  for (const w of c.examples.wrongVerdict) process.stdout.write(`  verdict:    ${w}\n`);
  // Long arrays (the node's 200 interfaces) are summarized here; results.json keeps them whole.
  if (c.stats !== null) {
    const compact = JSON.stringify(c.stats, (_k, v: unknown) => (Array.isArray(v) && v.length > 8 ? `[${v.length} items]` : v));
    process.stdout.write(`  replay stats: ${compact}\n`);
  }
}

// ----- main ---------------------------------------------------------------------------------------

async function main(argv: readonly string[]): Promise<number> {
  let o: BenchOptions | null;
  try {
    o = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`run-bench: ${e.message}\n${USAGE}`);
    return 2;
  }
  if (o === null) {
    process.stdout.write(USAGE);
    return 0;
  }
  mkdirSync(OUT_DIR, { recursive: true });
  // The default truncation rate keeps the short name; another rate is another file, not an overwrite.
  const variant = o.truncateRate === DEFAULT_TRUNCATE_RATE ? '' : `-trunc${o.truncateRate}`;
  const stem = `capture-${o.packets}-seed${o.seed}${variant}`;
  const capture = join(OUT_DIR, `${stem}.pcap`);

  let truth = loadReusableTruth(capture, o);
  let generationSeconds: number | null = null;
  if (truth) {
    process.stderr.write(`reusing ${capture} (${o.packets} packets, seed ${o.seed})\n`);
  } else {
    process.stderr.write(`generating ${capture} (${o.packets} packets, seed ${o.seed}) ...\n`);
    const w = writeCaptureFile(capture, { packets: o.packets, seed: o.seed, truncateRate: o.truncateRate });
    truth = w.truth;
    generationSeconds = w.seconds;
    process.stderr.write(`  generated in ${w.seconds.toFixed(2)} s (${(o.packets / w.seconds / 1e6).toFixed(2)} Mpps)\n`);
  }
  const bytes = statSync(capture).size;
  await warmPageCache(capture);

  const tools: ToolResult[] = [];

  // tcpdump: the native floor.
  const tcpdumpVersion = toolVersion('tcpdump', ['--version']);
  const tcpdump = newTool('tcpdump -r F -w /dev/null', 'tcpdump -r F -w /dev/null', o.packets);
  tools.push(tcpdump);
  if (tcpdumpVersion === null) {
    tcpdump.status = 'unavailable';
    tcpdump.note = 'tcpdump not found';
  } else {
    await runTool(tcpdump, 'tcpdump', ['-r', capture, '-w', '/dev/null'], o.runs, o);
    finishTool(tcpdump, 1);
  }

  // tshark: a full dissector, once, usually on the first tenth.
  const tsharkVersion = toolVersion('tshark', ['--version']);
  const subsetCount = o.tsharkFull ? o.packets : Math.max(1, Math.ceil(o.packets / 10));
  const tshark = newTool('tshark -q -z conv,ip', 'tshark -r F -q -z conv,ip', subsetCount);
  tools.push(tshark);
  const conversations: { count: number | null } = { count: null };
  if (o.skipTshark) {
    tshark.status = 'skipped';
    tshark.note = '--skip-tshark';
  } else if (tsharkVersion === null) {
    tshark.status = 'unavailable';
    tshark.note = 'tshark not found';
  } else {
    let input = capture;
    if (!o.tsharkFull) {
      input = join(OUT_DIR, `${stem}.first${subsetCount}.pcap`);
      if (!(await makeSubset(capture, input, subsetCount))) {
        tshark.status = 'failed';
        tshark.note = 'could not cut the subset file with tcpdump';
      }
    }
    if (tshark.status === 'ok') {
      await runTool(tshark, 'tshark', ['-r', input, '-q', '-z', 'conv,ip'], 1, o, (r) => {
        conversations.count = r.stdout.split('\n').filter((l) => l.includes('<->')).length;
      });
      const scale = o.packets / subsetCount;
      finishTool(tshark, scale);
      tshark.note = o.tsharkFull
        ? `1 run, full file; ${conversations.count ?? '?'} IP conversations`
        : `1 run on the first ${subsetCount} packets (1/${scale.toFixed(0)}); full-file wall = measured x ${scale.toFixed(0)}; ${conversations.count ?? '?'} IP conversations in the subset`;
    }
  }

  // pathwatch replay.
  const replayArgs = ['bin/pathwatch.js', 'replay', '--json', ...truth.ifnameArgs.flatMap((a) => ['--ifname', a]), capture];
  const replay = newTool('pathwatch replay --json', `node bin/pathwatch.js replay --json --ifname IDX=NAME x${truth.ifnameArgs.length} F`, o.packets);
  tools.push(replay);
  // A holder, not a `let`: assignments inside the callback are invisible to TypeScript's narrowing.
  const outcome: { check: ReplayCheck | null } = { check: null };
  const engineRuns: { sightings: number; seconds: number }[] = [];
  // The replay says how long its engine took (one line on stderr), apart from reading, judging and writing.
  process.env.PATHWATCH_ENGINE_RATE = '1';
  await runTool(
    replay,
    process.execPath,
    replayArgs,
    o.runs,
    o,
    (r) => {
      outcome.check = checkReplay(r.stdout, truth);
    },
    (r) => {
      const e = engineRate(r.stderr);
      if (e) engineRuns.push(e);
    },
  );
  delete process.env.PATHWATCH_ENGINE_RATE;
  finishTool(replay, 1);
  const engineSeconds = engineRuns.length > 0 ? median(engineRuns.map((e) => e.seconds)) : null;
  const engineSightings = engineRuns[0]?.sightings ?? null;

  // ----- report -----
  const mib = bytes / (1 << 20);
  process.stdout.write(
    `\npathwatch bench: ${o.packets} packets, ${mib.toFixed(1)} MiB, seed ${o.seed}` +
      `${generationSeconds === null ? ' (reused capture)' : `, generated in ${generationSeconds.toFixed(2)} s`}\n` +
      `machine: ${cpus().length} x ${cpus()[0]?.model ?? 'unknown cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; node ${process.version}; ` +
      `peak RSS from ${hasGnuTime() ? 'GNU time (%M)' : '/proc VmHWM polled every 50 ms'}\n\n`,
  );
  printTable(tools);
  const vsTcpdump = ratio(replay, tcpdump);
  const vsTshark = ratio(replay, tshark);
  process.stdout.write(
    `\nreplay Mpps / tcpdump Mpps = ${fmt(vsTcpdump, 3)}` +
      `${vsTcpdump !== null ? ` (tcpdump is ${(1 / vsTcpdump).toFixed(1)}x faster)` : ''}\n` +
      `replay Mpps / tshark Mpps  = ${fmt(vsTshark, 3)}` +
      `${vsTshark !== null && !o.tsharkFull ? ' (tshark rate from the subset run)' : ''}\n`,
  );
  if (replay.status === 'failed' && replay.stderrTail !== null) {
    process.stdout.write(`\npathwatch replay failed (${replay.note}); its stderr:\n${replay.stderrTail.replace(/^/gm, '  | ')}\n`);
  }
  if (engineSeconds !== null && engineSightings !== null) {
    process.stdout.write(
      `engine (native/engine, inside replay): ${engineSightings} sightings correlated in ${engineSeconds.toFixed(3)} s (median of ${engineRuns.length}): ` +
        `${(engineSightings / engineSeconds / 1e6).toFixed(2)} M sightings/s on one core\n`,
    );
  }
  const c = outcome.check;
  if (c !== null) printCheck(c);
  const collisions = await measureFingerprintCollisions(capture, 250);
  process.stdout.write(
    `\nfingerprint collisions (different 5-tuples under one fingerprint within ${collisions.windowMs} ms): ` +
      `${collisions.collisions} in ${collisions.strongSightings} sightings (rate ${collisions.collisionRate.toExponential(2)}); ` +
      `${collisions.sightings - collisions.strongSightings} sightings cut by the snap length are not fingerprinted for matching\n`,
  );

  const results = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null, memGiB: totalmem() / 2 ** 30, node: process.version },
    versions: { tcpdump: tcpdumpVersion, tshark: tsharkVersion },
    capture: {
      path: capture,
      packets: o.packets,
      bytes,
      seed: o.seed,
      reused: generationSeconds === null,
      generationSeconds,
      truth: `${capture}.truth.json`,
      expectedDropGroups: truth.vanished.groups.length,
      vanishedPackets: truth.vanished.innerPackets,
    },
    options: o,
    rssSource: hasGnuTime() ? 'gnu-time' : 'proc-poll',
    tools,
    ratios: { replayOverTcpdump: vsTcpdump, replayOverTshark: vsTshark },
    engine: engineSeconds === null ? null : { sightings: engineSightings, seconds: engineSeconds, sightingsPerSecond: engineSightings === null ? null : engineSightings / engineSeconds },
    replayCheck: c,
    fingerprintCollisions: collisions,
  };
  const resultsPath = join(OUT_DIR, 'results.json');
  writeFileSync(resultsPath, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\nresults: ${resultsPath}\n`);

  const matched = c !== null && c.parsed && c.missingGroups === 0 && c.unexpectedGroups === 0;
  return replay.status === 'ok' && matched ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`run-bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
