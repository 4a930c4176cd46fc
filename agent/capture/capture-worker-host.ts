/**
 * Main-thread side of the threaded live capture: starts capture-worker.js (tcpdump and the pcap
 * parser run there), and drains the shared packet ring into a CaptureSink on this thread. Opt-in
 * (LiveCaptureOptions.thread = 'worker'): on 2 cores it costs more CPU per packet than it takes off
 * this thread and captures no faster (bench/README.md, live benchmark), so the single thread is the
 * default.
 *
 * The counters and the stop go to the worker by message. When this thread falls behind and the ring
 * fills, the worker waits (default) or drops; drops are counted apart from the kernel's.
 */
import { Worker } from 'node:worker_threads';
import { CaptureFormatError, type CaptureSink } from './capture-record.js';
import type { CaptureCountersMessage, CaptureWorkerData, CaptureWorkerReply, CaptureWorkerRequest } from './capture-worker.js';
import { LiveCaptureError, type LiveCaptureOptions } from './live-capture.js';
import { DEFAULT_RING_SLOTS, DEFAULT_SLOT_BYTES, PacketRing, PacketRingConsumer } from './packet-ring.js';
import { deferred } from '../util/deferred.js';

export interface WorkerCaptureCounters extends CaptureCountersMessage {
  /** Packets lost in the ring between the worker and this thread (this thread fell behind). */
  readonly droppedByRing: number;
}

export interface WorkerCapture {
  readonly ready: Promise<void>;
  readonly ring: PacketRing;
  counters(): Promise<WorkerCaptureCounters>;
  /**
   * Delivers every record to the sink, in order, until the capture ends (stop() was called or
   * tcpdump exited) and the ring is empty. Yields to the event loop between batches, so timers run.
   * Rejects with the worker's error when the stream broke (a CaptureFormatError, as the
   * single-thread path would throw).
   */
  deliver(sink: CaptureSink): Promise<void>;
  stop(): Promise<WorkerCaptureCounters>;
}

export interface WorkerCaptureOptions extends LiveCaptureOptions {
  /** The worker script; default capture-worker.js next to this module. */
  readonly workerUrl?: URL;
  /**
   * When this thread falls so far behind that the ring is full: 'wait' (default) makes the worker
   * stop reading until there is room, so tcpdump's pipe and the kernel's capture buffer hold the
   * backlog (and the kernel counts what it must drop); 'drop' counts the packets the worker cannot
   * place as lost in the ring (droppedByRing) and reads on. Waiting adds the ring to the buffers
   * that absorb a stall instead of replacing them: measured in bench/README.md.
   */
  readonly whenRingFull?: 'wait' | 'drop';
}

/** Records delivered per turn of the event loop at most: the timer's tick waits no longer than one batch. */
const DRAIN_BATCH = 4096;
/** A waiting drain wakes at least this often to notice a worker that died without closing the ring. */
const IDLE_WAKE_MS = 250;
/** Packet bytes the ring holds when its slot count is not given (32k slots at the default snap length). */
const RING_DATA_BYTES = 8 * 1024 * 1024;
/** A slot's bytes at most: a larger snap length (or 0, "whole packets") is cut here. */
const MAX_SLOT_BYTES = 64 * 1024;

/** Slot size and count for a snap length: the snap length, and as many slots as RING_DATA_BYTES hold (1k to 32k). */
function ringShape(snaplen: number | undefined, slots: number | undefined): { slots: number; slotBytes: number } {
  const slotBytes = snaplen === undefined ? DEFAULT_SLOT_BYTES : snaplen <= 0 ? MAX_SLOT_BYTES : Math.min(Math.max(snaplen, 64), MAX_SLOT_BYTES);
  if (slots !== undefined) return { slots, slotBytes };
  let n = DEFAULT_RING_SLOTS;
  while (n > 1024 && n * slotBytes > RING_DATA_BYTES) n >>= 1;
  return { slots: n, slotBytes };
}

