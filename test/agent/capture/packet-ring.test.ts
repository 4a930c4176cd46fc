/**
 * The packet ring: slots wrap, a full ring counts what it could not place, batches are bounded,
 * cursors survive the wrap at 2^32, events keep their place among packets, and a producer in a real
 * worker thread hands a consumer on this thread every packet once, in order, under generated
 * schedules of bursts and pauses on both sides.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { CaptureRecord, type CaptureInterface, type CaptureSink } from '../../../agent/capture/capture-record.js';
import { PacketRing, PacketRingConsumer, PacketRingProducer } from '../../../agent/capture/packet-ring.js';
import { ROOT, ensureBuilt } from '../../support/built-cli.js';

/** A record whose bytes say which packet it is: seq in the first 4 bytes, then a pattern. */
function packet(seq: number, len = 60 + (seq % 150)): CaptureRecord {
  const r = new CaptureRecord();
  const buf = new Uint8Array(len + 7);
  const off = 7; // not at the start of its buffer, as in a parsed chunk
  new DataView(buf.buffer).setUint32(off, seq >>> 0);
  for (let i = 4; i < len; i++) buf[off + i] = (seq + i) & 0xff;
  r.data = buf;
  r.offset = off;
  r.caplen = len;
  r.origlen = len + 1000;
  r.tsSec = 1_700_000_000 + seq;
  r.tsNsec = (seq * 7919) % 1_000_000_000;
  r.linkType = 276;
  r.interfaceId = seq % 3;
  r.direction = (seq % 3) as CaptureRecord['direction'];
  r.streamOffset = 24 + seq * 1000;
  return r;
}

interface Seen {
  seq: number;
  caplen: number;
  origlen: number;
  tsSec: number;
  tsNsec: number;
  linkType: number;
  interfaceId: number;
  direction: number;
  streamOffset: number;
  bytesOk: boolean;
}

class Recorder implements CaptureSink {
  readonly packets: Seen[] = [];
  readonly events: string[] = [];
  readonly records = new Set<CaptureRecord>();
  onInterface(i: CaptureInterface): void {
    this.events.push(`iface ${i.id} ${i.linkType} ${i.snapLen} ${String(i.name)} ${String(i.description)} @${this.packets.length}`);
  }
  onPacket(r: CaptureRecord): void {
    this.records.add(r);
    const seq = new DataView(r.data.buffer, r.data.byteOffset).getUint32(r.offset);
    let bytesOk = true;
    for (let i = 4; i < r.caplen; i++) if (r.data[r.offset + i] !== ((seq + i) & 0xff)) bytesOk = false;
    this.packets.push({ seq, caplen: r.caplen, origlen: r.origlen, tsSec: r.tsSec, tsNsec: r.tsNsec, linkType: r.linkType, interfaceId: r.interfaceId, direction: r.direction, streamOffset: r.streamOffset, bytesOk });
  }
  onWarning(m: string): void {
    this.events.push(`warn ${m} @${this.packets.length}`);
  }
}

