/**
 * The simulated Kubernetes node and its cluster: interfaces, addresses, MAC addresses, pods.
 *
 * One node, "this-node", as `tcpdump -i any` on it would see the world:
 *
 *   ifindex  name            ARPHRD     role
 *   1        lo              772        loopback
 *   2        eth0            1          uplink, 172.31.0.10/24, default route via 172.31.0.1
 *   3        tunl0           768        Calico IPIP tunnel (raw IP, no link-layer address), 10.244.5.1
 *   4        vxlan.calico    1          Calico VXLAN device (VNI 4096, UDP 4789), 10.244.5.250
 *   10..209  cali<11 hex>    1          host side of each local pod's veth pair
 *
 * Local pods live in 10.244.5.0/24 (four Calico /26 blocks) and fd00:10:244:5::/64. Remote nodes are
 * 172.31.0.20..69 on the same L2 segment (their packets arrive straight from their own MAC); each owns
 * two /24 pod blocks in 10.244.0.0/16. Most remote nodes reach this node over IPIP, a few over VXLAN
 * (Calico lets each IP pool choose its encapsulation). "Outside" destinations come from 198.18.0.0/15
 * (RFC 2544, reserved for benchmarks) and outside clients from 100.64.0.0/10, so no real address shows up.
 *
 * Everything here is derived from the seed alone (not from the packet count), so interface names and
 * addresses are the same for every capture made with one seed.
 */

import { Prng } from './prng.js';

export const NODE_NAME = 'this-node';
export const IFINDEX_LO = 1;
export const IFINDEX_ETH0 = 2;
export const IFINDEX_TUNL0 = 3;
export const IFINDEX_VXLAN = 4;
export const FIRST_POD_IFINDEX = 10;
export const LOCAL_POD_COUNT = 200;
export const REMOTE_NODE_COUNT = 50;
/** Remote nodes [0, IPIP_NODE_COUNT) speak IPIP to this node, the rest VXLAN. */
export const IPIP_NODE_COUNT = 38;
/** Ordinary pods per remote node (each node also has room for reserved "victim" pods, see below). */
export const PODS_PER_REMOTE_NODE = 120;
/** Host numbers 200..254 of each IPIP node's first block are kept for the flows that vanish. */
export const VICTIM_HOST_FIRST = 200;
export const VICTIM_HOSTS_PER_NODE = 55;
export const VXLAN_VNI = 4096;
export const VXLAN_PORT = 4789;

export const NODE_IPV4 = ip4(172, 31, 0, 10);
export const GATEWAY_IPV4 = ip4(172, 31, 0, 1);
export const VPC_DNS_IPV4 = ip4(172, 31, 0, 2);
export const TUNL0_IPV4 = ip4(10, 244, 5, 1);
export const VXLAN_IPV4 = ip4(10, 244, 5, 250);
/** Calico's on-link gateway that every pod ARPs for; the host answers by proxy ARP. */
export const CALICO_POD_GATEWAY_IPV4 = ip4(169, 254, 1, 1);
export const LOOPBACK_IPV4 = ip4(127, 0, 0, 1);
export const MDNS_IPV4 = ip4(224, 0, 0, 251);

export function ip4(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

export function formatIpv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}

export interface InterfaceInfo {
  readonly ifindex: number;
  readonly name: string;
  readonly arphrd: number;
  readonly role: 'loopback' | 'uplink' | 'tunnel' | 'pod';
}

/**
 * MAC addresses live in one byte table (6 bytes each) addressed by byte offset, so the hot path
 * passes plain numbers around.
 */
export class NodeModel {
  readonly macs: Uint8Array;
  readonly macZero = 0;
  readonly macBroadcast = 6;
  readonly macEth0 = 12;
  readonly macVxlanLocal = 18;
  /** ee:ee:ee:ee:ee:ee: Calico gives the host side of every pod veth this MAC. */
  readonly macCaliHost = 24;
  readonly macGateway = 30;
  private readonly macRemoteNodeBase = 36;
  private readonly macRemoteVtepBase: number;
  private readonly macPodBase: number;

  readonly interfaces: readonly InterfaceInfo[];
  /** Local pod j: IPv4, interface index FIRST_POD_IFINDEX + j, name podIfname[j]. */
  readonly podIpv4 = new Uint32Array(LOCAL_POD_COUNT);
  readonly podIfname: readonly string[];
  /**
   * IPv6 addresses as four 32-bit words each: [0, 200) local pods' global addresses,
   * [200, 400) their link-local addresses, then Calico's gateway link-local and its solicited-node group.
   */
  readonly ipv6 = new Uint32Array((2 * LOCAL_POD_COUNT + 2) * 4);
  readonly v6CaliGateway = 2 * LOCAL_POD_COUNT * 4;
  readonly v6CaliGatewaySolicited = (2 * LOCAL_POD_COUNT + 1) * 4;

  readonly remoteNodeIpv4 = new Uint32Array(REMOTE_NODE_COUNT);
  /** Ordinary remote pods: node index and IPv4; [node * PODS_PER_REMOTE_NODE, +PODS_PER_REMOTE_NODE). */
  readonly remotePodIpv4 = new Uint32Array(REMOTE_NODE_COUNT * PODS_PER_REMOTE_NODE);