export function startWorkerCapture(options: WorkerCaptureOptions = {}): WorkerCapture {
  const { ringSlots, workerUrl, whenRingFull, ...capture } = options;
  const ring = PacketRing.create(ringShape(capture.snaplen, ringSlots));
  const data: CaptureWorkerData = { ring: ring.buffer, capture, whenRingFull: whenRingFull ?? 'wait' };
  const worker = new Worker(workerUrl ?? new URL('./capture-worker.js', import.meta.url), { workerData: data });
  const readiness = deferred();
  const stopped = deferred<CaptureCountersMessage>();
  // Nobody may await these (a capture stopped while starting): never an unhandled rejection.
  readiness.promise.catch(() => {});
  stopped.promise.catch(() => {});
  const pendingCounters = new Map<number, (c: CaptureCountersMessage) => void>();
  let nextId = 0;
  let failure: Error | undefined;
  /** The worker's stream broke after the capture had started: deliver() throws it once drained. */
  let streamFailure: Error | undefined;
  let started = false;
  let exited = false;
  const send = (m: CaptureWorkerRequest): void => {
    if (!exited) worker.postMessage(m);
  };
  worker.on('message', (m: CaptureWorkerReply) => {
    switch (m.type) {
      case 'ready':
        started = true;
        readiness.resolve();
        break;
      case 'counters':
        pendingCounters.get(m.id)?.({ received: m.received, droppedByKernel: m.droppedByKernel });
        pendingCounters.delete(m.id);
        break;
      case 'failed': {
        const e = m.name === 'CaptureFormatError' ? new CaptureFormatError(m.reason ?? m.message, m.byteOffset ?? 0) : new LiveCaptureError(m.message);
        failure ??= e;
        if (started) streamFailure ??= e;
        readiness.reject(e);
        break;
      }
      case 'stopped':
        stopped.resolve({ received: m.received, droppedByKernel: m.droppedByKernel });
        break;
    }
  });
  worker.on('error', (e) => {
    failure ??= e;
    if (started) streamFailure ??= e;
    readiness.reject(e);
  });
  worker.on('exit', () => {
    exited = true;
    const e = failure ?? new LiveCaptureError('the capture worker ended before the capture started');
    readiness.reject(e);
    stopped.resolve({ received: undefined, droppedByKernel: undefined });
    for (const f of pendingCounters.values()) f({ received: undefined, droppedByKernel: undefined });
    pendingCounters.clear();
  });
  const withRing = (c: CaptureCountersMessage): WorkerCaptureCounters => ({ ...c, droppedByRing: ring.lost });
  let stopping: Promise<WorkerCaptureCounters> | undefined;
  const stop = (): Promise<WorkerCaptureCounters> => {
    stopping ??= (async () => {
      send({ type: 'stop' });
      const c = await stopped.promise;
      await worker.terminate();
      return withRing(c);
    })();
    return stopping;
  };
  return {
    ready: readiness.promise,
    ring,
    async counters() {
      if (exited) return withRing(await stopped.promise);
      const id = nextId++;
      const reply = new Promise<CaptureCountersMessage>((res) => pendingCounters.set(id, res));
      send({ type: 'counters', id });
      return withRing(await reply);
    },
    async deliver(sink: CaptureSink) {
      const consumer = new PacketRingConsumer(ring);
      try {
        for (;;) {
          if (consumer.drain(sink, DRAIN_BATCH) > 0) {
            // More may be waiting; let timers and messages in before the next batch.
            await new Promise<void>((r) => setImmediate(r));
            continue;
          }
          if (consumer.finished) break;
          if (exited && consumer.available === 0) break; // died without closing: nothing more comes
          await consumer.waitForData(IDLE_WAKE_MS);
        }
      } catch (e) {
        // The sink failed: nobody reads on. Release a worker waiting for room, and end the capture.
        consumer.abandon();
        void stop();
        throw e;
      }
      // Every record is in; a stream that broke is an error, as in the single-thread path.
      if (streamFailure) throw streamFailure;
    },
    stop,
  };
}
