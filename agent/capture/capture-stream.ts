/**
 * A capture input read one chunk at a time on request, so that several inputs can be interleaved by
 * time (replay reads next from the input that lags behind) with bounded memory whatever their size.
 */
import { createCaptureParser, detectCaptureFormat, type CaptureParser } from './capture-format.js';
import { readCaptureChunks } from './capture-input.js';
import { CaptureFormatError, type CaptureSink } from './capture-record.js';

export class CaptureStream {
  private readonly chunks: AsyncGenerator<Uint8Array>;
  private parser: CaptureParser | undefined;
  private pending: Uint8Array = new Uint8Array(0);
  private ended = false;
  /** Decompressed bytes consumed so far. */
  bytesRead = 0;

  /**
   * @param chunks the bytes, when they come from elsewhere than a file or stdin (a live capture
   *   child's pipe); by default the file at `path` (or stdin for '-').
   */
  constructor(
    readonly path: string,
    private readonly sink: CaptureSink,
    chunks?: AsyncGenerator<Uint8Array>,
  ) {
    this.chunks = chunks ?? readCaptureChunks(path);
  }

  get done(): boolean {
    return this.ended;
  }

  get packets(): number {
    return this.parser?.packets ?? 0;
  }

  /**
   * Reads and parses the next chunk. Returns false once the input is exhausted (the parser has then
   * been ended). Throws CaptureInputError or CaptureFormatError.
   */
  async pump(): Promise<boolean> {
    if (this.ended) return false;
    const r = await this.chunks.next();
    if (r.done === true) {
      this.ended = true;
      (this.parser ?? this.detect()).end();
      return false;
    }
    this.bytesRead += r.value.length;
    if (this.parser) {
      this.parser.push(r.value);
      return true;
    }
    // Detection needs 4 bytes; a pipe may deliver fewer first.
    this.pending = this.pending.length === 0 ? r.value : concat(this.pending, r.value);
    if (this.pending.length >= 4) {
      const p = this.detect();
      p.push(this.pending);
      this.pending = new Uint8Array(0);
    }
    return true;
  }

  /** Stops reading early (closes the file). */
  async close(): Promise<void> {
    this.ended = true;
    await this.chunks.return(undefined);
  }

  private detect(): CaptureParser {
    const format = detectCaptureFormat(this.pending);
    if (format !== 'pcap' && format !== 'pcapng') {
      throw new CaptureFormatError(this.pending.length === 0 ? 'empty input, not a pcap or pcapng capture' : 'not a pcap or pcapng capture', 0);
    }
    this.parser = createCaptureParser(format, this.sink);
    return this.parser;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const r = new Uint8Array(a.length + b.length);
  r.set(a, 0);
  r.set(b, a.length);
  return r;
}
