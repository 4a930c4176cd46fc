/**
 * A lab scenario: one way the asymmetric pod's packets vanish, made the only cause, and the remedy
 * that ends it. The story's topology is the same for every scenario (the gateway sends the pod's
 * traffic through the wrong node n1 and across the tunnel to n2; the pod's own traffic leaves n2
 * straight by eth0); a scenario only changes the lab after the topology is built and before
 * anything watches it. Most faults are on the pod's node n2, and drop there on the tunnel the
 * packets arrive by; some are on n1, the wrong node, which sees only the client's half of the
 * asymmetric flow, and drop there on its uplink (dropsAt says which).
 */
import type { ProbeOptions } from '../traffic.js';
import type { LabNsRole, StoryTopology } from '../topology.js';

export const SCENARIO_NAMES = ['rp-filter', 'calico-rpf', 'policy', 'conntrack-invalid', 'forwarding-off', 'mtu', 'blackhole', 'neighbour'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

/** Where a scenario's fault drops the story's packets: the node, and the interface they arrive by. */
export interface DropSite {
  readonly node: 'n1' | 'n2';
  readonly iface: string;
}

export interface LabScenario {
  readonly name: ScenarioName;
  /** The verdict (CONTRACT.md) pathwatch owes for this fault, at dropsAt. */
  readonly expectedVerdict: string;
  /** Commands beyond the lab's own tools (iproute2, sysctl, python3) that inject and fix need. */
  readonly tools: readonly string[];
  /**
   * What the story's probes need beyond their defaults to notice the fault (the same before and
   * after the remedy). Absent: the defaults, which send no data over TCP (connect and close), as the
   * tests that count the story's packets expect. A fault that lets the handshake through and kills
   * what follows needs tcpSendBytes.
   */
  readonly traffic?: ProbeOptions;
  /** The fault in a few words, for the report's header (`strict rp_filter`). */
  describe(topology: StoryTopology): string;
  /**
   * Where the fault drops the story's packets: n2 on its tunnel (the faults of the pod's node), or
   * n1 on its uplink (the faults of the wrong node, where the client's packets arrive).
   */
  dropsAt(topology: StoryTopology): DropSite;
  /** Puts the fault (and only it) in the lab. */
  inject(topology: StoryTopology): Promise<void>;
  /** Applies the scenario's own remedy and says what it ran. */
  fix(topology: StoryTopology): Promise<ScenarioRemedy>;
}

/** The drop site of the faults on the pod's node: n2, on the tunnel the client's packets arrive by. */
export function onN2Tunnel(topology: StoryTopology): DropSite {
  return { node: 'n2', iface: topology.nodes.n2.tunnel };
}

/** The drop site of the faults on the wrong node: n1, on the uplink the client's packets arrive by. */
export function onN1Uplink(topology: StoryTopology): DropSite {
  return { node: 'n1', iface: topology.nodes.n1.uplink };
}

export interface ScenarioRemedy {
  /** Where it ran: a node (n1, n2), the gateway, or a pod's namespace (pa). */
  readonly node: LabNsRole;
  /**
   * The namespace it ran in. A command for another namespace says so itself (`ip netns exec NS
   * ...`: the pod's namespace, reached from its node).
   */
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
