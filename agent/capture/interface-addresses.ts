/**
 * The node's own addresses, from libpcap's device list in the native addon (every interface, up or
 * down). Packets to or from these are never drop events; knowing them from the start spares the
 * wait until traffic teaches them.
 */
import { networkInterfaces } from 'node:os';
import { nativeAddon } from '../native/native-addon.js';

/** Interface name -> its addresses (textual, zone ids removed). */
export function interfaceAddresses(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  try {
    for (const [name, address] of nativeAddon().interfaceAddresses()) {
      const list = out.get(name);
      const a = address.replace(/%.*$/, '');
      if (list) list.push(a);
      else out.set(name, [a]);
    }
    return out;
  } catch {
    // No addon, or libpcap could not list the devices: Node's list (interfaces that are up) will
    // do, as a refresh every few seconds must never fail the agent.
  }
  for (const [name, infos] of Object.entries(networkInterfaces())) {
    out.set(name, (infos ?? []).map((i) => i.address.replace(/%.*$/, '')));
  }
  return out;
}
