/**
 * The catalog of causes, and the rule that picks one for a group of vanished packets:
 *   confirmed  the kernel's own drop of at least one of the group's packets, with a reason a cause
 *              claims (or any other reason that says why: the verdict is that reason);
 *   likely     the node's configuration and counters support a cause (first in catalog order);
 *   possible   only the traffic supports one (replay), or nothing does (`vanished`).
 * The order says which cause wins when several are supported: the ones that stop forwarding as a
 * whole come before the ones that single packets out.
 */
import type { Cause } from './cause.js';
import { forwardingDisabled } from './forwarding-disabled.js';
import { netfilter } from './netfilter.js';
import { noRoute } from './no-route.js';
import { reversePath } from './reverse-path.js';

export const CAUSES: readonly Cause[] = [forwardingDisabled, noRoute, netfilter, reversePath];

/** The cause a kernel drop reason confirms, if one claims it. */
export function causeForKernelReason(reason: string): Cause | undefined {
  return CAUSES.find((c) => c.kernelReasons.includes(reason));
}
