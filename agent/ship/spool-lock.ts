/**
 * One agent per spool directory. Two agents sharing a spool (three agents on one host, one per
 * network namespace; two agent pods on one node during a DaemonSet rolling update) count their
 * batch files from the same ordinals, overwrite and delete each other's batches and lose them
 * (issue 12). So the directory the user gives (--spool-dir; the shipper keeps one subdirectory per
 * collector under it) is locked for as long as a shipper owns it, and a second agent is refused at
 * start with one line naming the directory and the holder.
 *
 * The lock is a file, `agent.lock`, holding a one-line JSON record of its holder: pid, pid
 * namespace, boot id, the process's start time (field 22 of /proc/PID/stat) and a random token. It
 * is created complete and atomically (written to a temp file, then hard-linked to its name, which
 * fails when the name exists; exclusive create where the file system has no hard links), so no
 * native addon is needed. A lock outlives a crash (SIGKILL, OOM); the next agent takes it over
 * without error when it is stale:
 *  - it was written before the last reboot (another boot id);
 *  - its pid namespace is ours and the pid is not running (kill(pid, 0) -> ESRCH), or runs a
 *    process started at another time than the holder (the pid was reused);
 *  - its pid namespace is not ours (another container: the pid means nothing here) and the holder
 *    has not refreshed the file's mtime for LEASE_MS (holders refresh it every HEARTBEAT_MS);
 *  - it is unreadable as a record and older than 2 s (a torn write).
 * The start time, not the command line, tells a reused pid from the holder: another agent that got
 * the dead holder's pid has the same command line. A takeover renames the stale file aside and
 * checks that it renamed the record it judged, so two agents taking over at once do not both win
 * (short of a third one racing them within microseconds, which the holder's heartbeat then reports
 * as a lost lock). Release (on the shipper's stop, or at process exit) deletes the file only while
 * it is still this holder's.
 *
 * Network namespaces do not matter: agents in different network namespaces on one host share the
 * pid namespace and the file system, which is all the lock needs.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, readlinkSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const SPOOL_LOCK_FILE = 'agent.lock';
/** How often a holder refreshes its lock file's mtime. */
export const HEARTBEAT_MS = 5_000;
/** A holder in another pid namespace silent this long is gone. */
export const LEASE_MS = 30_000;
/** An unreadable lock file younger than this may still be being written (exclusive-create fallback). */
const UNREADABLE_GRACE_MS = 2_000;

/** What a lock file says about its holder. */
export interface SpoolLockRecord {
  readonly pid: number;
  readonly token: string;
  /** ISO time the lock was taken. */
  readonly since: string;
  readonly bootId?: string;
  /** readlink /proc/self/ns/pid, e.g. `pid:[4026531836]`. */
  readonly pidNamespace?: string;
  /** The holder's start time in clock ticks since boot, field 22 of /proc/PID/stat. */
  readonly startTime?: string;
  /** The holder's command line, for people reading the file. */
  readonly command?: string;
}

export interface SpoolLockOptions {
  /** Told when a stale lock is taken over, or when the lock is lost while held. */
  readonly log?: (line: string) => void;
  /** For tests. */
  readonly heartbeatMs?: number;
  readonly leaseMs?: number;
}

/** The spool directory cannot be locked (cannot be created, or its lock file cannot be read). */
export class SpoolLockError extends Error {
  override readonly name: string = 'SpoolLockError';
}

/** Another live agent holds the spool directory. The message is one line and names the holder. */
export class SpoolLockedError extends SpoolLockError {
  override readonly name = 'SpoolLockedError';
  constructor(
    readonly dir: string,
    readonly holder: SpoolLockRecord | undefined,
    detail: string,
  ) {
    super(`spool directory ${dir} is in use by ${detail}`);
  }
}

type Verdict = { readonly held: true; readonly detail: string } | { readonly held: false; readonly why: string };

interface Identity {
  readonly bootId: string | undefined;
  readonly pidNamespace: string | undefined;
}

function errorCode(err: unknown): string {
  if (err instanceof Error) return (err as NodeJS.ErrnoException).code ?? err.message;
  return String(err);
}

function readTrimmed(path: string): string | undefined {
  try {
    const text = readFileSync(path, 'utf8').trim();
    return text === '' ? undefined : text;
  } catch {
    return undefined;
  }
}

function identity(): Identity {
  let pidNamespace: string | undefined;
  try {
    pidNamespace = readlinkSync('/proc/self/ns/pid');
  } catch {
    pidNamespace = undefined;
  }
  return { bootId: readTrimmed('/proc/sys/kernel/random/boot_id'), pidNamespace };
}

