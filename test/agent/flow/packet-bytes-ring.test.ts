/**
 * The engine's ring of recent packets' first bytes (native/engine/packet_bytes_ring.c, through the
 * addon's createPacketBytesRing/packetBytes* exports), and what it is for: a vanish candidate of the
 * native pipeline carries one packet as captured when the pipeline keeps bytes. These were the
 * TypeScript PacketBytesRing's and SightingPipeline's tests; the engine replaced both.
 */
import { describe, expect, it } from 'vitest';
import { CaptureRecord } from '../../../agent/capture/capture-record.js';
import { InterfaceRegistry } from '../../../agent/flow/interface-registry.js';
import { nativeAddon } from '../../../agent/native/native-addon.js';
import { NativeSightingPipeline } from '../../../agent/native/native-sighting-pipeline.js';
import type { CaptureBinding } from '../../../agent/native/pipeline-config.js';
import type { NativePacketBytes, NativePacketBytesRing, NativePipelineExports } from '../../../agent/native/pipeline-native.js';
import { ethernet, icmpEcho, ipv4 } from '../../support/packet-builder.js';

const addon = (): NativePipelineExports => nativeAddon();

/** The ring's answer with its bytes as a plain Uint8Array (the addon hands out a Buffer copy). */
function get(ring: NativePacketBytesRing, seq: number): NativePacketBytes | undefined {
  const got = addon().packetBytesGet(ring, seq);
  return got === undefined ? undefined : { bytes: Uint8Array.from(got.bytes), origLen: got.origLen, linkType: got.linkType };
}

describe('packet bytes ring', () => {
  it('keeps the first slotBytes of each packet with its length and link type', () => {
    const ring = addon().createPacketBytesRing(4, 8);
    const data = Uint8Array.from({ length: 20 }, (_, i) => i);
    const a = addon().packetBytesPut(ring, data, 2, 10, 1500, 1);
    const b = addon().packetBytesPut(ring, data, 0, 3, 3, 101);
    expect(get(ring, a)).toEqual({ bytes: Uint8Array.from([2, 3, 4, 5, 6, 7, 8, 9]), origLen: 1500, linkType: 1 });
    expect(get(ring, b)).toEqual({ bytes: Uint8Array.from([0, 1, 2]), origLen: 3, linkType: 101 });
  });

  it('reports an overwritten or never-written packet as gone, and counts it', () => {
    const ring = addon().createPacketBytesRing(3, 4); // rounded up to 4 slots
    const data = new Uint8Array(4);
    const seqs: number[] = [];
    for (let i = 0; i < 6; i++) {
      data[0] = i;
      seqs.push(addon().packetBytesPut(ring, data, 0, 4, 4, 1));
    }
    expect(get(ring, seqs[0]!)).toBeUndefined();
    expect(get(ring, seqs[1]!)).toBeUndefined();
    expect(get(ring, seqs[2]!)?.bytes[0]).toBe(2);
    expect(get(ring, seqs[5]!)?.bytes[0]).toBe(5);
    expect(get(ring, seqs[5]! + 1)).toBeUndefined();
    expect(get(ring, -1)).toBeUndefined();
    expect(addon().packetBytesOverwritten(ring)).toBe(3);
  });

  // The TypeScript ring's wrap test set its next sequence number to 2^31 - 1 and read both packets
  // around the wrap. The engine's ring has no such setter, and 2^31 puts through the binding take
  // about ten minutes, so the wrap itself is out of reach here. What is reachable: the sequence
  // space is 31 bits and ages are taken modulo 2^31, so a number from the far side of the wrap is
  // gone, not read from the slot it shares with a live packet.
  it('numbers packets from 0 and reports a sequence number from the far side of the wrap as gone', () => {
    const ring = addon().createPacketBytesRing(2, 1);
    const data = new Uint8Array([7]);
    const first = addon().packetBytesPut(ring, data, 0, 1, 1, 1);
    const second = addon().packetBytesPut(ring, data, 0, 1, 1, 1);
    expect([first, second]).toEqual([0, 1]);
    // 0x7fffffff shares slot 1 with `second`, 0x7ffffffe slot 0 with `first`.
    expect(get(ring, 0x7fffffff)).toBeUndefined();
    expect(get(ring, 0x7ffffffe)).toBeUndefined();
    expect(get(ring, first)?.bytes).toEqual(Uint8Array.from([7]));
    expect(get(ring, second)?.bytes).toEqual(Uint8Array.from([7]));
  });
});

describe('vanish candidates carry a packet as captured', () => {
  function run(packetBytes: boolean) {
    const registry = new InterfaceRegistry();
    const pipeline = new NativeSightingPipeline(registry, packetBytes ? { packetBytes: { slots: 16, slotBytes: 64 } } : {});
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
