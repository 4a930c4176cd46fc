/**
 * Worker-thread side of the threaded live capture (main side: capture-worker-host.ts). This thread
 * owns the tcpdump child (startLiveCapture, as the single-thread path uses it), parses its pcap
 * stream with the same streaming reader, and writes every record into the shared packet ring; the
 * main thread drains the ring into the pipeline.
 *
 *   tcpdump --FIFO--> [worker: paced reads -> CaptureStream -> PacketRingProducer] --ring--> [main: pipeline]
 *
 * tcpdump's output is read in paced reads from a FIFO (capture-worker-fifo.ts): a thread that keeps
 * up, as this one does, would otherwise be woken for every packet tcpdump writes.
 *
 * Messages from the host: {type: 'counters', id} and {type: 'stop'}. To the host: {type: 'ready'},
 * {type: 'counters', id, ...}, {type: 'failed', ...} (the capture could not start, or its stream
 * broke) and {type: 'stopped', ...} (tcpdump's exit counters; the ring is closed by then).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CaptureStream } from './capture-stream.js';
import { CaptureFormatError, type CaptureSink } from './capture-record.js';
import { startPacedCapture } from './capture-worker-fifo.js';
import type { LiveCaptureOptions } from './live-capture.js';
import { PacketRing, PacketRingProducer } from './packet-ring.js';

export interface CaptureWorkerData {
  readonly ring: SharedArrayBuffer;
  readonly capture: LiveCaptureOptions;
  /** See WorkerCaptureOptions.whenRingFull. */
  readonly whenRingFull: 'wait' | 'drop';
}

export type CaptureWorkerRequest = { readonly type: 'counters'; readonly id: number } | { readonly type: 'stop' };

export interface CaptureCountersMessage {
  readonly received: number | undefined;
  readonly droppedByKernel: number | undefined;
}

export type CaptureWorkerReply =
  | { readonly type: 'ready' }
  | ({ readonly type: 'counters'; readonly id: number } & CaptureCountersMessage)
  | { readonly type: 'failed'; readonly name: string; readonly message: string; readonly byteOffset?: number; readonly reason?: string }
  | ({ readonly type: 'stopped' } & CaptureCountersMessage);

/** The longest the worker waits for the main thread to make room for a final interface or warning event. */
const CLOSE_WAIT_MS = 2000;

async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('capture-worker.js runs as a worker thread (see capture-worker-host.ts)');
  const data = workerData as CaptureWorkerData;
  const ring = PacketRing.attach(data.ring);
  const producer = new PacketRingProducer(ring);
  const post = (m: CaptureWorkerReply): void => port.postMessage(m);
  const sink: CaptureSink = {
    onInterface: (i) => producer.pushInterface(i),
    onPacket:
      data.whenRingFull === 'wait'
        ? (r) => {
            // The main thread is behind: wait for it (tcpdump and the kernel buffer hold the rest),
            // unless it gave up reading (then the packet is counted lost, and stop() comes next).
            while (!producer.waitForRoom(100) && !ring.abandoned) {
              // waiting
            }
            producer.push(r);
          }
        : (r) => void producer.push(r),
    onWarning: (m) => producer.pushWarning(m),
  };
  const capture = startPacedCapture(data.capture);
  let stopping: ReturnType<typeof capture.stop> | undefined;
  port.on('message', (m: CaptureWorkerRequest) => {
    if (m.type === 'counters') {
      void capture.counters().then((c) => post({ type: 'counters', id: m.id, ...c }));
    } else if (m.type === 'stop') {
      stopping ??= capture.stop();
    }
  });
  const stream = new CaptureStream('tcpdump', sink, capture.chunks);
  try {
    let started = false;
    try {
      await capture.ready;
      started = true;
      post({ type: 'ready' });
    } catch (e) {
      // Stopped before it started is a clean stop (the host knows it asked); anything else is why.
      if (stopping === undefined) post(failure(e));
    }
    if (started) {
      while (await stream.pump()) producer.publish();
    }
  } catch (e) {
    post(failure(e));
  } finally {
    const shut = Date.now();
    while (!producer.close() && Date.now() - shut < CLOSE_WAIT_MS) await new Promise((r) => setTimeout(r, 1));
    const counters = await (stopping ?? capture.stop());
    post({ type: 'stopped', ...counters });
    port.close();
  }
}

function failure(e: unknown): CaptureWorkerReply {
  if (e instanceof CaptureFormatError) return { type: 'failed', name: e.name, message: e.message, reason: e.reason, byteOffset: e.byteOffset };
  if (e instanceof Error) return { type: 'failed', name: e.name, message: e.message };
  return { type: 'failed', name: 'Error', message: String(e) };
}

void main();
