/**
 * Batch <-> protobuf bytes, from the wire contract itself: schemas/pathwatch.proto is read and
 * parsed at run time (protocol-buffers-schema) and compiled by pbf into reader/writer functions, so
 * there is no generated code to drift from the .proto. Compiled once, on first use.
 *
 * Decoding faces whatever arrives at POST /api/v1/ingest, so it is strict where pbf is lenient:
 * pbf clamps a length that runs past its message or the input, or stops a message at a field
 * number 0, and carries on; here those are errors. Everything wrong with the input surfaces as a
 * WireDecodeError with a one-line message (the collector answers 400 with it). A missing or broken
 * schema file is a deployment fault and throws a plain Error.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PbfReader, PbfWriter } from 'pbf';
import { countMessages, nestedMessageFields, type NestedMessageFields } from './wire-message-count.js';
import { WireDirection, type WireBatch } from './wire-types.js';

/** Larger inputs are refused before decoding. */
export const MAX_BATCH_BYTES = 64 * 1024 * 1024;

export class WireDecodeError extends Error {
  override readonly name = 'WireDecodeError';
}

export interface WireCodec {
  /** The .proto file it was compiled from. */
  readonly schemaPath: string;
  encodeBatch(batch: WireBatch): Uint8Array;
  /** Throws WireDecodeError for anything that is not a plausible Batch. */
  decodeBatch(bytes: Uint8Array): WireBatch;
}

// The .proto sits beside this file in schemas/ (sources run by vitest); after tsc this module is in
// dist/schemas/, two levels below the package root that holds schemas/.
const SCHEMA_CANDIDATES = [
  new URL('./pathwatch.proto', import.meta.url),
  new URL('../../schemas/pathwatch.proto', import.meta.url),
].map((url) => fileURLToPath(url));

// Neither entry point ships types (pbf's exports map gives ./compile no .d.ts, and
// protocol-buffers-schema has none), so they are imported through string-typed specifiers, which
// TypeScript leaves untyped, and what arrives is checked before use.
type ParseSchema = (source: Uint8Array | string) => unknown;
type CompileSchema = (schema: unknown) => Readonly<Record<string, unknown>>;
type ReadBatch = (pbf: PbfReader) => WireBatch;
type WriteBatch = (batch: WireBatch, pbf: PbfWriter) => void;

const SCHEMA_PARSER: string = 'protocol-buffers-schema';
const SCHEMA_COMPILER: string = 'pbf/compile';
const parseSchema = member<ParseSchema>(await import(SCHEMA_PARSER), 'parse', SCHEMA_PARSER);
const compileSchema = member<CompileSchema>(await import(SCHEMA_COMPILER), 'compile', SCHEMA_COMPILER);

function member<F>(from: unknown, key: string, where: string): F {
  const value: unknown = typeof from === 'object' && from !== null ? (from as Record<string, unknown>)[key] : undefined;
  if (typeof value !== 'function') throw new Error(`wire codec: ${where} has no function ${key}`);
  return value as F;
}

/** Reads the .proto (by default schemas/pathwatch.proto of this package) and compiles a codec. */
export function loadWireSchema(path: string = findSchema()): WireCodec {
  let compiled: Readonly<Record<string, unknown>>;
  let layout: NestedMessageFields;
  try {
    const parsed = parseSchema(readFileSync(path));
    compiled = compileSchema(parsed);
    layout = nestedMessageFields(schemaMessages(parsed));
  } catch (err) {
    throw new Error(`wire codec: cannot compile ${path}: ${oneLine(err)}`);
  }
  const readBatch = member<ReadBatch>(compiled, 'readBatch', path);
  const writeBatch = member<WriteBatch>(compiled, 'writeBatch', path);
  checkDirection(compiled.Direction, path);

  return {
    schemaPath: path,
    encodeBatch(batch) {
      checkIdentity(batch, (message) => new RangeError(`wire batch cannot be sent: ${message}`));
      const pbf = new PbfWriter();
      writeBatch(batch, pbf);
      // finish() is a view into a larger, growing buffer; hand out exactly the message.
      return pbf.finish().slice();
    },
    decodeBatch(bytes) {
      if (!(bytes instanceof Uint8Array)) throw new WireDecodeError('wire batch: expected bytes');
      if (bytes.byteLength > MAX_BATCH_BYTES) {
        throw new WireDecodeError(`wire batch: ${bytes.byteLength} bytes is over the ${MAX_BATCH_BYTES} byte limit`);
      }
      const allowed = Math.max(MIN_MESSAGE_ALLOWANCE, Math.floor(bytes.byteLength / MIN_BYTES_PER_MESSAGE));
      if (countMessages(bytes, 'Batch', layout, allowed) > allowed) {
        throw new WireDecodeError(`wire batch: more than one record per ${MIN_BYTES_PER_MESSAGE} bytes (empty or near-empty records)`);
      }
      let batch: WireBatch;
      try {
        // A private copy: decoded bytes fields are views into it, not into the caller's buffer.
        batch = readBatch(new StrictReader(new Uint8Array(bytes)));
      } catch (err) {
        throw new WireDecodeError(`wire batch is not a pathwatch.v1.Batch: ${oneLine(err)}`);
      }
      checkIdentity(batch, (message) => new WireDecodeError(`wire batch: ${message}`));
      return batch;
    },
  };
}