describe('PacketRing', () => {
  it('refuses slot counts that are not powers of two', () => {
    expect(() => PacketRing.create({ slots: 6 })).toThrow(/power of two/);
    expect(() => PacketRing.create({ slots: 1 })).toThrow(/power of two/);
    expect(() => PacketRing.attach(new SharedArrayBuffer(1024))).toThrow(/not a packet ring/);
  });

  it('round-trips every record field, the bytes included', () => {
    const ring = PacketRing.create({ slots: 8 });
    const p = new PacketRingProducer(ring);
    const c = new PacketRingConsumer(PacketRing.attach(ring.buffer));
    const big = packet(5);
    big.tsSec = 0xfffffff0; // beyond 2^31: stored in an Int32, read back unsigned
    big.origlen = 0x90000000;
    big.streamOffset = 0x1234_5678_9abc;
    expect(p.push(big)).toBe(true);
    p.publish();
    const rec = new Recorder();
    expect(c.drain(rec)).toBe(1);
    expect(rec.packets[0]).toEqual({ seq: 5, caplen: big.caplen, origlen: 0x90000000, tsSec: 0xfffffff0, tsNsec: big.tsNsec, linkType: 276, interfaceId: 2, direction: 2, streamOffset: 0x1234_5678_9abc, bytesOk: true });
  });

  it('wraps around the slots, in order, many times', () => {
    const ring = PacketRing.create({ slots: 4 });
    const p = new PacketRingProducer(ring);
    const c = new PacketRingConsumer(ring);
    const rec = new Recorder();
    let seq = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 3; i++) expect(p.push(packet(seq++))).toBe(true);
      p.publish();
      c.drain(rec);
    }
    expect(rec.packets.map((x) => x.seq)).toEqual([...Array(150).keys()]);
    expect(rec.packets.every((x) => x.bytesOk)).toBe(true);
    expect(ring.lost).toBe(0);
    expect(ring.pushed).toBe(150);
  });

  it('counts every packet it cannot place when full, and overwrites nothing', () => {
    const ring = PacketRing.create({ slots: 4 });
    const p = new PacketRingProducer(ring);
    const c = new PacketRingConsumer(ring);
    const results = [0, 1, 2, 3, 4, 5].map((s) => p.push(packet(s)));
    expect(results).toEqual([true, true, true, true, false, false]);
    expect(p.lost).toBe(2);
    p.publish();
    expect(ring.lost).toBe(2);
    const rec = new Recorder();
    expect(c.drain(rec)).toBe(4);
    expect(rec.packets.map((x) => x.seq)).toEqual([0, 1, 2, 3]);
    expect(rec.packets.every((x) => x.bytesOk)).toBe(true);
    // Room again: the next packets go in after the gap.
    expect(p.push(packet(6))).toBe(true);
    p.publish();
    c.drain(rec);
    expect(rec.packets.map((x) => x.seq)).toEqual([0, 1, 2, 3, 6]);
  });

  it('nothing is visible before publish, and a slot is reused only after the consumer hands it back', () => {
    const ring = PacketRing.create({ slots: 2 });
    const p = new PacketRingProducer(ring);
    const c = new PacketRingConsumer(ring);
    p.push(packet(0));
    p.push(packet(1));
    expect(c.available).toBe(0);
    p.publish();
    expect(c.available).toBe(2);
    // While the sink looks at slot 0, the producer finds the ring full.
    let during: boolean | undefined;
    let bytesAfter = true;
    c.drain(
      {
        onInterface() {},
        onWarning() {},
        onPacket(r) {
          if (during === undefined) {
            during = p.push(packet(2));
            const seq = new DataView(r.data.buffer, r.data.byteOffset).getUint32(r.offset);
            bytesAfter = seq === 0;
          }
        },
      },
      1,
    );
    expect(during).toBe(false);
    expect(bytesAfter).toBe(true);
    expect(p.push(packet(3))).toBe(true);
  });

  it('waitForRoom returns at once when there is room, and false after its timeout when the ring stays full', () => {
    const ring = PacketRing.create({ slots: 2 });
    const p = new PacketRingProducer(ring);
    expect(p.waitForRoom(1000)).toBe(true);
    p.push(packet(0));
    p.push(packet(1));
    const t = Date.now();
    expect(p.waitForRoom(30)).toBe(false);
    expect(Date.now() - t).toBeGreaterThanOrEqual(25);
    // It published while waiting: the consumer sees both packets.
    const c = new PacketRingConsumer(ring);
    expect(c.available).toBe(2);
    // A consumer that gave up: no more waiting at all.
    c.abandon();
    const t2 = Date.now();
    expect(p.waitForRoom(5000)).toBe(false);
    expect(Date.now() - t2).toBeLessThan(1000);
    expect(ring.abandoned).toBe(true);
  });

  it('delivers in bounded batches and reuses one record (no allocation per packet)', () => {
    const ring = PacketRing.create({ slots: 16 });
    const p = new PacketRingProducer(ring);
    const c = new PacketRingConsumer(ring);
    for (let s = 0; s < 10; s++) p.push(packet(s));
    p.publish();
    const rec = new Recorder();
    expect(c.drain(rec, 4)).toBe(4);
    expect(c.drain(rec, 4)).toBe(4);
    expect(c.drain(rec, 4)).toBe(2);
    expect(c.drain(rec, 4)).toBe(0);
    expect(rec.packets.map((x) => x.seq)).toEqual([...Array(10).keys()]);
    expect(rec.records.size).toBe(1);
    expect(c.delivered).toBe(10);
  });

  it('cuts a packet longer than a slot, keeping its original length', () => {
    const ring = PacketRing.create({ slots: 4, slotBytes: 64 });
    const p = new PacketRingProducer(ring);
    const c = new PacketRingConsumer(ring);
    p.push(packet(1, 200));
    p.publish();
    const rec = new Recorder();
    c.drain(rec);
    expect(rec.packets[0]).toMatchObject({ seq: 1, caplen: 64, origlen: 1200, bytesOk: true });
  });

  for (const start of [0x7ffffff0, -16, 0xfffffff0 | 0]) {
    it(`keeps working when the cursors wrap (starting at ${start})`, () => {
      const ring = PacketRing.create({ slots: 8, initialCursor: start });
      const p = new PacketRingProducer(ring);
      const c = new PacketRingConsumer(ring);
      const rec = new Recorder();
      let seq = 0;
      for (let round = 0; round < 20; round++) {
        for (let i = 0; i < 10; i++) p.push(packet(seq++)); // 2 of every 10 do not fit
        p.publish();
        expect(c.available).toBe(8);
        expect(c.drain(rec)).toBe(8);
      }
      expect(rec.packets).toHaveLength(160);
      expect(ring.lost).toBe(40);
      expect(rec.packets.map((x) => x.seq)).toEqual([...Array(200).keys()].filter((s) => s % 10 < 8));
    });
  }

  it('keeps interface descriptions and warnings in their place among packets, even when full', () => {
    const ring = PacketRing.create({ slots: 4 });
    const p = new PacketRingProducer(ring);
    const c = new PacketRingConsumer(ring);
    const rec = new Recorder();
    p.pushInterface({ id: 0, linkType: 276, snapLen: 256, name: 'eth0', description: 'uplink' });
    p.push(packet(0));
    p.push(packet(1));
    p.push(packet(2));
    // Full: the interface waits in the producer; packets behind it are lost, not reordered.
    p.pushInterface({ id: 1, linkType: 1, snapLen: 65535, name: undefined, description: undefined });
    expect(p.push(packet(3))).toBe(false);
    p.publish();
    c.drain(rec);
    expect(p.push(packet(4))).toBe(true); // the waiting interface went first
    p.pushWarning('truncated final record');
    expect(p.close()).toBe(true);
    c.drain(rec);
    expect(c.finished).toBe(true);
    expect(rec.events).toEqual(['iface 0 276 256 eth0 uplink @0', 'iface 1 1 65535 undefined undefined @3', 'warn truncated final record @4']);
    expect(rec.packets.map((x) => x.seq)).toEqual([0, 1, 2, 4]);
    expect(ring.lost).toBe(1);
  });

  it('matches a bounded queue under generated sequences of pushes, publishes and drains', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }).map((k) => 1 << k),
        fc.integer({ min: -40, max: 40 }),
        fc.array(fc.oneof(fc.record({ push: fc.integer({ min: 1, max: 12 }) }), fc.constant({ publish: true }), fc.record({ drain: fc.integer({ min: 1, max: 12 }) })), { maxLength: 80 }),
        (slots, startNearWrap, ops) => {
          const ring = PacketRing.create({ slots, initialCursor: (0x80000000 + startNearWrap) | 0 });
          const p = new PacketRingProducer(ring);
          const c = new PacketRingConsumer(ring);
          const rec = new Recorder();
          // Model: written (unpublished + published) and published counts; the ring holds `slots`.
          const queue: number[] = [];
          let published = 0;
          const expected: number[] = [];
          let lost = 0;
          let seq = 0;
          for (const op of ops) {
            if ('push' in op) {
              for (let i = 0; i < op.push; i++) {
                const s = seq++;
                const fits = queue.length < slots;
                expect(p.push(packet(s))).toBe(fits);
                if (fits) queue.push(s);
                else lost++;
              }
            } else if ('publish' in op) {
              p.publish();
              published = queue.length;
            } else {
              const n = Math.min(op.drain, published);
              expect(c.drain(rec, op.drain)).toBe(n);
              expected.push(...queue.splice(0, n));
              published -= n;
            }
          }
          expect(rec.packets.map((x) => x.seq)).toEqual(expected);
          expect(p.lost).toBe(lost);
        },
      ),
      { numRuns: 300 },
    );
  });
});