/** Field 22 of /proc/PID/stat (after the command name, which may hold spaces and parentheses). */
export function processStartTime(pid: number): string | undefined {
  const stat = readTrimmed(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19];
}

/** Whether a pid of this pid namespace runs (EPERM: it does, as another user). */
function pidRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errorCode(err) !== 'ESRCH';
  }
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The record in a lock file's text, or undefined when it is not one. */
export function parseSpoolLock(text: string): SpoolLockRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const o = value as Record<string, unknown>;
  const pid = o.pid;
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0 || pid > 0x7fffffff || typeof o.token !== 'string' || o.token === '') return undefined;
  const bootId = optionalString(o.bootId);
  const pidNamespace = optionalString(o.pidNamespace);
  const startTime = optionalString(o.startTime);
  const command = optionalString(o.command);
  return {
    pid,
    token: o.token,
    since: optionalString(o.since) ?? '',
    ...(bootId !== undefined ? { bootId } : {}),
    ...(pidNamespace !== undefined ? { pidNamespace } : {}),
    ...(startTime !== undefined ? { startTime } : {}),
    ...(command !== undefined ? { command } : {}),
  };
}

/** The holder of a spool directory's lock as its file says, or undefined when there is no readable lock. */
export function readSpoolLock(dir: string): SpoolLockRecord | undefined {
  const text = readTrimmed(join(dir, SPOOL_LOCK_FILE));
  return text === undefined ? undefined : parseSpoolLock(text);
}

/** Whether the lock in `text` (its file last modified at mtimeMs) still belongs to a live holder; see the header. */
function judge(text: string, mtimeMs: number, self: Identity, leaseMs: number): Verdict {
  const age = Date.now() - mtimeMs;
  const record = parseSpoolLock(text);
  if (record === undefined) {
    if (age < UNREADABLE_GRACE_MS) return { held: true, detail: 'another agent (its lock file is being written)' };
    return { held: false, why: 'the lock file held no lock record' };
  }
  const { pid } = record;
  if (record.bootId !== undefined && self.bootId !== undefined && record.bootId !== self.bootId) {
    return { held: false, why: `pid ${pid} held it before the last reboot` };
  }
  // Equal namespaces, or none known on either side (no /proc: no pid namespaces to tell apart).
  if (record.pidNamespace === self.pidNamespace) {
    if (!pidRuns(pid)) return { held: false, why: `pid ${pid} is no longer running` };
    const started = processStartTime(pid);
    if (record.startTime !== undefined && started !== undefined && started !== record.startTime) {
      return { held: false, why: `pid ${pid} is no longer the agent that held it` };
    }
    if (pid === process.pid) return { held: true, detail: `another shipper of this process (pid ${pid})` };
    return { held: true, detail: `another agent (pid ${pid})` };
  }
  // Another container's pid namespace (or it is unknown on one side): the pid cannot be checked, the heartbeat can.
  const seconds = Math.max(0, Math.round(age / 1000));
  if (age < leaseMs) {
    return { held: true, detail: `another agent (pid ${pid} in another pid namespace, alive ${seconds} s ago; its lock lapses after ${Math.round(leaseMs / 1000)} s of silence)` };
  }
  return { held: false, why: `pid ${pid} in another pid namespace has been silent for ${seconds} s` };
}

/** Locks held by this process, released at exit if nobody released them before. */
const held = new Set<SpoolLock>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const lock of [...held]) lock.release();
  });
}

export class SpoolLock {
  readonly dir: string;
  /** The lock file. */
  readonly path: string;
  readonly record: SpoolLockRecord;
  /** Why a stale lock was taken over, when one was. */
  readonly tookOver: string | undefined;
  private readonly log: (line: string) => void;
  private heartbeat: NodeJS.Timeout | undefined;
  private released = false;

  private constructor(dir: string, record: SpoolLockRecord, tookOver: string | undefined, options: SpoolLockOptions) {
    this.dir = dir;
    this.path = join(dir, SPOOL_LOCK_FILE);
    this.record = record;
    this.tookOver = tookOver;
    this.log = options.log ?? (() => undefined);
    this.heartbeat = setInterval(() => this.refresh(), options.heartbeatMs ?? HEARTBEAT_MS);
    this.heartbeat.unref();
    held.add(this);
    installExitHook();
  }

