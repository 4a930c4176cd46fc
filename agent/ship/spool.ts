/**
 * A bounded on-disk queue of encoded batches for one collector: every batch is written here before it
 * is sent and removed only once the collector has accepted it, so batches survive an unreachable
 * collector and an agent restart (at-least-once; the collector dedups by agent, boot and sequence).
 *
 * One file per batch, named `<ordinal>-<sequence>.batch` with both zero-padded: the ordinal is the
 * spool's own counter and fixes the order (oldest first) even when the agent restarts and its
 * sequence starts again under a new boot id; the sequence is there for people reading the directory.
 * Files are written to a temp name and renamed, so a crash never leaves half a batch under a batch
 * name (leftover temp files are deleted on start). There is no fsync: the spool protects against
 * process crashes and collector outages, not power loss.
 *
 * The directory belongs to one spool: a second spool on it would count from the same ordinals,
 * overwrite and delete the first one's batches. DiskSpool does not lock it; its owner does
 * (BatchShipper locks the agent's spool directory, above the per-collector spools: spool-lock.ts).
 *
 * The spool holds at most maxBytes of batch bytes; to make room, the OLDEST batches are dropped and
 * counted as lost (newer data is worth more, and the loss is reported upstream). A full disk on write
 * drops the oldest batch and retries once, otherwise the new batch is lost. Disk trouble is counted
 * and remembered in lastError, never thrown: the capture must not stop because a disk filled up.
 *
 * Synchronous file calls on purpose: batches are few (one every second or so per collector), small,
 * and synchronous calls keep the order and the byte accounting trivially right.
 */
import { mkdirSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DiskSpoolOptions {
  readonly dir: string;
  /** Bound on the bytes of spooled batches (file system overhead not included). */
  readonly maxBytes: number;
  /** Writes a whole file; a seam for tests (ENOSPC). */
  readonly writeFile?: (path: string, data: Uint8Array) => void;
}

export interface SpooledBatch {
  /** The spool's ordinal: identifies the batch for remove(). */
  readonly id: number;
  readonly sequence: number;
  readonly bytes: Buffer;
}

interface Entry {
  readonly id: number;
  readonly sequence: number;
  readonly size: number;
}

const FILE_NAME = /^(\d{16})-(\d{20})\.batch$/;
const TEMP_SUFFIX = '.tmp';

function fileName(id: number, sequence: number): string {
  return `${String(id).padStart(16, '0')}-${String(sequence).padStart(20, '0')}.batch`;
}

function errorCode(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code ?? err.message;
  }
  return String(err);
}

export class DiskSpool {
  readonly dir: string;
  readonly maxBytes: number;
  /** Batches found on disk at construction (left by an earlier run). */
  readonly recoveredBatches: number;
  private readonly writeFile: (path: string, data: Uint8Array) => void;
  /** Oldest first; entries before head are gone (a queue without shift()'s copying). */
  private entries: Entry[] = [];
  private head = 0;
  private totalBytes = 0;
  private nextId = 0;
  private pinnedId = -1;
  private lost = { batches: 0, bytes: 0 };
  private error: string | undefined;

  /** Creates the directory if needed and takes over the batches already in it; throws (one line) if it cannot. */
  constructor(options: DiskSpoolOptions) {
    if (!(options.maxBytes > 0) || !Number.isFinite(options.maxBytes)) {
      throw new RangeError(`spool maxBytes must be a positive number, got ${options.maxBytes}`);
    }
    this.dir = options.dir;
    this.maxBytes = options.maxBytes;
    this.writeFile = options.writeFile ?? ((path, data) => writeFileSync(path, data));
    try {
      mkdirSync(this.dir, { recursive: true });
    } catch (err) {
      throw new Error(`cannot create spool directory ${this.dir}: ${errorCode(err)}`);
    }
    this.recover();
    this.recoveredBatches = this.size;
    // The limit may have been lowered since the last run.
    while (this.totalBytes > this.maxBytes && this.evictOldest()) {
      /* evicted one */
    }
  }

  /** Batches spooled. */
  get size(): number {
    return this.entries.length - this.head;
  }

  /** Bytes of the spooled batches. */
  get bytes(): number {
    return this.totalBytes;
  }

  /** Batches dropped since construction: evicted for room, unwritable, unreadable, too big. */
  get lostBatches(): number {
    return this.lost.batches;
  }

  get lostBytes(): number {
    return this.lost.bytes;
  }

  /** The last disk problem, for stats; undefined while there was none. */
  get lastError(): string | undefined {
    return this.error;
  }

  /**
   * Spools a batch behind the others; returns false when it could not be kept (counted as lost).
   * Throws only on arguments no caller should pass (a bad sequence, an empty batch).
   */
  append(sequence: number, bytes: Uint8Array): boolean {
    if (!Number.isSafeInteger(sequence) || sequence < 0) throw new RangeError(`batch sequence must be a non-negative integer, got ${sequence}`);
    if (bytes.byteLength === 0) throw new RangeError(`batch ${sequence} is empty`);
    const size = bytes.byteLength;
    if (size > this.maxBytes) {
      this.countLost(1, size, `batch ${sequence} (${size} bytes) is larger than the whole spool (${this.maxBytes} bytes)`);
      return false;
    }
    while (this.totalBytes + size > this.maxBytes && this.evictOldest()) {
      /* made some room */
    }
    const id = this.nextId++;
    let failure = this.write(id, sequence, bytes);
    if (failure === 'ENOSPC' || failure === 'EDQUOT') {
      if (this.evictOldest()) failure = this.write(id, sequence, bytes);
    }
    if (failure !== undefined) {
      this.countLost(1, size, `cannot write batch ${sequence} to ${this.dir}: ${failure}`);
      return false;
    }
    this.entries.push({ id, sequence, size });
    this.totalBytes += size;
    return true;
  }