let defaultCodec: WireCodec | undefined;

function codec(): WireCodec {
  defaultCodec ??= loadWireSchema();
  return defaultCodec;
}

export function encodeBatch(batch: WireBatch): Uint8Array {
  return codec().encodeBatch(batch);
}

export function decodeBatch(bytes: Uint8Array): WireBatch {
  return codec().decodeBatch(bytes);
}

function findSchema(): string {
  const found = SCHEMA_CANDIDATES.find((candidate) => existsSync(candidate));
  if (found === undefined) throw new Error(`wire codec: no schema at ${SCHEMA_CANDIDATES.join(' or ')}`);
  return found;
}

/**
 * At most one message (the batch, or any record inside it) per this many input bytes, checked before
 * decoding (wire-message-count.ts says why). Agents' records are larger (a flow ~55 bytes, a vanished
 * group with its hops ~86 per message, a kernel drop-reason entry ~15), so real batches stay far from
 * the bound. Unbounded, 16 MiB of `3a 00` (empty vanished groups) made 8 million objects, ~2.3 GB.
 */
const MIN_BYTES_PER_MESSAGE = 16;
/** Small batches may be all defaults (a heartbeat is ~30 bytes in one message). */
const MIN_MESSAGE_ALLOWANCE = 64;

/** pbf stops a message quietly at a field number 0 and lets a length overrun its end; we do not. */
class StrictReader extends PbfReader {
  override nextField(end: number = this.length): number {
    const field = super.nextField(end);
    if (this.pos > end) throw new WireDecodeError(`a field runs past the end of its message at byte ${end}`);
    if (field === 0 && this.pos !== end) throw new WireDecodeError(`field number 0 at byte ${this.pos}`);
    return field;
  }
}

/** A batch is only storable with its identity: an agent and a sequence that starts at 1. */
function checkIdentity(batch: WireBatch, fail: (message: string) => Error): void {
  if (typeof batch.agent_id !== 'string' || batch.agent_id === '') throw fail('no agent_id');
  if (!Number.isSafeInteger(batch.sequence) || batch.sequence < 1) throw fail(`sequence ${batch.sequence} is not a positive integer`);
}

/** WireDirection is written by hand; fail at load time, not on the wire, if the schema moved. */
function checkDirection(compiled: unknown, path: string): void {
  const expected = Object.entries(WireDirection).filter(([, value]) => typeof value === 'number');
  const actual = typeof compiled === 'object' && compiled !== null ? Object.entries(compiled) : [];
  const same = actual.length === expected.length && expected.every(([name, value]) => (compiled as Record<string, unknown>)[name] === value);
  if (!same) throw new Error(`wire codec: enum Direction in ${path} does not match WireDirection`);
}

/** The message list of protocol-buffers-schema's result, checked in shape (it ships no types). */
function schemaMessages(parsed: unknown): Parameters<typeof nestedMessageFields>[0] {
  const messages = typeof parsed === 'object' && parsed !== null ? (parsed as { messages?: unknown }).messages : undefined;
  if (!Array.isArray(messages) || messages.some((m) => typeof m !== 'object' || m === null || !Array.isArray((m as { fields?: unknown }).fields))) {
    throw new Error('the parsed schema has no message list');
  }
  return messages as Parameters<typeof nestedMessageFields>[0];
}

function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s+/g, ' ').trim();
}