/**
 * The producer in a worker thread, built from dist/ (a worker cannot load the TypeScript sources).
 * It runs a schedule of bursts (packets pushed, then published) and pauses; with `wait` it waits
 * for room (waitForRoom: asleep until the consumer frees a slot) instead of dropping, so every
 * packet must arrive.
 */
const PRODUCER = `
const { workerData, parentPort } = require('node:worker_threads');
(async () => {
  const ringMod = await import(workerData.ringUrl);
  const recMod = await import(workerData.recordUrl);
  const ring = ringMod.PacketRing.attach(workerData.buffer);
  const p = new ringMod.PacketRingProducer(ring);
  const r = new recMod.CaptureRecord();
  const chunk = new Uint8Array(65536);
  const view = new DataView(chunk.buffer);
  const nap = new Int32Array(new SharedArrayBuffer(4));
  let seq = 0;
  p.pushInterface({ id: 0, linkType: 276, snapLen: 256, name: 'any', description: undefined });
  for (const [burst, pauseUs] of workerData.schedule) {
    for (let i = 0; i < burst; i++) {
      const off = (seq * 131) % 60000;
      const len = 60 + (seq % 190);
      view.setUint32(off, seq);
      for (let k = 4; k < len; k++) chunk[off + k] = (seq + k) & 0xff;
      r.data = chunk; r.offset = off; r.caplen = len; r.origlen = len;
      r.tsSec = seq; r.tsNsec = 0; r.linkType = 276; r.interfaceId = 0; r.direction = 0; r.streamOffset = seq;
      if (workerData.wait) while (!p.waitForRoom(1000)) {}
      p.push(r);
      seq++;
    }
    p.publish();
    if (pauseUs > 0) Atomics.wait(nap, 0, 0, pauseUs / 1000);
  }
  while (!p.close()) Atomics.wait(nap, 0, 0, 1);
  parentPort.postMessage({ sent: seq, lost: p.lost });
})().catch((e) => { parentPort.postMessage({ error: String(e && e.stack || e) }); });
`;

