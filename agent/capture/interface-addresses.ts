/**
 * The node's own addresses, from libpcap's device list (npm `cap`, an optional native dependency)
 * or, where it is not built, from Node's view of the interfaces. Packets to or from these are never
 * drop events; knowing them from the start spares the wait until traffic teaches them.
 */
import { createRequire } from 'node:module';
import { networkInterfaces } from 'node:os';

interface CapDevice {
  readonly name: string;
  readonly addresses: readonly { readonly addr?: string }[];
}

interface CapModule {
  readonly Cap: { deviceList(): CapDevice[] };
}

function loadCap(): CapModule | undefined {
  try {
    return createRequire(import.meta.url)('cap') as CapModule;
  } catch {
    return undefined;
  }
}

/** Interface name -> its addresses (textual, zone ids removed). */
export function interfaceAddresses(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const cap = loadCap();
  if (cap) {
    try {
      for (const d of cap.Cap.deviceList()) {
        const addrs = d.addresses.map((a) => a.addr ?? '').filter((a) => a !== '').map((a) => a.replace(/%.*$/, ''));
        if (addrs.length > 0) out.set(d.name, addrs);
      }
      return out;
    } catch {
      // fall through to Node's list
    }
  }
  for (const [name, infos] of Object.entries(networkInterfaces())) {
    out.set(name, (infos ?? []).map((i) => i.address.replace(/%.*$/, '')));
  }
  return out;
}
