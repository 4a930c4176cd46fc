/**
 * The kernel's reverse-path filter: strict rp_filter on the arrival interface and a route back to
 * the source by another interface (asymmetric routing), so the kernel drops the packet on arrival.
 */
import { reversePathRemedy } from '../remedy.js';
import type { Cause } from './cause.js';

export const reversePath: Cause = {
  verdict: 'reverse-path',
  kernelReasons: ['IP_RPFILTER'],
  supportedByNode({ group, kernel }) {
    if (group.identity.ipVersion !== 4) return false;
    const strict = kernel?.rpFilter?.effective === 1;
    const backElsewhere = kernel?.routeBackIface !== undefined && kernel.routeBackIface !== group.iface;
    return strict && backElsewhere && (kernel?.rpFilterCounterDelta ?? 0) > 0;
  },
  supportedByTraffic({ group, kernel, asymmetricExits }) {
    if (group.identity.ipVersion !== 4) return false;
    return asymmetricExits.length > 0 || (kernel?.routeBackIface !== undefined && kernel.routeBackIface !== group.iface);
  },
  explain({ group, node, kernel, asymmetricExits }) {
    const id = group.identity;
    const replyExit = kernel?.routeBackIface ?? asymmetricExits[0] ?? null;
    return { evidence: [], remedy: reversePathRemedy({ iface: group.iface, src: id.src, dst: id.dst, node, replyExit, allValue: kernel?.rpFilter?.all ?? null }) };
  },
};
