/**
 * A lab scenario: one way a packet vanishes on the node that hosts the asymmetric pod (n2), made
 * the only cause there, and the remedy that ends it. The story's topology is the same for every
 * scenario (the gateway sends the pod's traffic through the wrong node and across the tunnel); a
 * scenario only changes n2 after the topology is built and before anything watches it.
 */
import type { NodeRole, StoryTopology } from '../topology.js';

export const SCENARIO_NAMES = ['rp-filter', 'calico-rpf', 'policy', 'forwarding-off', 'blackhole'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export interface LabScenario {
  readonly name: ScenarioName;
  /** The verdict (CONTRACT.md) pathwatch owes for this fault: at n2, on the tunnel the packets arrive by. */
  readonly expectedVerdict: string;
  /** Commands beyond the lab's own tools (iproute2, sysctl, python3) that inject and fix need. */
  readonly tools: readonly string[];
  /** The fault at n2 in a few words, for the report's header (`strict rp_filter`). */
  describe(topology: StoryTopology): string;
  /** Puts the fault (and only it) on n2. */
  inject(topology: StoryTopology): Promise<void>;
  /** Applies the scenario's own remedy and says what it ran. */
  fix(topology: StoryTopology): Promise<ScenarioRemedy>;
}

export interface ScenarioRemedy {
  readonly node: NodeRole;
  /** The namespace it ran in. */
  readonly ns: string;
  /** What was run, as one would type it on the node. */
  readonly commands: readonly string[];
  /** The value the remedy replaced, when there is one worth saying (`1` for a sysctl). */
  readonly was?: string;
}

/** argv as one would type it in a shell: words with other characters than these are quoted. */
export function shellLine(argv: readonly string[]): string {
  return argv.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}
