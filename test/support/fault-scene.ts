/**
 * The stage every lab fault test (test/faults) stands on: a temporary directory, the story's
 * topology in network namespaces of its own prefix (stale ones from a crashed run cleared first),
 * and a ChildSet. faultScene() registers the set-up and the tear-down in the calling describe, so
 * that each test states only what it adds: what runs before the topology is built, and what must be
 * undone before it is destroyed (a mount, a ClickHouse server).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { buildStoryTopology, cleanupStaleLabNamespaces, type StoryTopology } from '../../lab/topology.js';
import { ensureBuilt } from './built-cli.js';
import { ChildSet, killLeftoversInNodes } from './fault-lab.js';

export interface FaultSceneOptions {
  /** Namespace prefix, unique per test file (tests run in parallel). */
  readonly prefix: string;
  readonly overlay: 'ipip' | 'vxlan';
  /** Start of the temporary directory's name. */
  readonly tmpName: string;
  /** Runs once the directory exists and the CLI is built, before the topology. */
  readonly setUp?: (dir: string) => Promise<void> | void;
  /** Runs after every child was stopped, before the topology is destroyed. */
  readonly beforeDestroy?: () => Promise<void> | void;
}

export interface FaultScene {
  /** The topology, once beforeAll has built it. */
  readonly topo: StoryTopology;
  /** The temporary directory, removed after all. */
  readonly dir: string;
  readonly children: ChildSet;
}

export function faultScene(o: FaultSceneOptions): FaultScene {
  let topo: StoryTopology | undefined;
  let dir = '';
  const children = new ChildSet();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `${o.tmpName}-`));
    ensureBuilt();
    await o.setUp?.(dir);
    await cleanupStaleLabNamespaces(o.prefix, { olderThanMs: 10 * 60_000 });
    topo = await buildStoryTopology({ overlay: o.overlay, prefix: o.prefix });
  }, 120_000);

  afterAll(async () => {
    await children.killAll();
    await killLeftoversInNodes(topo);
    await o.beforeDestroy?.();
    await topo?.destroy();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  return {
    get topo(): StoryTopology {
      if (topo === undefined) throw new Error('the fault scene has no topology: beforeAll did not build it');
      return topo;
    },
    get dir(): string {
      return dir;
    },
    children,
  };
}
