/**
 * The native packet engine is built at `npm ci` (scripts/build-native.mjs) and loads: linked with
 * Debian's libpcap and with Debian's zlib (statically, so Node's own zlib symbols cannot stand in).
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { nativeAddon } from '../../agent/native/native-addon.js';

function debianPackageVersion(pkg: string): string {
  return execFileSync('dpkg-query', ['-W', '-f', '${Version}', pkg], { encoding: 'utf8' });
}

describe('the native addon', () => {
  it("loads, with Debian's libpcap and zlib", () => {
    const versions = nativeAddon().versions();
    expect(versions.libpcap).toMatch(/^libpcap version 1\.\d+\.\d+/);
    // zlib1g's version is "1:1.2.13.dfsg-1": the upstream part must be the one we run with.
    const zlib = debianPackageVersion('zlib1g-dev').replace(/^\d+:/, '').replace(/[.-]dfsg.*$|-.*$/, '');
    expect(versions.zlib).toBe(zlib);
    const pcap = debianPackageVersion('libpcap-dev').replace(/^\d+:/, '').replace(/-.*$/, '');
    expect(versions.libpcap).toContain(pcap);
  });
});
