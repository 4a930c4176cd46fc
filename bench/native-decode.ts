/**
 * Decode + fingerprint per packet in the native engine (native/engine), called three ways on the
 * records of the benchmark capture, in the same process on the same bytes: what crossing Node-API
 * per packet would cost against the block loop the engine runs. A micro-benchmark, not a test:
 *
 *   node dist/bench/native-decode.js [--packets N] [--rounds K] [--file F]
 *
 * defaults: the first 1,000,000 records of bench/out/capture-2000000-seed1.pcap (`npm run bench`
 * writes it), 5 rounds, the median. The file's first bytes are read into one buffer and parsed once;
 * every variant then walks the same records in that buffer:
 *   - native, one Node-API call per record (decodeInto): what a per-packet seam would cost;
 *   - native, one call per block of 4096 records (decodeBatch): the shape the engine is called in;
 *   - native, one call for all records: the engine's own loop, Node-API's cost spread to nothing.
 * It also checks that all of them agree on every record's status, fingerprint and weak flag. (The
 * TypeScript decoder it was first measured against, 477 ns of CPU per packet, is gone: issue 14.)
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCaptureParser } from '../agent/capture/capture-format.js';
import type { CaptureRecord } from '../agent/capture/capture-record.js';
import type { NativeDecodeBlock } from '../agent/native/engine-native.js';
import { nativeAddon } from '../agent/native/native-addon.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEFAULT_FILE = join(REPO_ROOT, 'bench', 'out', 'capture-2000000-seed1.pcap');
const BLOCK = 4096;
/** Bytes read per wanted record: the benchmark capture averages 363 bytes a record. */
const BYTES_PER_RECORD = 512;

interface Options {
  packets: number;
  rounds: number;
  file: string;
}

function usage(msg: string): never {
  process.stderr.write(`native-decode: ${msg}\nusage: node dist/bench/native-decode.js [--packets N] [--rounds K] [--file F]\n`);
  process.exit(2);
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { packets: 1_000_000, rounds: 5, file: DEFAULT_FILE };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => argv[++i] ?? usage(`${a} needs a value`);
    if (a === '--packets' || a === '--rounds') {
      const n = Number(value().replace(/_/g, ''));
      if (!Number.isSafeInteger(n) || n <= 0) usage(`${a}: not a positive integer`);
      if (a === '--packets') o.packets = n;
      else o.rounds = n;
    } else if (a === '--file') o.file = value();
    else usage(`unknown argument ${a}`);
  }
  return o;
}

/** The records of the first bytes of the file, in place in one buffer. */
interface Records {
  data: Uint8Array;
  count: number;
  offsets: Uint32Array;
  lengths: Uint32Array;
  linkTypes: Uint32Array;
}

