/**
 * Measures the packet fingerprint's collision rate on a capture: two sightings with the same
 * fingerprint within the correlation window whose innermost addresses, protocol or ports differ are
 * certainly different packets (the benchmark capture has no NAT), so each such pair is a collision.
 *
 *   node dist/bench/fingerprint-collisions.js FILE [--window MS]
 */
import { readCaptureFile } from '../agent/capture/capture-input.js';
import type { CaptureRecord } from '../agent/capture/capture-record.js';
import type { NativePacketView } from '../agent/native/engine-native.js';
import { nativeAddon } from '../agent/native/native-addon.js';

export interface CollisionReport {
  readonly sightings: number;
  /** Sightings whose fingerprint read all it needs (not cut by the snap length). */
  readonly strongSightings: number;
  /** Distinct fingerprints seen (each is one packet, or a collision). */
  readonly fingerprints: number;
  /** Sightings that met a different packet (another 5-tuple) under the same fingerprint in the window. */
  readonly collisions: number;
  readonly collisionRate: number;
  readonly windowMs: number;
}

function tupleHash(v: NativePacketView): number {
  let h = 0x811c9dc5 ^ v.proto;
  for (let k = 0; k < 4; k++) {
    h = Math.imul(h ^ (v.src[k] as number), 0x01000193);
    h = Math.imul(h ^ (v.dst[k] as number), 0x01000193);
  }
  return (Math.imul(h ^ ((v.sport << 16) | v.dport), 0x01000193) >>> 0) + v.ipVersion * 4294967296;
}

export async function measureFingerprintCollisions(path: string, windowMs = 250): Promise<CollisionReport> {
  // The engine's own decoder and fingerprint, a packet at a time (a measurement, not a hot path).
  const engine = nativeAddon();
  const decoder = engine.createDecoder();
  const lastSeen = new Map<number, { tuple: number; ts: number }>();
  let sightings = 0;
  let strong = 0;
  let collisions = 0;
  let lastPrune = 0;
  await readCaptureFile(path, {
    onInterface() {},
    onWarning() {},
    onPacket(r: CaptureRecord) {
      const decoded = engine.decodeForTest(decoder, r.data, r.offset, r.caplen, r.linkType);
      const view = decoded.view;
      if (view.ipVersion === 0) return;
      sightings++;
      if (decoded.weak) return;
      strong++;
      const fp = decoded.fingerprint;
      const ts = r.tsSec * 1000 + r.tsNsec / 1e6;
      const tuple = tupleHash(view);
      const prev = lastSeen.get(fp);
      if (prev && ts - prev.ts <= windowMs && prev.tuple !== tuple) collisions++;
      lastSeen.set(fp, { tuple, ts });
      if (ts - lastPrune > windowMs * 4) {
        for (const [k, e] of lastSeen) if (ts - e.ts > windowMs) lastSeen.delete(k);
        lastPrune = ts;
      }
    },
  });
  return { sightings, strongSightings: strong, fingerprints: lastSeen.size, collisions, collisionRate: strong > 0 ? collisions / strong : 0, windowMs };
}

const invokedDirectly = process.argv[1]?.endsWith('fingerprint-collisions.js') === true;
if (invokedDirectly) {
  const file = process.argv[2];
  const w = process.argv.indexOf('--window');
  if (!file) {
    process.stderr.write('usage: fingerprint-collisions FILE [--window MS]\n');
    process.exitCode = 2;
  } else {
    measureFingerprintCollisions(file, w > 0 ? Number(process.argv[w + 1]) : 250).then(
      (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
      (e: unknown) => {
        process.stderr.write(`fingerprint-collisions: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exitCode = 2;
      },
    );
  }
}
