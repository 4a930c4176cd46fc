/**
 * The node's own addresses come from libpcap's device list in the addon (pcap_findalldevs): every
 * address Node's own list knows (interfaces that are up) is there, under the same interface name,
 * and the loopback's are. No privileges needed.
 */
import { networkInterfaces } from 'node:os';
import { describe, expect, it } from 'vitest';
import { interfaceAddresses } from '../../../agent/capture/interface-addresses.js';
import { nativeAddon } from '../../../agent/native/native-addon.js';

describe('interface addresses', () => {
  it('come from the addon, as [interface, address] pairs of IPv4 and IPv6 addresses', () => {
    const pairs = nativeAddon().interfaceAddresses();
    expect(pairs.length).toBeGreaterThan(0);
    for (const [name, address] of pairs) {
      expect(name).not.toBe('');
      expect(address).toMatch(/^[\d.]+$|:/);
    }
  });

  it('hold every address Node knows, under its interface, the loopback included', () => {
    const ours = interfaceAddresses();
    expect(ours.get('lo')).toContain('127.0.0.1');
    for (const [name, infos] of Object.entries(networkInterfaces())) {
      for (const info of infos ?? []) expect(ours.get(name), `${name} ${info.address}`).toContain(info.address.replace(/%.*$/, ''));
    }
  });
});