function readRecords(file: string, wanted: number): Records {
  const size = Math.min(statSync(file).size, wanted * BYTES_PER_RECORD, 0xffffffff);
  const data = Buffer.allocUnsafe(size);
  const fd = openSync(file, 'r');
  let got = 0;
  while (got < size) {
    const n = readSync(fd, data, got, size - got, got);
    if (n === 0) break;
    got += n;
  }
  closeSync(fd);
  const r: Records = { data: data.subarray(0, got), count: 0, offsets: new Uint32Array(wanted), lengths: new Uint32Array(wanted), linkTypes: new Uint32Array(wanted) };
  const parser = createCaptureParser('pcap', {
    onInterface() {},
    onWarning() {},
    onPacket(rec: CaptureRecord) {
      // One chunk holding the whole read: records are in it (not in a carry), so offsets are its own.
      if (r.count >= wanted || rec.transient) return;
      r.offsets[r.count] = rec.offset;
      r.lengths[r.count] = rec.caplen;
      r.linkTypes[r.count] = rec.linkType;
      r.count++;
    },
  });
  parser.push(r.data);
  return r;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/**
 * Wall and CPU ns per record of one run of f over all records. CPU time (user + system) leaves out
 * the time spent waiting for a core, which wall time includes when the machine is busy.
 */
function time(count: number, f: () => void): [number, number] {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  f();
  const wall = Number(process.hrtime.bigint() - start);
  const used = process.cpuUsage(cpu);
  return [wall / count, ((used.user + used.system) * 1000) / count];
}

interface Outputs {
  status: Uint8Array;
  fingerprints: Float64Array;
  weak: Uint8Array;
}

function outputs(count: number): Outputs {
  return { status: new Uint8Array(count), fingerprints: new Float64Array(count), weak: new Uint8Array(count) };
}

function differences(a: Outputs, b: Outputs, count: number): number {
  let n = 0;
  for (let i = 0; i < count; i++) if (a.status[i] !== b.status[i] || a.fingerprints[i] !== b.fingerprints[i] || a.weak[i] !== b.weak[i]) n++;
  return n;
}

function main(): void {
  const o = parseArgs(process.argv.slice(2));
  if (!existsSync(o.file)) usage(`${o.file} does not exist (npm run bench writes it, or node dist/bench/generate-capture.js --packets 2e6 --out ${o.file})`);
  const engine = nativeAddon();
  const r = readRecords(o.file, o.packets);
  const { data, count, offsets, lengths, linkTypes } = r;
  const bytes = lengths.subarray(0, count).reduce((s, l) => s + l, 0);
  console.log(`native-decode: ${count.toLocaleString('en')} records (${(bytes / 1e6).toFixed(0)} MB) of ${o.file}, median of ${o.rounds} rounds, node ${process.version}`);

  const perCallOut = outputs(count);
  const blockOut = outputs(count);
  const allOut = outputs(count);
  const fp = new Float64Array(2);

  const perCall = (): void => {
    const dec = engine.createDecoder();
    for (let i = 0; i < count; i++) {
      perCallOut.status[i] = engine.decodeInto(dec, data, offsets[i] as number, lengths[i] as number, linkTypes[i] as number, fp);
      perCallOut.fingerprints[i] = fp[0] as number;
      perCallOut.weak[i] = fp[1] as number;
    }
  };
  const blocks = (): void => {
    const dec = engine.createDecoder();
    for (let at = 0; at < count; at += BLOCK) {
      const end = Math.min(count, at + BLOCK);
      const block: NativeDecodeBlock = {
        data,
        count: end - at,
        offsets: offsets.subarray(at, end),
        lengths: lengths.subarray(at, end),
        linkTypes: linkTypes.subarray(at, end),
        status: blockOut.status.subarray(at, end),
        fingerprints: blockOut.fingerprints.subarray(at, end),
        weak: blockOut.weak.subarray(at, end),
      };
      engine.decodeBatch(dec, block);
    }
  };
  const all = (): void => {
    engine.decodeBatch(engine.createDecoder(), { data, count, offsets, lengths, linkTypes, ...allOut });
  };

  const variants: { name: string; run: () => void; wall: number[]; cpu: number[] }[] = [
    { name: 'native, one Node-API call per packet', run: perCall, wall: [], cpu: [] },
    { name: `native, one call per block of ${BLOCK}`, run: blocks, wall: [], cpu: [] },
    { name: 'native, one call for all records', run: all, wall: [], cpu: [] },
  ];
  // Rounds interleave the variants, so a slower stretch of the machine hits them alike.
  for (let round = 0; round < o.rounds; round++) {
    for (const v of variants) {
      const [wall, cpu] = time(count, v.run);
      v.wall.push(wall);
      v.cpu.push(cpu);
    }
  }

  const perCallWall = median(variants[0]!.wall);
  const perCallCpu = median(variants[0]!.cpu);
  console.log(`  ${''.padEnd(40)} ${'wall ns/packet'.padStart(14)} ${'Mpps'.padStart(6)} ${'vs 1/call'.padStart(9)} ${'CPU ns/packet'.padStart(14)} ${'vs 1/call'.padStart(9)}`);
  for (const v of variants) {
    const wall = median(v.wall);
    const cpu = median(v.cpu);
    console.log(
      `  ${v.name.padEnd(40)} ${wall.toFixed(1).padStart(14)} ${(1e3 / wall).toFixed(2).padStart(6)} ${`${(perCallWall / wall).toFixed(2)}x`.padStart(9)} ${cpu.toFixed(1).padStart(14)} ${`${(perCallCpu / cpu).toFixed(2)}x`.padStart(9)}`,
    );
  }
  const diff = [blockOut, allOut].map((out) => differences(perCallOut, out, count));
  console.log(`  status, fingerprint and weak flag the same in every variant: ${diff.every((d) => d === 0) ? `all ${count.toLocaleString('en')} records` : `NO: ${diff.join(', ')} records differ`}`);
  if (diff.some((d) => d !== 0)) process.exitCode = 1;
}

main();
