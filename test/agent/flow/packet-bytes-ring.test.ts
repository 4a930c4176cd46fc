import { describe, expect, it } from 'vitest';
import { PacketBytesRing } from '../../../agent/flow/packet-bytes-ring.js';
import { InterfaceRegistry } from '../../../agent/flow/interface-registry.js';
import { SightingPipeline, type CaptureBinding } from '../../../agent/flow/sighting-pipeline.js';
import { CaptureRecord } from '../../../agent/capture/capture-record.js';
import { ethernet, icmpEcho, ipv4 } from '../../support/packet-builder.js';

describe('PacketBytesRing', () => {
  it('keeps the first slotBytes of each packet with its length and link type', () => {
    const ring = new PacketBytesRing({ slots: 4, slotBytes: 8 });
    const data = Uint8Array.from({ length: 20 }, (_, i) => i);
    const a = ring.put(data, 2, 10, 1500, 1);
    const b = ring.put(data, 0, 3, 3, 101);
    expect(ring.get(a)).toEqual({ bytes: Uint8Array.from([2, 3, 4, 5, 6, 7, 8, 9]), origLen: 1500, linkType: 1 });
    expect(ring.get(b)).toEqual({ bytes: Uint8Array.from([0, 1, 2]), origLen: 3, linkType: 101 });
  });

  it('reports an overwritten or never-written packet as gone, and counts it', () => {
    const ring = new PacketBytesRing({ slots: 3, slotBytes: 4 }); // rounded up to 4 slots
    const data = new Uint8Array(4);
    const seqs: number[] = [];
    for (let i = 0; i < 6; i++) {
      data[0] = i;
      seqs.push(ring.put(data, 0, 4, 4, 1));
    }
    expect(ring.get(seqs[0]!)).toBeUndefined();
    expect(ring.get(seqs[1]!)).toBeUndefined();
    expect(ring.get(seqs[2]!)?.bytes[0]).toBe(2);
    expect(ring.get(seqs[5]!)?.bytes[0]).toBe(5);
    expect(ring.get(seqs[5]! + 1)).toBeUndefined();
    expect(ring.get(-1)).toBeUndefined();
    expect(ring.overwritten).toBe(3);
  });

  it('keeps working when the sequence number wraps', () => {
    const ring = new PacketBytesRing({ slots: 2, slotBytes: 1 });
    (ring as unknown as { next: number }).next = 0x7fffffff;
    const data = new Uint8Array([7]);
    const last = ring.put(data, 0, 1, 1, 1);
    const first = ring.put(data, 0, 1, 1, 1);
    expect(last).toBe(0x7fffffff);
    expect(first).toBe(0);
    expect(ring.get(last)?.bytes).toEqual(Uint8Array.from([7]));
    expect(ring.get(first)?.bytes).toEqual(Uint8Array.from([7]));
  });
});

describe('vanish candidates carry a packet as captured', () => {
  function run(packetBytes: boolean) {
    const registry = new InterfaceRegistry();
    const pipeline = new SightingPipeline(registry, packetBytes ? { packetBytes: { slots: 16, slotBytes: 64 } } : {});
    const node = registry.node('n1');
    node.coversAllInterfaces = true;
    const eth0 = registry.interface('n1', 'eth0').id;
    const binding: CaptureBinding = { node: 'n1', ifaceByCaptureInterface: [eth0], ifnameByIndex: new Map(), ifaceByIfindex: new Int32Array(0) };
    const frame = ethernet({ src: [2, 0, 0, 0, 0, 1], dst: [2, 0, 0, 0, 0, 2] }, ipv4({ src: '100.64.0.1', dst: '10.91.1.130', proto: 1, ttl: 63 }, icmpEcho({ id: 7, seq: 1 }, new Uint8Array(56))));
    const record = new CaptureRecord();
    record.data = frame;
    record.caplen = frame.length;
    record.origlen = frame.length;
    record.linkType = 1;
    record.direction = 1;
    record.tsSec = 1_700_000_000;
    pipeline.onRecord(record, binding);
    pipeline.finish(1_700_000_010_000);
    return { frame, vanished: pipeline.matcher(node.index).takeFindings(1_700_000_010_000).candidates };
  }

  it('copies the arrival of the first packet when the pipeline keeps bytes', () => {
    const { frame, vanished } = run(true);
    expect(vanished).toHaveLength(1);
    expect(vanished[0]!.sample).toEqual({ bytes: frame.slice(0, 64), origLen: frame.length, linkType: 1, ts: 1_700_000_000_000 });
  });

  it('keeps none by default', () => {
    expect(run(false).vanished[0]!.sample).toBeUndefined();
  });
});
