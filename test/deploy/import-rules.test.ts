/**
 * Which folder may import which (README, Architecture): the judgement core imports nothing of the
 * services, the wire contract nothing of anyone, the agent never the collector or a mode (so its
 * image ships without chDB: the Dockerfile test checks the image itself), the collector never a
 * mode. Read from the sources' import statements, static and dynamic.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const FOLDERS = ['core', 'schemas', 'agent', 'collector', 'modes', 'cli', 'lab', 'bench'] as const;
type Folder = (typeof FOLDERS)[number];

/** What each folder must never import (the project's own folders; npm packages are checked apart). */
const FORBIDDEN: Readonly<Record<Folder, readonly Folder[]>> = {
  core: ['schemas', 'agent', 'collector', 'modes', 'cli', 'lab', 'bench'],
  schemas: ['core', 'agent', 'collector', 'modes', 'cli', 'lab', 'bench'],
  agent: ['collector', 'modes', 'cli', 'lab', 'bench'],
  collector: ['modes', 'cli', 'lab', 'bench'],
  modes: ['cli', 'bench'],
  cli: ['bench'],
  lab: ['collector', 'modes', 'cli', 'bench'],
  bench: [],
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** The project folder a relative import in `file` lands in, or the bare package name. */
function imports(file: string): { target: string; relativeImport: boolean }[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:^|\s)(?:import|export)\s[^'"]*?from\s*'([^']+)'|import\(\s*'([^']+)'\s*\)/gm)].map((m) => (m[1] ?? m[2]) as string);
  return specs.map((spec) => {
    if (!spec.startsWith('.')) return { target: spec, relativeImport: false };
    const landed = relative(ROOT, resolve(dirname(file), spec));
    return { target: landed.split('/')[0] as string, relativeImport: true };
  });
}

describe('import rules', () => {
  for (const folder of FOLDERS) {
    it(`${folder}/ imports none of: ${FORBIDDEN[folder].join(', ') || '(anything goes)'}`, () => {
      const bad: string[] = [];
      for (const file of sources(join(ROOT, folder))) {
        for (const i of imports(file)) if (i.relativeImport && (FORBIDDEN[folder] as readonly string[]).includes(i.target)) bad.push(`${relative(ROOT, file)} -> ${i.target}/`);
      }
      expect(bad).toEqual([]);
    });
  }

  it('the judgement core uses no npm package: it runs wherever the engine does', () => {
    const bad = sources(join(ROOT, 'core')).flatMap((file) => imports(file).filter((i) => !i.relativeImport && !i.target.startsWith('node:')).map((i) => `${relative(ROOT, file)} -> ${i.target}`));
    expect(bad).toEqual([]);
  });

  it('the rules see real imports (the agent imports core and schemas)', () => {
    const targets = new Set(sources(join(ROOT, 'agent')).flatMap((f) => imports(f).filter((i) => i.relativeImport).map((i) => i.target)));
    expect(targets).toContain('core');
    expect(targets).toContain('schemas');
  });
});
