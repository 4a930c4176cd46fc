#!/usr/bin/env node
// Regenerates the goldens under test/golden/ (findings.json, drops.json beside each set.json) from
// the built replay. Only run it on purpose, after a change meant to alter them, and review the diff:
// the golden tests exist to catch every difference nobody meant.
//   npm run golden:update [-- SET...]
import { readdirSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const { replayGoldenSet } = await import(join(root, 'dist/modes/replay/golden-set.js'));
const goldenDir = join(root, 'test/golden');
const only = process.argv.slice(2);
const sets = readdirSync(goldenDir, { withFileTypes: true })
  .filter((e) => e.isDirectory() && existsSync(join(goldenDir, e.name, 'set.json')) && (only.length === 0 || only.includes(e.name)))
  .map((e) => e.name)
  .sort();
for (const name of sets) {
  const dir = join(goldenDir, name);
  const out = await replayGoldenSet(dir);
  writeFileSync(join(dir, 'findings.json'), out.findings);
  writeFileSync(join(dir, 'drops.json'), out.drops);
  process.stdout.write(`${name}: findings.json ${out.findings.length} bytes, drops.json ${out.drops.length} bytes\n`);
}
