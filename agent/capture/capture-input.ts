/**
 * Byte source for capture files: a path or stdin ('-'), gzip-compressed or not.
 *
 * Formats: pcap https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcap/ ,
 * pcapng https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcapng/ , gzip RFC 1952.
 *
 *   file / stdin --(1 MiB chunks)--> sniff 1f 8b? --yes--> gunzip --> chunks
 *                                              \---no-----------------> chunks
 *
 *   readCaptureFile:  chunks --> detectCaptureFormat(first 4 bytes) --> PcapParser | PcapngParser --> sink
 *
 * Compression is detected from the bytes, not the file name, because captures arrive through pipes
 * (`tcpdump -w - | gzip`, `kubectl cp`) whose names say nothing. A gzip stream cut short (a capture
 * killed mid-write) is decompressed as far as it goes, so the parser can report the truncation as a
 * warning instead of the whole file failing.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { Readable, pipeline } from 'node:stream';
import { constants as zlibConstants, createGunzip } from 'node:zlib';
import { createCaptureParser, detectCaptureFormat, type CaptureParser } from './capture-format.js';
import { CaptureFormatError, type CaptureSink } from './capture-record.js';

const READ_CHUNK = 1 << 20;

/** The input could not be opened or read (as opposed to being read and found not to be a capture). */
export class CaptureInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CaptureInputError';
    // Shown to users as one line; a stack trace would only point into this module.
    this.stack = `${this.name}: ${message}`;
  }
}

/**
 * Node's system-error text without the code and syscall, which the path already makes redundant:
 * "ENOENT: no such file or directory, open '/x'" and "EISDIR: illegal operation on a directory, read"
 * become "no such file or directory" and "illegal operation on a directory".
 */
function reasonOf(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const m = /^[A-Z0-9_]+: (.*?)(?:, \w+(?: '.*')?)?$/.exec(e.message);
  return m !== null && m[1] !== undefined ? m[1] : e.message;
}

function isZlibError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}

/**
 * Yields the (decompressed) bytes of the capture at path, or of stdin for '-'. Chunks are
 * Uint8Arrays the caller may parse in place; they are not reused by this generator.
 */
export async function* readCaptureChunks(path: string): AsyncGenerator<Uint8Array> {
  const label = path === '-' ? 'stdin' : path;
  let source: Readable;
  if (path === '-') {
    source = process.stdin;
  } else {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (e) {
      throw new CaptureInputError(`cannot open ${path}: ${reasonOf(e)}`);
    }
    source = handle.createReadStream({ highWaterMark: READ_CHUNK });
  }
  try {
    yield* decompressIfGzip(source);
  } catch (e) {
    if (e instanceof CaptureInputError || e instanceof CaptureFormatError) throw e;
    if (isZlibError(e)) throw new CaptureInputError(`cannot decompress ${label}: ${reasonOf(e)}`);
    throw new CaptureInputError(`cannot read ${label}: ${reasonOf(e)}`);
  } finally {
    // Early exit by the consumer (or an error) must not leave a file descriptor open; stdin is
    // not ours to close.
    if (source !== process.stdin) source.destroy();
  }
}

async function* decompressIfGzip(source: Readable): AsyncGenerator<Uint8Array> {
  const it = source[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  // A pipe may deliver a single byte first; the gzip magic needs two.
  let head: Uint8Array = new Uint8Array(0);
  let done = false;
  while (head.length < 2) {
    const r = await it.next();
    if (r.done === true) {
      done = true;
      break;
    }
    head = head.length === 0 ? r.value : concat(head, r.value);
  }
  const gzip = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  if (!gzip) {
    if (head.length > 0) yield head;
    if (done) return;
    for (let r = await it.next(); r.done !== true; r = await it.next()) yield r.value;
    return;
  }
  async function* compressed(): AsyncGenerator<Uint8Array> {
    yield head;
    if (done) return;
    for (let r = await it.next(); r.done !== true; r = await it.next()) yield r.value;
  }
  const gunzip = createGunzip({ finishFlush: zlibConstants.Z_SYNC_FLUSH });
  // Errors on either side destroy both streams and surface through the iteration below.
  const out = pipeline(Readable.from(compressed(), { objectMode: false }), gunzip, () => {});
  for await (const chunk of out) yield chunk as Uint8Array;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const r = new Uint8Array(a.length + b.length);
  r.set(a, 0);
  r.set(b, a.length);
  return r;
}

/**
 * Reads a whole capture into sink: detects gzip, then pcap or pcapng, and runs the parser.
 * Throws CaptureInputError for I/O problems and CaptureFormatError for content that is not a
 * readable capture.
 */
export async function readCaptureFile(path: string, sink: CaptureSink): Promise<{ packets: number }> {
  let parser: CaptureParser | undefined;
  // Detection needs 4 bytes and the first chunk from a pipe or gunzip can be shorter.
  let pending: Uint8Array = new Uint8Array(0);
  for await (const chunk of readCaptureChunks(path)) {
    if (parser !== undefined) {
      parser.push(chunk);
      continue;
    }
    pending = pending.length === 0 ? chunk : concat(pending, chunk);
    if (pending.length < 4) continue;
    parser = parserFor(pending, sink);
    parser.push(pending);
  }
  if (parser === undefined) parser = parserFor(pending, sink);
  parser.end();
  return { packets: parser.packets };
}

function parserFor(firstBytes: Uint8Array, sink: CaptureSink): CaptureParser {
  const format = detectCaptureFormat(firstBytes);
  if (format !== 'pcap' && format !== 'pcapng') {
    throw new CaptureFormatError('not a pcap or pcapng capture', 0);
  }
  return createCaptureParser(format, sink);
}
