/**
 * Too big for the way out: a packet larger than the MTU of the interface it must leave by, with DF
 * set, is dropped where it would be forwarded (the kernel: PKT_TOO_BIG, Ip FragFails) and answered
 * with ICMP "fragmentation needed". A tunnel's MTU is the underlay's minus its overhead (IPIP 20
 * bytes, VXLAN 50), so pods or hosts sending full 1500-byte packets into it lose the big ones
 * while the small ones of the same flow pass; when that ICMP is filtered on its way back the
 * sender never learns, and the flow hangs: a black hole.
 */
import { arrivalHop } from '../../findings/node-findings.js';
import { mtuRemedy } from '../remedy.js';
import type { Evidence } from '../drop-event.js';
import type { Cause, CauseInput } from './cause.js';

/**
 * From the traffic alone: packets this big vanished while other packets of the pair left. Above
 * every common overlay's MTU (Calico: VXLAN 1410-1450, IPIP 1440-1480, WireGuard 1420; 1400 as
 * seen on the wire, link header included, leaves room for them all) and below a standard
 * Ethernet frame, which is what an endpoint with MTU 1500 sends.
 */
export const BIG_PACKET_BYTES = 1400;

/** The length of a vanished packet as it arrived (the first one's arrival on the group's interface). */
function arrivalLength({ group }: CauseInput): number | null {
  return arrivalHop(group)?.length ?? null;
}

function tooBigForExit({ kernel }: CauseInput): boolean {
  const m = kernel?.mtu;
  return m !== undefined && m.packetLength !== null && m.packetLength > m.exitMtu && m.dontFragment !== false;
}

function bigWhileSmallerPassed(input: CauseInput): boolean {
  const length = arrivalLength(input);
  return length !== null && length > BIG_PACKET_BYTES && input.forwardExits.length > 0;
}

export const mtu: Cause = {
  verdict: 'mtu',
  kernelReasons: ['PKT_TOO_BIG'],
  supportedByNode(input) {
    return tooBigForExit(input);
  },
  supportedByTraffic(input) {
    return bigWhileSmallerPassed(input);
  },
  explain(input) {
    const { group, node, kernel, forwardExits } = input;
    const id = group.identity;
    const m = kernel?.mtu;
    const evidence: Evidence[] = [];
    if (m) {
      const size = m.packetLength === null ? 'the vanished packets' : `a vanished packet was ${m.packetLength} bytes${m.dontFragment === true ? ' with DF set' : m.dontFragment === false ? ' without DF' : ''}`;
      const underlay = m.underlayIface !== null && m.underlayMtu !== null ? `; the uplink ${m.underlayIface} has ${m.underlayMtu}` : '';
      const over = m.packetLength !== null && m.packetLength > m.exitMtu ? `: ${m.packetLength - m.exitMtu} bytes too big` : '';
      evidence.push({ kind: 'mtu', detail: `${size}; the way out to ${id.dst}, ${m.exitIface}, has MTU ${m.exitMtu}${underlay}${over}` });
      if (m.fragFailsDelta !== null) {
        evidence.push({ kind: 'netstat-counter', detail: `IpFragFails +${m.fragFailsDelta} while these vanished: packets ${node} could not forward unfragmented, each answered with ICMP fragmentation needed to its sender` });
      }
    }
    const length = arrivalLength(input);
    if (bigWhileSmallerPassed(input) && length !== null) {
      evidence.push({ kind: 'packet-size', detail: `the vanished packets were ${length} bytes as they arrived on ${group.iface}, while other packets from ${id.src} to ${id.dst} left ${node} by ${forwardExits.join(', ')}: a size limit on the way out (a tunnel's MTU is the underlay's minus 20 bytes for IPIP, 50 for VXLAN)` });
    }
    return { evidence, remedy: mtuRemedy({ src: id.src, dst: id.dst, node, exitIface: m?.exitIface ?? forwardExits[0] ?? null, exitMtu: m?.exitMtu ?? null, packetLength: m?.packetLength ?? length }) };
  },
};