interface ProducerReport {
  sent: number;
  lost: number;
}

async function runWorkerProducer(opts: { slots: number; schedule: [number, number][]; wait: boolean; consumerBatches: number[]; consumerPausesMs: number[] }): Promise<{ rec: Recorder; report: ProducerReport; ring: PacketRing }> {
  const ring = PacketRing.create({ slots: opts.slots });
  const worker = new Worker(PRODUCER, {
    eval: true,
    workerData: {
      buffer: ring.buffer,
      schedule: opts.schedule,
      wait: opts.wait,
      ringUrl: pathToFileURL(join(ROOT, 'dist/agent/capture/packet-ring.js')).href,
      recordUrl: pathToFileURL(join(ROOT, 'dist/agent/capture/capture-record.js')).href,
    },
  });
  let failed: Error | undefined;
  const reported = new Promise<ProducerReport>((res, rej) => {
    const fail = (e: Error): void => {
      failed = e;
      rej(e);
    };
    worker.once('message', (m: ProducerReport & { error?: string }) => (m.error ? fail(new Error(m.error)) : res(m)));
    worker.once('error', fail);
  });
  reported.catch(() => {}); // surfaced by the loop below
  const c = new PacketRingConsumer(ring);
  const rec = new Recorder();
  let turn = 0;
  const deadline = Date.now() + 30_000;
  while (!c.finished) {
    if (failed) {
      await worker.terminate();
      throw new Error(`the producer failed: ${failed.message}`);
    }
    if (Date.now() > deadline) {
      await worker.terminate();
      throw new Error(`consumer stuck: ${rec.packets.length} packets delivered`);
    }
    const batch = opts.consumerBatches[turn % opts.consumerBatches.length] as number;
    const pause = opts.consumerPausesMs[turn % opts.consumerPausesMs.length] as number;
    turn++;
    if (c.drain(rec, batch) === 0) await c.waitForData(100);
    else if (pause > 0) await new Promise((r) => setTimeout(r, pause));
  }
  const report = await reported;
  await worker.terminate();
  return { rec, report, ring };
}

describe('PacketRing across threads', () => {
  beforeAll(() => ensureBuilt(), 180_000);

  it('a worker producer that waits for room delivers every packet exactly once, in order (generated schedules)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(8, 64, 1024),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 3000 }), fc.constantFrom(0, 0, 50, 500, 3000)), { minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.constantFrom(0, 0, 0, 1, 5), { minLength: 1, maxLength: 4 }),
        async (slots, schedule, consumerBatches, consumerPausesMs) => {
          const { rec, report, ring } = await runWorkerProducer({ slots, schedule, wait: true, consumerBatches, consumerPausesMs });
          const total = schedule.reduce((a, [b]) => a + b, 0);
          expect(report).toEqual({ sent: total, lost: 0 });
          expect(rec.packets).toHaveLength(total);
          for (let i = 0; i < total; i++) {
            const x = rec.packets[i] as Seen;
            if (x.seq !== i || !x.bytesOk || x.streamOffset !== i) throw new Error(`packet ${i}: got ${JSON.stringify(x)}`);
          }
          expect(rec.events).toEqual(['iface 0 276 256 any undefined @0']);
          expect(ring.lost).toBe(0);
        },
      ),
      { numRuns: 12 },
    );
  }, 120_000);

  it('a worker producer that drops when full: what arrives is in order, never twice, and arrived + lost = sent', async () => {
    const schedule: [number, number][] = Array.from({ length: 40 }, (_, i) => [i % 2 === 0 ? 5000 : 200, i % 5 === 0 ? 2000 : 0]);
    const { rec, report, ring } = await runWorkerProducer({ slots: 256, schedule, wait: false, consumerBatches: [64, 300], consumerPausesMs: [0, 2] });
    expect(report.lost).toBeGreaterThan(0); // the consumer's pauses overflow a 256-slot ring
    expect(ring.lost).toBe(report.lost);
    expect(rec.packets.length + report.lost).toBe(report.sent);
    let prev = -1;
    for (const x of rec.packets) {
      if (!(x.seq > prev) || !x.bytesOk) throw new Error(`out of order or torn: ${JSON.stringify(x)} after ${prev}`);
      prev = x.seq;
    }
  }, 60_000);
});
