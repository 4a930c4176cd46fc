/**
 * Shared by the native engine's tests: the capture fixtures' records (read with the TypeScript
 * capture readers), and the engine's decoder exports.
 */
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCaptureFile } from '../../agent/capture/capture-input.js';
import type { CaptureRecord } from '../../agent/capture/capture-record.js';

/** The engine's decoder exports (defined with the decoder's test binding). */
export { engine } from '../support/engine-decoder.js';

export const FIXTURES_ROOT = fileURLToPath(new URL('../fixtures/', import.meta.url));

/** Relative paths (to test/fixtures) of every pcap and pcapng there, sorted. */
export function listCaptureFixtures(dir = FIXTURES_ROOT): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listCaptureFixtures(p));
    else if (/\.pcap(ng)?$/.test(e.name)) out.push(relative(FIXTURES_ROOT, p));
  }
  return out.sort();
}

/**
 * Reads a fixture with the TypeScript readers, calling onRecord for every record while its bytes
 * are valid. A file the readers refuse part-way still gives the records before that point; the
 * error comes back as text.
 */
export async function forEachRecord(rel: string, onRecord: (r: CaptureRecord) => void): Promise<string | undefined> {
  try {
    await readCaptureFile(join(FIXTURES_ROOT, rel), { onInterface() {}, onWarning() {}, onPacket: onRecord });
    return undefined;
  } catch (e) {
    return String(e);
  }
}

export interface RecordCopy {
  readonly linkType: number;
  readonly bytes: Uint8Array;
}

/** Copies of every record of every fixture (the seeds of mutation and fuzzing). */
export async function allFixtureRecords(): Promise<RecordCopy[]> {
  const out: RecordCopy[] = [];
  for (const rel of listCaptureFixtures()) {
    await forEachRecord(rel, (r) => out.push({ linkType: r.linkType, bytes: r.data.slice(r.offset, r.offset + r.caplen) }));
  }
  return out;
}