  constructor(seed: number) {
    // A PRNG of its own, so the model does not depend on how much traffic is drawn afterwards.
    const rng = new Prng((seed ^ 0x5eed0001) >>> 0);
    this.macRemoteVtepBase = this.macRemoteNodeBase + 6 * REMOTE_NODE_COUNT;
    this.macPodBase = this.macRemoteVtepBase + 6 * REMOTE_NODE_COUNT;
    this.macs = new Uint8Array(this.macPodBase + 6 * LOCAL_POD_COUNT);
    this.macs.fill(0xff, this.macBroadcast, this.macBroadcast + 6);
    // eth0 and the gateway look like cloud NICs (02:... locally administered); Calico's VXLAN devices
    // get random 66:... MACs; pods get random locally administered unicast MACs.
    randomMac(rng, this.macs, this.macEth0, 0x02);
    randomMac(rng, this.macs, this.macVxlanLocal, 0x66);
    this.macs.fill(0xee, this.macCaliHost, this.macCaliHost + 6);
    randomMac(rng, this.macs, this.macGateway, 0x02);
    for (let n = 0; n < REMOTE_NODE_COUNT; n++) {
      randomMac(rng, this.macs, this.macRemoteNodeBase + 6 * n, 0x02);
      randomMac(rng, this.macs, this.macRemoteVtepBase + 6 * n, 0x66);
      this.remoteNodeIpv4[n] = ip4(172, 31, 0, 20 + n);
      // Two /24 blocks per node: 10.244.(10+2n).0/24 and 10.244.(11+2n).0/24. Hosts 1..199 of both
      // blocks hold ordinary pods; 200..254 of the first block are reserved for victim pods.
      const used = new Set<number>();
      for (let p = 0; p < PODS_PER_REMOTE_NODE; p++) {
        let key: number;
        do key = rng.below(2) * 256 + rng.range(1, VICTIM_HOST_FIRST - 1);
        while (used.has(key));
        used.add(key);
        const block = 10 + 2 * n + (key >>> 8);
        this.remotePodIpv4[n * PODS_PER_REMOTE_NODE + p] = ip4(10, 244, block, key & 0xff);
      }
    }

    const names: string[] = [];
    const seen = new Set<string>();
    for (let j = 0; j < LOCAL_POD_COUNT; j++) {
      randomMac(rng, this.macs, this.macPodBase + 6 * j, 0x0a);
      this.podIpv4[j] = ip4(10, 244, 5, 2 + j);
      // Calico names the host end "cali" + the first 11 hex digits of a hash of the workload id.
      let name: string;
      do {
        name = 'cali';
        for (let k = 0; k < 11; k++) name += rng.below(16).toString(16);
      } while (seen.has(name));
      seen.add(name);
      names.push(name);
      const g = 4 * j;
      this.ipv6[g] = 0xfd000010;
      this.ipv6[g + 1] = 0x02440005;
      this.ipv6[g + 2] = rng.next();
      this.ipv6[g + 3] = rng.next();
      const l = 4 * (LOCAL_POD_COUNT + j);
      this.ipv6[l] = 0xfe800000;
      this.ipv6[l + 1] = 0;
      this.ipv6[l + 2] = rng.next();
      this.ipv6[l + 3] = rng.next();
    }
    this.podIfname = names;
    // fe80::ecee:eeff:feee:eeee is the EUI-64 link-local of ee:ee:ee:ee:ee:ee; pods resolve it by
    // neighbor solicitation to its solicited-node group ff02::1:ffee:eeee (RFC 4291 section 2.7.1).
    this.ipv6.set([0xfe800000, 0, 0xeceeeeff, 0xfeeeeeee], this.v6CaliGateway);
    this.ipv6.set([0xff020000, 0, 1, 0xffeeeeee], this.v6CaliGatewaySolicited);

    const ifaces: InterfaceInfo[] = [
      { ifindex: IFINDEX_LO, name: 'lo', arphrd: 772, role: 'loopback' },
      { ifindex: IFINDEX_ETH0, name: 'eth0', arphrd: 1, role: 'uplink' },
      { ifindex: IFINDEX_TUNL0, name: 'tunl0', arphrd: 768, role: 'tunnel' },
      { ifindex: IFINDEX_VXLAN, name: 'vxlan.calico', arphrd: 1, role: 'tunnel' },
    ];
    for (let j = 0; j < LOCAL_POD_COUNT; j++) {
      ifaces.push({ ifindex: FIRST_POD_IFINDEX + j, name: names[j]!, arphrd: 1, role: 'pod' });
    }
    this.interfaces = ifaces;
  }

  macRemoteNode(node: number): number {
    return this.macRemoteNodeBase + 6 * node;
  }

  macRemoteVtep(node: number): number {
    return this.macRemoteVtepBase + 6 * node;
  }

  macPod(pod: number): number {
    return this.macPodBase + 6 * pod;
  }

  /** Word index of local pod j's global (fd00:10:244:5::/64) or link-local IPv6 address. */
  v6Pod(pod: number): number {
    return 4 * pod;
  }

  v6PodLinkLocal(pod: number): number {
    return 4 * (LOCAL_POD_COUNT + pod);
  }

  /** Victim pod v (see VICTIM_HOST_FIRST): on IPIP node v mod IPIP_NODE_COUNT, never used by other traffic. */
  victimPod(v: number): { node: number; ipv4: number } {
    const node = v % IPIP_NODE_COUNT;
    const host = VICTIM_HOST_FIRST + (Math.floor(v / IPIP_NODE_COUNT) % VICTIM_HOSTS_PER_NODE);
    return { node, ipv4: ip4(10, 244, 10 + 2 * node, host) };
  }

  /** `--ifname IDX=NAME` values naming every interface of the capture, for `pathwatch replay`. */
  ifnameArgs(): string[] {
    return this.interfaces.map((i) => `${i.ifindex}=${i.name}`);
  }
}

function randomMac(rng: Prng, macs: Uint8Array, o: number, firstByte: number): void {
  macs[o] = firstByte;
  for (let i = 1; i < 6; i++) macs[o + i] = rng.below(256);
}