  /**
   * The oldest batch with its bytes, or undefined when the spool is empty. A batch whose file cannot
   * be read any more is dropped (counted) and the next one returned.
   */
  peekOldest(): SpooledBatch | undefined {
    for (;;) {
      const entry = this.entries[this.head];
      if (entry === undefined) return undefined;
      try {
        return { id: entry.id, sequence: entry.sequence, bytes: readFileSync(join(this.dir, fileName(entry.id, entry.sequence))) };
      } catch (err) {
        this.dropAt(this.head);
        this.countLost(1, entry.size, `cannot read spooled batch ${entry.sequence}: ${errorCode(err)}`);
      }
    }
  }

  /**
   * Removes the oldest batch (after the collector accepted it, or rejected it for good). With an id,
   * only if the oldest is still that batch. Returns whether a batch was removed.
   */
  removeOldest(id?: number): boolean {
    const entry = this.entries[this.head];
    if (entry === undefined || (id !== undefined && entry.id !== id)) return false;
    if (this.pinnedId === entry.id) this.pinnedId = -1;
    this.dropAt(this.head);
    return true;
  }

  /**
   * Keeps the batch with this id from being evicted while it is on the wire (so a batch is never
   * both delivered and counted lost); unpin() lets it go. While pinned, the spool may exceed maxBytes
   * by that batch.
   */
  pin(id: number): void {
    this.pinnedId = id;
  }

  unpin(): void {
    this.pinnedId = -1;
  }

  /** Drops the oldest batch that is not pinned, counting it as lost; false when there is none. */
  private evictOldest(): boolean {
    for (let i = this.head; i < this.entries.length; i++) {
      const entry = this.entries[i] as Entry;
      if (entry.id === this.pinnedId) continue;
      this.dropAt(i);
      this.countLost(1, entry.size, `spool ${this.dir} full (${this.maxBytes} bytes): dropped the oldest batches`);
      return true;
    }
    return false;
  }

  /** Forgets the entry at index i and deletes its file. */
  private dropAt(i: number): void {
    const entry = this.entries[i] as Entry;
    try {
      unlinkSync(join(this.dir, fileName(entry.id, entry.sequence)));
    } catch {
      // Already gone, or undeletable: either way it is no longer part of the queue.
    }
    this.totalBytes -= entry.size;
    if (i === this.head) {
      this.head++;
      if (this.head > 1024 && this.head * 2 > this.entries.length) {
        this.entries = this.entries.slice(this.head);
        this.head = 0;
      }
    } else {
      this.entries.splice(i, 1);
    }
  }

  /** Writes via temp file and rename; returns the error code on failure. */
  private write(id: number, sequence: number, bytes: Uint8Array): string | undefined {
    const path = join(this.dir, fileName(id, sequence));
    const temp = path + TEMP_SUFFIX;
    try {
      this.writeFile(temp, bytes);
      renameSync(temp, path);
      return undefined;
    } catch (err) {
      try {
        unlinkSync(temp);
      } catch {
        // Never created.
      }
      return errorCode(err);
    }
  }

  private recover(): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (err) {
      throw new Error(`cannot read spool directory ${this.dir}: ${errorCode(err)}`);
    }
    const found: Entry[] = [];
    for (const name of names) {
      const path = join(this.dir, name);
      if (name.endsWith(TEMP_SUFFIX) && FILE_NAME.test(name.slice(0, -TEMP_SUFFIX.length))) {
        // A write the last run did not finish: never acknowledged as spooled, so not ours to deliver.
        try {
          unlinkSync(path);
        } catch {
          // Left for the next start.
        }
        continue;
      }
      const match = FILE_NAME.exec(name);
      if (match === null) continue; // not a spool file: leave it alone
      const id = Number(match[1]);
      const sequence = Number(match[2]);
      if (!Number.isSafeInteger(id) || !Number.isSafeInteger(sequence)) continue;
      let size: number;
      try {
        size = statSync(path).size;
      } catch {
        continue;
      }
      if (size === 0) {
        // Only a torn write (power loss) leaves an empty batch file; it carries nothing to deliver.
        try {
          unlinkSync(path);
        } catch {
          // Left; skipped again next time.
        }
        this.countLost(1, 0, `spooled batch ${sequence} was empty on disk (torn write)`);
        continue;
      }
      found.push({ id, sequence, size });
    }
    found.sort((a, b) => a.id - b.id);
    this.entries = found;
    this.totalBytes = found.reduce((sum, e) => sum + e.size, 0);
    this.nextId = found.length === 0 ? 0 : (found[found.length - 1] as Entry).id + 1;
  }

  private countLost(batches: number, bytes: number, why: string): void {
    this.lost.batches += batches;
    this.lost.bytes += bytes;
    this.error = why;
  }
}
