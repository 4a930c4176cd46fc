/**
 * The native packet engine (binding.gyp, native/): loaded once, on first use, from the build that
 * `npm ci` made (scripts/build-native.mjs). Everything that runs per packet lives there; this module
 * only gives its functions their TypeScript types, and says in one line what to do when it is missing.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { NativeDropMonitorExports } from './drop-monitor-native.js';
import type { NativeEngineExports } from './engine-native.js';
import type { NativeLiveCaptureExports } from './live-capture-native.js';
import type { NativePipelineExports } from './pipeline-native.js';

/** The libraries the addon runs with. */
export interface NativeVersions {
  readonly libpcap: string;
  readonly zlib: string;
}

/** The addon's functions, as their TypeScript callers see them (each concern declares its own). */
export interface NativeAddon extends NativeEngineExports, NativePipelineExports, NativeLiveCaptureExports, NativeDropMonitorExports {
  versions(): NativeVersions;
}

/** The repository (or installed package) root: two levels above this file, in agent/native or dist/agent/native. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'binding.gyp'))) return dir;
    dir = dirname(dir);
  }
  return dir;
}

export class NativeAddonMissingError extends Error {}

let loaded: NativeAddon | undefined;

/** The addon; throws NativeAddonMissingError (one line, with the fix) when it was not built. */
export function nativeAddon(): NativeAddon {
  if (loaded) return loaded;
  const root = packageRoot();
  const path = join(root, 'build', 'Release', 'pathwatch_native.node');
  if (!existsSync(path)) throw new NativeAddonMissingError(`the native packet engine is not built (${path} is missing): run npm ci, or node scripts/build-native.mjs`);
  loaded = createRequire(import.meta.url)(path) as NativeAddon;
  return loaded;
}
