/**
 * rp-filter, the default: the story as it is built. n2's strict rp_filter (all and the tunnel = 1)
 * drops the pod's traffic arriving by the tunnel, because the way back to the client leaves by eth0.
 * Remedy: loose mode on the tunnel (lab/topology.ts applyRemedy; 0 alone would change nothing while
 * all=1).
 */
import { applyRemedy } from '../topology.js';
import { onN2Tunnel, type LabScenario } from './scenario.js';

export const rpFilterScenario: LabScenario = {
  name: 'rp-filter',
  expectedVerdict: 'reverse-path',
  tools: [],
  dropsAt: onN2Tunnel,
  describe: () => 'strict rp_filter',
  // buildStoryTopology makes the fault: nothing to add.
  inject: async () => undefined,
  fix: async (topology) => {
    const r = await applyRemedy(topology);
    return { node: 'n2', ns: r.ns, commands: [`sysctl -w ${r.key}=${r.value}`], was: String(r.previous) };
  },
};
