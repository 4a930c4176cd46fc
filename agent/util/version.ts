/** pathwatch's version, from package.json (two levels above this module in both agent/ and dist/agent/). */
import { readFileSync } from 'node:fs';

function readVersion(): string {
  for (const path of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'pathwatch' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not at this depth
    }
  }
  return 'unknown';
}

export const PATHWATCH_VERSION = readVersion();
