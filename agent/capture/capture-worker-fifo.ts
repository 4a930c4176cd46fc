/**
 * tcpdump's output read in paced reads from a FIFO, instead of through a pipe handed to Node's
 * stream machinery: how LiveNode reads the capture by default (LiveCaptureOptions.reads), on its own
 * thread or in the capture worker. Written for the worker, kept for both once measured.
 *
 * Why: tcpdump -U writes every packet as it comes. A reader that keeps up (the capture worker,
 * which has little else to do) is then woken for every write: an epoll wake-up, a read, a Buffer and
 * a stream push per packet, several microseconds each, and tcpdump pays a context switch per packet
 * too on a shared core (measured in the live benchmark, bench/README.md: with paced reads the
 * whole capture costs a quarter less CPU per packet, tcpdump's share less than half). Here tcpdump writes into a FIFO whose read end this module reads
 * without blocking; whenever a read brings less than PACED_READ_BYTES it lets the pipe fill before
 * reading again, a millisecond at first and twice as long after every further short read (up to
 * MAX_PAUSE_MS), so a trickle is read a few dozen times a second and a flood without pauses. A full
 * pipe only makes tcpdump wait, with the kernel's capture buffer behind it, so a pause costs
 * latency (milliseconds), never packets.
 *
 * The FIFO is made with `mkfifo` in a private temporary directory, both ends are opened, and its
 * name is removed at once; tcpdump gets the write end as its stdout, so it opens no file itself (no
 * AppArmor or privilege-drop question). Without `mkfifo`, the plain pipe is used.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLiveCapture, type LiveCapture, type LiveCaptureOptions } from './live-capture.js';

/** A read that brings less than this is followed by a pause, so the next one brings more. */
const PACED_READ_BYTES = 16 * 1024;
/** The first pause after a short read; each further short read (or empty poll) doubles it. */
const PAUSE_MS = 1;
/**
 * The longest pause: an idle capture is polled this often. On the benchmark VM, where a Node timer
 * wake-up costs some 200 µs of CPU, that is about 1% of a core (a fixed 1 to 5 ms poll cost 6%;
 * stream reads cost nothing while idle). Packets that come meanwhile wait in the pipe, then in the
 * kernel's buffer (tcpdump blocks on a full pipe): 32 ms at 250k packets/s is 8k packets, a sixth of
 * the default 16 MiB.
 */
const MAX_PAUSE_MS = 32;
/** Reads of a busy pipe give the event loop (timers, messages) a turn at least this often. */
const TURN_MS = 5;
const READ_BUFFER = 256 * 1024;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A FIFO with both ends open (its name already removed), or undefined when mkfifo is not there. */
function openFifo(): { readFd: number; writeFd: number } | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'pathwatch-capture-'));
  let readFd: number | undefined;
  try {
    const path = join(dir, 'pcap');
    execFileSync('mkfifo', ['-m', '600', path], { stdio: 'ignore' });
    // The read end first, without blocking; then the write end opens at once (a reader exists).
    readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const writeFd = openSync(path, constants.O_WRONLY);
    return { readFd, writeFd };
  } catch {
    if (readFd !== undefined) closeSync(readFd);
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The FIFO's bytes as they come, in reads as large as pacing makes them; ends when tcpdump (the
 * last writer) has closed it. The chunk's buffer is reused: the parser consumes it before asking for
 * the next (it copies what straddles two chunks), except the first, which detection may keep.
 */
async function* pacedReads(fd: number): AsyncGenerator<Uint8Array> {
  const buf = new Uint8Array(READ_BUFFER);
  let first = true;
  let pause = 0;
  let lastTurn = Date.now();
  try {
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        n = -1;
      }
      if (n === 0) return; // every writer closed: tcpdump ended
      if (n > 0) {
        yield first ? buf.slice(0, n) : buf.subarray(0, n);
        first = false;
      }
      if (n < PACED_READ_BYTES) {
        pause = pause === 0 ? PAUSE_MS : Math.min(pause * 2, MAX_PAUSE_MS);
        await sleep(pause);
        lastTurn = Date.now();
        continue;
      }
      pause = 0;
      if (Date.now() - lastTurn >= TURN_MS) {
        await new Promise((r) => setImmediate(r));
        lastTurn = Date.now();
      }
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * startLiveCapture with tcpdump writing into a FIFO read in paced reads (`chunks` reuses one buffer:
 * each chunk is valid until the next is asked for, which is how CaptureStream consumes them).
 */
export function startPacedCapture(options: LiveCaptureOptions = {}): LiveCapture {
  const fifo = openFifo();
  if (!fifo) return startLiveCapture(options);
  let capture: LiveCapture;
  try {
    capture = startLiveCapture({ ...options, stdoutFd: fifo.writeFd });
  } catch (e) {
    closeSync(fifo.readFd); // no tcpdump, no reads: nobody else would close it
    throw e;
  } finally {
    // tcpdump holds the write end now; ours must go, or the FIFO would never report its end.
    closeSync(fifo.writeFd);
  }
  const fd = fifo.readFd;
  // The read end is closed by the reads when they end, or by stop() when they never began.
  let state: 'fresh' | 'reading' | 'closed' = 'fresh';
  async function* chunks(): AsyncGenerator<Uint8Array> {
    if (state === 'closed') return;
    state = 'reading';
    yield* pacedReads(fd);
  }
  return {
    chunks: chunks(),
    ready: capture.ready,
    counters: () => capture.counters(),
    async stop() {
      const c = await capture.stop();
      if (state === 'fresh') {
        state = 'closed';
        closeSync(fd);
      }
      return c;
    },
  };
}
