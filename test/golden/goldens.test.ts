/**
 * Goldens for the judgement core (issue 12): for each set under test/golden/ (real lab captures of
 * the three-node story over both overlays, the same node as `-i any` and as a dumpcap pcapng, and
 * public fixtures with tunnels), the replay's findings per node and its drop events must be exactly
 * the reviewed files beside them. They pin behaviour byte for byte before a rewrite: the native
 * engine of issue 14 has to reproduce them. Regenerate only on purpose: `npm run golden:update`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readGoldenManifest, replayGoldenSet } from '../../modes/replay/golden-set.js';

const here = new URL('.', import.meta.url).pathname;
const sets = readdirSync(here, { withFileTypes: true })
  .filter((e) => e.isDirectory() && existsSync(join(here, e.name, 'set.json')))
  .map((e) => e.name)
  .sort();

describe('golden sets', () => {
  it('are there, each with its expected findings and drops', () => {
    expect(sets.length).toBeGreaterThanOrEqual(10);
    for (const name of sets) {
      for (const f of ['findings.json', 'drops.json']) expect(existsSync(join(here, name, f)), `${name}/${f} (npm run golden:update)`).toBe(true);
    }
  });

  for (const name of sets) {
    it(`${name}: ${readGoldenManifest(join(here, name)).about.split(':')[0]}`, async () => {
      const out = await replayGoldenSet(join(here, name));
      const hint = `test/golden/${name} differs from the replay; if the change is meant, review it and run npm run golden:update`;
      expect(out.findings, hint).toBe(readFileSync(join(here, name, 'findings.json'), 'utf8'));
      expect(out.drops, hint).toBe(readFileSync(join(here, name, 'drops.json'), 'utf8'));
    });
  }
});
