/**
 * CLI: write the synthetic `tcpdump -i any` capture of a Calico node and its truth file.
 *
 *   node dist/bench/generate-capture.js --packets N --out FILE [--seed S] [--truncate-rate R]
 *
 * Writes FILE (classic pcap, nanosecond, LINKTYPE_LINUX_SLL2) and FILE.truth.json (what is in it and
 * which drop groups a correct `pathwatch replay` must find). The scenario and the byte layout are
 * described in capture/generator.ts; the node's interfaces and addresses in capture/node-model.ts.
 *
 * The file is written under a temporary name and renamed when complete, with its truth file written
 * first: a present FILE always has a matching truth file (run-bench relies on that to reuse captures).
 */

import { closeSync, openSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateCapture, type CaptureTruth, type GenerateOptions } from './capture/generator.js';

export { generateCapture };
export type { CaptureTruth, GenerateOptions };

const USAGE = `usage: node dist/bench/generate-capture.js --packets N --out FILE [--seed S] [--truncate-rate R]

Writes a deterministic pcap (nanosecond, LINKTYPE_LINUX_SLL2) of one Calico node's traffic as
\`tcpdump -i any\` records it, and FILE.truth.json with the packet counts and the expected drop groups.

  --packets N   number of packets (required; 1e6 and 2_000_000 forms accepted)
  --out FILE    output pcap path (required)
  --seed S      integer seed, default 1: same seed and N, same bytes
  --truncate-rate R
                share of packets recorded cut at 96 bytes, default 0.05 (0: none)
`;

export interface WrittenCapture {
  readonly truth: CaptureTruth;
  readonly seconds: number;
}

/** Generate options.packets packets into path (and path.truth.json) with 4 MiB synchronous writes. */
export function writeCaptureFile(path: string, options: GenerateOptions): WrittenCapture {
  const tmp = `${path}.partial`;
  const fd = openSync(tmp, 'w');
  const started = process.hrtime.bigint();
  let truth: CaptureTruth;
  try {
    truth = generateCapture(options, (chunk) => {
      // writeSync may write less than asked (rare for files, but allowed): loop until all is out.
      let done = 0;
      while (done < chunk.length) done += writeSync(fd, chunk, done, chunk.length - done);
    });
  } finally {
    closeSync(fd);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  writeFileSync(`${path}.truth.json`, `${JSON.stringify(truth, null, 2)}\n`);
  renameSync(tmp, path);
  return { truth, seconds };
}

/** Parse "2000000", "2_000_000", "2e6" or "2M" into a safe positive integer, else undefined. */
export function parseCount(text: string): number | undefined {
  const t = text.replace(/_/g, '').trim();
  const m = /^(\d+(?:\.\d+)?(?:e\d+)?)([kKmM]?)$/.exec(t);
  if (!m) return undefined;
  const scale = m[2] === '' ? 1 : m[2]!.toLowerCase() === 'k' ? 1e3 : 1e6;
  const n = Number(m[1]) * scale;
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

function main(argv: readonly string[]): number {
  let packets: number | undefined;
  let out: string | undefined;
  let seed = 1;
  let truncateRate: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE);
      return 0;
    } else if (a === '--packets') {
      const v = value();
      packets = parseCount(v);
      if (packets === undefined) throw new UsageError(`--packets: not a positive integer: ${v}`);
    } else if (a === '--out') out = value();
    else if (a === '--seed') {
      const v = value();
      seed = Number(v);
      if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) throw new UsageError(`--seed: not an integer in [0, 2^32): ${v}`);
    } else if (a === '--truncate-rate') truncateRate = parseRate(value());
    else throw new UsageError(`unknown argument: ${a}`);
  }
  if (packets === undefined || out === undefined) throw new UsageError('--packets and --out are required');
  const { truth, seconds } = writeCaptureFile(out, { packets, seed, truncateRate });
  const mib = truth.file.bytes / (1 << 20);
  process.stderr.write(
    `wrote ${out}: ${truth.packets.total} packets, ${mib.toFixed(1)} MiB, ${truth.file.captureSeconds.toFixed(3)} s of capture ` +
      `in ${seconds.toFixed(2)} s (${(truth.packets.total / seconds / 1e6).toFixed(2)} Mpps); ` +
      `${truth.vanished.innerPackets} vanished packets in ${truth.vanished.groups.length} drop groups; truth: ${out}.truth.json\n`,
  );
  return 0;
}

/** A share in [0, 1], for --truncate-rate. */
export function parseRate(text: string): number {
  const r = Number(text);
  if (text.trim() === '' || !(r >= 0 && r <= 1)) throw new UsageError(`--truncate-rate: not a number in [0, 1]: ${text}`);
  return r;
}

export class UsageError extends Error {}

// Run only as a program, not when run-bench imports writeCaptureFile.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`generate-capture: ${err.message}\n${USAGE}`);
    process.exitCode = 2;
  }
}
