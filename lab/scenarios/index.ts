/** The lab's scenarios by name, in the order `--scenario all` runs them. */
import { blackholeScenario } from './blackhole.js';
import { calicoRpfScenario } from './calico-rpf.js';
import { conntrackInvalidScenario } from './conntrack-invalid.js';
import { forwardingOffScenario } from './forwarding-off.js';
import { mtuScenario } from './mtu.js';
import { neighbourScenario } from './neighbour.js';
import { policyScenario } from './policy.js';
import { rpFilterScenario } from './rp-filter.js';
import { SCENARIO_NAMES, type LabScenario, type ScenarioName } from './scenario.js';

export { SCENARIO_NAMES, type DropSite, type LabScenario, type ScenarioName, type ScenarioRemedy } from './scenario.js';

const BY_NAME: Readonly<Record<ScenarioName, LabScenario>> = {
  'rp-filter': rpFilterScenario,
  'calico-rpf': calicoRpfScenario,
  policy: policyScenario,
  'conntrack-invalid': conntrackInvalidScenario,
  'forwarding-off': forwardingOffScenario,
  mtu: mtuScenario,
  blackhole: blackholeScenario,
  neighbour: neighbourScenario,
};

export const DEFAULT_SCENARIO: ScenarioName = 'rp-filter';

export function isScenarioName(name: string): name is ScenarioName {
  return (SCENARIO_NAMES as readonly string[]).includes(name);
}

export function labScenario(name: ScenarioName): LabScenario {
  return BY_NAME[name];
}

/** Every scenario, in the order of SCENARIO_NAMES. */
export function allLabScenarios(): LabScenario[] {
  return SCENARIO_NAMES.map((n) => BY_NAME[n]);
}
