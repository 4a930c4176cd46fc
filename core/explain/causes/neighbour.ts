/**
 * The next hop never answers ARP: the route sends the packets out by an interface, the node asks
 * who has the next hop, and nobody answers (a pod whose end of the veth is down, a pod gone with
 * its route left behind, a stale gateway). The packets wait in the neighbour's queue and are freed
 * when its resolution fails (the kernel: NEIGH_FAILED; NEIGH_QUEUEFULL when the queue overflows).
 */
import { isUnansweredNeighbour } from '../../findings/kernel-evidence.js';
import { neighbourRemedy } from '../remedy.js';
import type { Evidence } from '../drop-event.js';
import type { Cause } from './cause.js';

export const neighbour: Cause = {
  verdict: 'neighbour',
  kernelReasons: ['NEIGH_FAILED', 'NEIGH_QUEUEFULL', 'NEIGH_DEAD', 'NEIGH_CREATEFAIL'],
  supportedByNode({ kernel }) {
    return kernel?.neighbour !== undefined && isUnansweredNeighbour(kernel.neighbour);
  },
  supportedByTraffic() {
    // An unanswered ARP request looks like any other on the wire; the neighbour table says it.
    return false;
  },
  explain({ group, node, kernel }) {
    const n = kernel?.neighbour;
    const evidence: Evidence[] = [];
    if (n) {
      const state = n.state === 'none' ? 'no neighbour entry' : `neighbour entry ${n.state}`;
      evidence.push({ kind: 'neighbour', detail: `${node} sends these packets to ${n.address} on ${n.dev}: ${state}${n.state === 'FAILED' || n.state === 'INCOMPLETE' ? ' (no answer to ARP)' : ''}` });
      if (n.carrier === false) evidence.push({ kind: 'link', detail: `${n.dev} has no carrier: its other end (for a pod's veth, the pod's interface) is down` });
    }
    return { evidence, remedy: neighbourRemedy({ dst: group.identity.dst, node, neighbour: n ?? null }) };
  },
};
