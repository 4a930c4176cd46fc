/**
 * A golden set: capture files and a manifest (`set.json`: `inputs` as `[NODE:][IFACE=]PATH` with
 * paths relative to the set's folder, optional `ifnames` as `IDX=NAME`), replayed into what the
 * goldens pin: every node's findings (the seam's data, tunnel hops included) and the drop events
 * with their paths, as JSON text. The golden tests (test/golden) compare against the files
 * `findings.json` and `drops.json` beside the manifest; `npm run golden:update` writes them, to be
 * reviewed in the diff. A rewrite of the engine (issue 14's native one) must reproduce them exactly.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { parseReplayInputSpec } from './replay-input.js';
import { runReplay } from './replay-runner.js';

export interface GoldenManifest {
  readonly about: string;
  readonly inputs: readonly string[];
  readonly ifnames?: readonly string[];
}

export interface GoldenOutput {
  readonly findings: string;
  readonly drops: string;
}

export function readGoldenManifest(dir: string): GoldenManifest {
  const m = JSON.parse(readFileSync(join(dir, 'set.json'), 'utf8')) as Partial<GoldenManifest>;
  if (typeof m.about !== 'string' || !Array.isArray(m.inputs) || m.inputs.length === 0) throw new Error(`${dir}/set.json: needs "about" and a non-empty "inputs"`);
  return { about: m.about, inputs: m.inputs, ...(m.ifnames ? { ifnames: m.ifnames } : {}) };
}

export async function replayGoldenSet(dir: string): Promise<GoldenOutput> {
  const manifest = readGoldenManifest(dir);
  const inputs = manifest.inputs.map((text) => {
    const spec = parseReplayInputSpec(text);
    return { ...spec, path: isAbsolute(spec.path) ? spec.path : join(dir, spec.path) };
  });
  const ifnames = new Map((manifest.ifnames ?? []).map((s) => [Number(s.slice(0, s.indexOf('='))), s.slice(s.indexOf('=') + 1)] as const));
  const r = await runReplay({ inputs, ifnames, keepTunnelHops: true });
  return { findings: goldenJson(r.findings), drops: goldenJson(r.drops) };
}

/** JSON as the goldens hold it: two-space indent, bytes as hex, a newline at the end. */
export function goldenJson(value: unknown): string {
  return `${JSON.stringify(value, (_key, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v), 2)}\n`;
}