  /**
   * Creates the directory if needed and locks it. Throws SpoolLockedError when another live agent
   * (or another shipper of this process) holds it, SpoolLockError when it cannot be created or its
   * lock file cannot be read; both one line.
   */
  static acquire(dir: string, options: SpoolLockOptions = {}): SpoolLock {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw new SpoolLockError(`cannot create spool directory ${dir}: ${errorCode(err)}`);
    }
    const self = identity();
    const startTime = processStartTime(process.pid);
    const record: SpoolLockRecord = {
      pid: process.pid,
      token: randomBytes(12).toString('hex'),
      since: new Date().toISOString(),
      ...(self.bootId !== undefined ? { bootId: self.bootId } : {}),
      ...(self.pidNamespace !== undefined ? { pidNamespace: self.pidNamespace } : {}),
      ...(startTime !== undefined ? { startTime } : {}),
      command: process.argv.slice(1).join(' ').slice(0, 300),
    };
    const text = `${JSON.stringify(record)}\n`;
    const path = join(dir, SPOOL_LOCK_FILE);
    const leaseMs = options.leaseMs ?? LEASE_MS;
    const temp = `${path}.${process.pid}.${record.token}.tmp`;
    let tookOver: string | undefined;
    try {
      writeFileSync(temp, text, { flag: 'wx' });
    } catch (err) {
      throw new SpoolLockError(`cannot write in spool directory ${dir}: ${errorCode(err)}`);
    }
    try {
      // Each pass either takes the lock, throws, or removed a stale lock (or saw one released):
      // a few passes are enough unless other agents keep fighting over the directory.
      for (let pass = 0; pass < 5; pass++) {
        if (create(temp, path, text)) return new SpoolLock(dir, record, tookOver, options);
        let current: string;
        let mtimeMs: number;
        try {
          current = readFileSync(path, 'utf8');
          mtimeMs = statSync(path).mtimeMs;
        } catch (err) {
          if (errorCode(err) === 'ENOENT') continue; // released meanwhile
          throw new SpoolLockError(`cannot read the lock ${path}: ${errorCode(err)}`);
        }
        const verdict = judge(current, mtimeMs, self, leaseMs);
        if (verdict.held) throw new SpoolLockedError(dir, parseSpoolLock(current), verdict.detail);
        if (removeStale(path, current)) {
          tookOver = verdict.why;
          options.log?.(`spool directory ${dir}: took over a stale lock (${verdict.why})`);
        }
      }
      throw new SpoolLockError(`cannot lock spool directory ${dir}: other agents keep taking and dropping its lock`);
    } finally {
      try {
        unlinkSync(temp);
      } catch {
        // Already gone.
      }
    }
  }

  /** Deletes the lock file if it is still ours; idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    held.delete(this);
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    if (!this.isOurs()) return;
    try {
      unlinkSync(this.path);
    } catch {
      // Gone already: nothing to release.
    }
  }

  private isOurs(): boolean {
    const text = readTrimmed(this.path);
    return text !== undefined && parseSpoolLock(text)?.token === this.record.token;
  }

  /** The heartbeat: shows agents in other pid namespaces that the holder lives. */
  private refresh(): void {
    if (this.isOurs()) {
      try {
        const now = new Date();
        utimesSync(this.path, now, now);
        return;
      } catch {
        // Fall through: the file went away between the read and the touch.
      }
    }
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    const holder = readSpoolLock(this.dir);
    this.log(`spool directory ${this.dir}: lost its lock (${holder === undefined ? 'the lock file was removed' : `now held by pid ${holder.pid}`}); another agent may be writing to this spool`);
  }
}

/**
 * Puts the complete lock file at `path` unless one exists: a hard link of the temp file (atomic, and
 * never seen half-written); exclusive create where the file system has no hard links.
 */
function create(temp: string, path: string, text: string): boolean {
  try {
    linkSync(temp, path);
    return true;
  } catch (err) {
    const code = errorCode(err);
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') {
      throw new SpoolLockError(`cannot create the lock ${path}: ${code}`);
    }
  }
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (err) {
    if (errorCode(err) === 'EEXIST') return false;
    throw new SpoolLockError(`cannot create the lock ${path}: ${errorCode(err)}`);
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Removes the stale lock whose text was judged: renames the file aside, then checks it renamed that
 * very record; if another agent put a fresh lock there in between, puts it back. Returns whether
 * the stale lock was removed.
 */
function removeStale(path: string, judged: string): boolean {
  const aside = `${path}.stale.${process.pid}.${randomBytes(6).toString('hex')}`;
  try {
    renameSync(path, aside);
  } catch {
    return false; // gone meanwhile: the next pass looks again
  }
  let moved: string | undefined;
  try {
    moved = readFileSync(aside, 'utf8');
  } catch {
    moved = undefined;
  }
  if (moved !== judged) {
    try {
      linkSync(aside, path);
    } catch {
      // Someone locked again meanwhile; that lock stands, and the next pass reads it.
    }
  }
  try {
    unlinkSync(aside);
  } catch {
    // Left aside; harmless, it is not the lock file.
  }
  return moved === judged;
}
