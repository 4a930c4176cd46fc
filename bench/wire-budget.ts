/**
 * What healthy traffic costs on the wire: the benchmark capture replayed through the agent's
 * pipeline, its flow records encoded as the agent ships them (protobuf batches, one per 10 s flow
 * interval), bytes per second of capture time, scaled to 100k packets/s.
 *
 *   node dist/bench/wire-budget.js FILE --ifname IDX=NAME...
 */
import { readCaptureFile } from '../agent/capture/capture-input.js';
import type { CaptureInterface, CaptureRecord } from '../agent/capture/capture-record.js';
import type { FlowRecord } from '../core/findings/flow-record.js';
import { InterfaceRegistry } from '../agent/flow/interface-registry.js';
import { NativeSightingPipeline } from '../agent/native/native-sighting-pipeline.js';
import type { CaptureBinding } from '../agent/native/pipeline-config.js';
import { wireFlow } from '../agent/ship/batch-builder.js';
import { wireBatch } from '../schemas/wire-batch.js';
import { encodeBatch } from '../schemas/wire-codec.js';
import { gzipSync } from 'node:zlib';

const FLOW_INTERVAL_MS = 10_000;

async function main(argv: string[]): Promise<void> {
  const file = argv[0];
  if (!file) throw new Error('usage: wire-budget FILE [--ifname IDX=NAME]...');
  const ifnames = new Map<number, string>();
  for (let i = 1; i < argv.length; i++) {
    if (argv[i] === '--ifname') {
      const [idx, name] = (argv[++i] ?? '').split('=');
      ifnames.set(Number(idx), name ?? '');
    }
  }
  const registry = new InterfaceRegistry();
  const pipeline = new NativeSightingPipeline(registry);
  const binding: CaptureBinding = { node: 'bench', ifaceByCaptureInterface: [], ifnameByIndex: ifnames, ifaceByIfindex: new Int32Array(0) };
  let first = Infinity;
  let last = -Infinity;
  let packets = 0;
  let bytes = 0;
  let records = 0;
  let gzipped = 0;
  let lastFlush = -Infinity;
  let sequence = 0;
  const ship = (flows: FlowRecord[]): void => {
    if (flows.length === 0) return;
    records += flows.length;
    const encoded = encodeBatch(wireBatch({ agent_id: 'bench', boot_id: 'b', sequence: ++sequence, node: 'bench', sent_at_ms: 0 }, { flows: flows.map(wireFlow) }));
    bytes += encoded.length;
    gzipped += gzipSync(encoded).length;
  };
  await readCaptureFile(file, {
    onInterface(ci: CaptureInterface) {
      binding.ifaceByCaptureInterface[ci.id] = -1;
    },
    onWarning() {},
    onPacket(r: CaptureRecord) {
      packets++;
      pipeline.onRecord(r, binding);
      const ts = r.tsSec * 1000 + r.tsNsec / 1e6;
      first = Math.min(first, ts);
      last = Math.max(last, ts);
      if (lastFlush === -Infinity) lastFlush = ts;
      if (ts - lastFlush >= FLOW_INTERVAL_MS) {
        const flows: FlowRecord[] = [];
        pipeline.flushFlows((f) => flows.push(f));
        ship(flows);
        lastFlush = ts;
      }
    },
  });
  const flows: FlowRecord[] = [];
  pipeline.finish(last, (f) => flows.push(f));
  ship(flows);
  // Per second of capture time: a capture shorter than the interval is charged as if every
  // interval had the same flow churn (conservative for short captures of long flows).
  const seconds = (last - first) / 1000;
  const pps = packets / seconds;
  const scale = 100_000 / pps;
  process.stdout.write(
    `${packets} packets over ${seconds.toFixed(2)} s (${Math.round(pps)} packets/s), ${records} flow records (${(packets / records).toFixed(1)} packets each) in ${sequence} batches\n` +
      `protobuf ${bytes} bytes (${(bytes / records).toFixed(1)} per record), gzip ${gzipped} bytes\n` +
      `at 100k packets/s of this mix: ${Math.round((bytes / seconds) * scale)} B/s as protobuf, ${Math.round((gzipped / seconds) * scale)} B/s gzip-compressed\n`,
  );
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`wire-budget: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 2;
});
