/**
 * Forwarding is off on the interface the packets arrive by (net.ipv4.conf.IFACE.forwarding=0, or
 * for all interfaces): the kernel does not forward them, and on some kernels reports no drop
 * reason at all, so eBPF drop tracers show nothing. A path tracer sees them enter and never leave.
 */
import { forwardingRemedy, sysctlFor } from '../remedy.js';
import type { Cause } from './cause.js';

export const forwardingDisabled: Cause = {
  verdict: 'forwarding-disabled',
  kernelReasons: [],
  supportedByNode({ group, kernel }) {
    // IPv4 forwards by the arrival interface's own value: writing conf.all sets every interface, but
    // all=0 read later says nothing of one turned on since (the kernel forwards what arrives there).
    return group.identity.ipVersion === 4 && kernel?.forwarding?.iface === 0;
  },
  supportedByTraffic() {
    return false;
  },
  explain({ group, kernel }) {
    const f = kernel?.forwarding;
    return {
      evidence: f ? [{ kind: 'forwarding', detail: `net.ipv4.conf.all.forwarding=${f.all}, ${sysctlFor(group.iface, 'forwarding')}=${f.iface}: the node does not forward what arrives on ${group.iface}` }] : [],
      remedy: forwardingRemedy(group.iface, f ?? null),
    };
  },
};
