/**
 * The catalog of causes, and the rule that picks one for a group of vanished packets:
 *   confirmed  the kernel's own drop of at least one of the group's packets, with a reason a cause
 *              claims (or any other reason that says why: the verdict is that reason);
 *   likely     the node's configuration and counters support a cause (first in catalog order);
 *   possible   only the traffic supports one (replay), or nothing does (`vanished`).
 * The order says which cause wins when several are supported: the ones that stop forwarding as a
 * whole come before the ones that single packets out.
 */
import type { Cause, CauseInput } from './cause.js';
import { conntrackInvalid } from './conntrack-invalid.js';
import { forwardingDisabled } from './forwarding-disabled.js';
import { mtu } from './mtu.js';
import { neighbour } from './neighbour.js';
import { netfilter } from './netfilter.js';
import { noRoute } from './no-route.js';
import { reversePath } from './reverse-path.js';

/**
 * Forwarding and routes decide whether a packet goes anywhere; the neighbour and the MTU decide
 * whether it can leave by where it goes; conntrack-invalid comes before netfilter because it is a
 * netfilter drop with a more precise cause.
 */
export const CAUSES: readonly Cause[] = [forwardingDisabled, noRoute, neighbour, mtu, conntrackInvalid, netfilter, reversePath];

/**
 * The cause a kernel drop reason confirms for this group, if one claims it; without a group, the
 * cause that claims it whatever the group (NETFILTER_DROP: netfilter).
 */
export function causeForKernelReason(reason: string, input?: CauseInput): Cause | undefined {
  return CAUSES.find((c) => c.kernelReasons.includes(reason) && (c.claims === undefined || (input !== undefined && c.claims(input))));
}
