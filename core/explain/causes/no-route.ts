/**
 * No usable route to the destination: a blackhole or unreachable route (Calico installs
 * `blackhole <pod block> proto bird` on the node that owns a block, so traffic for an address of the
 * block with no pod dies there), or no route at all.
 */
import { noRouteRemedy } from '../remedy.js';
import type { Cause } from './cause.js';

const DISCARDING = new Set(['blackhole', 'unreachable', 'prohibit', 'none']);

export const noRoute: Cause = {
  verdict: 'no-route',
  kernelReasons: ['IP_INNOROUTES', 'IP_OUTNOROUTES'],
  supportedByNode({ kernel }) {
    return kernel?.route !== undefined && DISCARDING.has(kernel.route.type);
  },
  supportedByTraffic() {
    return false;
  },
  explain({ group, kernel }) {
    const r = kernel?.route;
    const id = group.identity;
    return {
      evidence: r ? [{ kind: 'route', detail: r.type === 'none' ? `no route to ${id.dst} on this node` : `${id.dst} matches the ${r.type} route ${r.dst}${r.dev ? ` dev ${r.dev}` : ''}${r.via ? ` via ${r.via}` : ''}` }] : [],
      remedy: noRouteRemedy(id.src, id.dst, group.iface, r ?? null),
    };
  },
};
