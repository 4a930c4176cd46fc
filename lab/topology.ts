/**
 * The story's network, built from network namespaces: a Calico-like two-node cluster where an
 * external gateway sends a pod's traffic to the wrong node, the packets cross the overlay tunnel to
 * the right node, and that node's strict reverse-path filter drops them (see shared/DESIGN.md,
 * "The story it comes from").
 *
 *                       fabric ns: bridge br0 (192.168.77.0/24)
 *            +-----------------+------------------------+------------------+
 *            | sw-gw           | sw-n1                  | sw-n2            |
 *        eth0 .1           eth0 .11                  eth0 .12              |
 *   +-----------------+  +--------------------+   +--------------------+   |
 *   | gw              |  | n1 (ubuntu-4)      |   | n2 (ubuntu-3)      |   |
 *   | lo 100.64.0.1   |  | tunnel 10.91.0.1   |===| tunnel 10.91.1.129 |   |
 *   | 10.91.0.0/26    |  |   (vxlan.calico or |   |  rp_filter=1 (all  |   |
 *   |   via .11       |  |    tunl0)          |   |   and tunnel)      |   |
 *   | 10.91.1.128/26  |  | caliXXXXXXXXXXX    |   | caliYYYYYYYYYYY    |   |
 *   |   via .11 (!)   |  |   |                |   |   |                |   |
 *   +-----------------+  +---|----------------+   +---|----------------+
 *                        ph: eth0 10.91.0.2/32   pa: eth0 10.91.1.130/32
 *                        (healthy pod)           (asymmetric pod)
 *
 * Forward path to pa: gw -> eth0 of n1 (the wrong node: every node advertised the block) -> tunnel
 * -> n2, where the packet arrives on the tunnel from 100.64.0.1. The route back to 100.64.0.1 leaves
 * n2 by eth0 (default via 192.168.77.1), so strict rp_filter drops it and counts
 * TcpExtIPReversePathFilter. pa's own traffic to 100.64.0.1 leaves n2 directly by eth0: the
 * asymmetry. The healthy pod ph lives on n1, where gw's traffic arrives on eth0 and the route back
 * is eth0 too, so it passes even with strict rp_filter.
 *
 * Pods are wired the Calico way: a /32 on the pod's eth0, default route via 169.254.1.1 onlink,
 * proxy_arp on the host-side cali veth (which answers for 169.254.1.1), and a scope-link /32 route
 * to the pod on the node.
 *
 * Three-node labs (`thirdNode`) add n3 (eth0 .13, pod pb 10.91.2.130 in 10.91.2.128/26, also
 * advertised wrongly from n1) behind the other tunnel type: n1 then carries both vxlan.calico and
 * tunl0 (its second tunnel device has 10.91.0.3), and n2 and n3 each drop on their own tunnel.
 *
 *   gw --eth0--> n1 ==overlay==> n2 (tunnel: the overlay)          pa
 *                   ==other=====> n3 (tunnel: the other type)      pb
 *
 * Overlays:
 *  - vxlan: `vxlan.calico`, VNI 4096, port 4789, nolearning; the peer is reached through a
 *    permanent neighbour entry (peer tunnel address -> peer VTEP MAC) and an fdb entry (MAC -> peer
 *    uplink address), which is what Calico's Felix programs.
 *  - ipip: Calico uses the kernel's tunl0 (the ipip fallback device). When the ipip module is
 *    loaded, a fresh namespace already has tunl0 and we use it; otherwise tunl0 is a TUN device
 *    (raw IP, no ARP: the same link type a capture sees) bridged to a raw IPPROTO_IPIP socket by
 *    lab/ipip-tunnel.py. Routes are Calico's: `<peer block> via <peer uplink> dev tunl0 onlink`.
 *
 * Everything lives in namespaces named `<prefix>-<6 hex>-<role>`; nothing touches the host's
 * namespace, so concurrent labs cannot collide, and destroy() (or cleanupStaleLabNamespaces after
 * a crash) removes it all.
 */
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import {
  BackgroundProcess,
  CommandError,
  inNetns,
  labScript,
  oneLine,
  pythonExecutable,
  run,
  runResult,
  type RunOptions,
  type RunResult,
  type StartOptions,
} from './exec.js';

export type Overlay = 'vxlan' | 'ipip';
/** How the tunnel is implemented: ipip uses the kernel device when the module exists. */
export type TunnelImpl = 'vxlan' | 'ipip-kernel' | 'ipip-userspace';
export type LabNsRole = 'fab' | 'gw' | 'n1' | 'n2' | 'n3' | 'ph' | 'pa' | 'pb';
export type NodeRole = 'n1' | 'n2' | 'n3';
export type PodRole = 'ph' | 'pa' | 'pb';

/** Creation order; destroy goes in reverse. n3 and pb exist only in a three-node lab. */
export const LAB_NS_ROLES: readonly LabNsRole[] = ['fab', 'gw', 'n1', 'n2', 'n3', 'ph', 'pa', 'pb'];
const THIRD_NODE_ROLES: ReadonlySet<LabNsRole> = new Set(['n3', 'pb']);

/** The namespaces a lab has: every role, less n3 and pb without the third node. */
export function labRoles(thirdNode: boolean): LabNsRole[] {
  return LAB_NS_ROLES.filter((r) => thirdNode || !THIRD_NODE_ROLES.has(r));
}

export function otherOverlay(overlay: Overlay): Overlay {
  return overlay === 'vxlan' ? 'ipip' : 'vxlan';
}

/** The device Calico names for each overlay. */
export function tunnelDevice(overlay: Overlay): string {
  return overlay === 'vxlan' ? 'vxlan.calico' : 'tunl0';
}

/** The story's addresses. All of them exist only inside the lab's namespaces. */
export const STORY = {
  fabricCidr: '192.168.77.0/24',
  gatewayUplink: '192.168.77.1',
  node1Uplink: '192.168.77.11',
  node2Uplink: '192.168.77.12',
  /** The third node (three-node labs only), behind the other tunnel type. */
  node3Uplink: '192.168.77.13',
  /** The external client: owned by the gateway, the source of test traffic. */
  client: '100.64.0.1',
  healthyBlock: '10.91.0.0/26',
  healthyPod: '10.91.0.2',
  node1Tunnel: '10.91.0.1',
  asymmetricBlock: '10.91.1.128/26',
  asymmetricPod: '10.91.1.130',
  node2Tunnel: '10.91.1.129',
  /** n1's second tunnel device (toward n3) gets its own address from n1's block, as Calico does. */
  node1SecondTunnel: '10.91.0.3',
  asymmetricBlockN3: '10.91.2.128/26',
  asymmetricPodN3: '10.91.2.130',
  node3Tunnel: '10.91.2.129',
  /** Calico's fake next hop for pods, answered by proxy ARP on the cali veth. */
  podGateway: '169.254.1.1',
  vxlanVni: 4096,
  vxlanPort: 4789,
  /** TCP port the pods (and the client) listen on. */
  servicePort: 80,
} as const;

export interface LabGateway {
  readonly ns: string;
  readonly uplink: string;
  readonly uplinkAddress: string;
  readonly clientAddress: string;
}

export interface LabFabric {
  readonly ns: string;
  readonly bridge: string;
  /** Bridge-side veth end per attached namespace. */
  readonly ports: Readonly<Partial<Record<'gw' | NodeRole, string>>>;
}

export interface LabNode {
  readonly role: NodeRole;
  readonly ns: string;
  readonly uplink: string;
  readonly uplinkAddress: string;
  /** `vxlan.calico` or `tunl0`: the lab's overlay (n1's toward n2; n3's is the other type). */
  readonly tunnel: string;
  readonly tunnelAddress: string;
  /** Every tunnel device of the node: n1 in a three-node lab has both types. */
  readonly tunnels: readonly string[];
  /** Host-side veth of the pod on this node (`cali` + 11 hex). */
  readonly podVeth: string;
  readonly podBlock: string;
  /** The sysctl key for the tunnel's rp_filter, in the form `sysctl -w` takes (dots -> slashes). */
  readonly tunnelRpFilterKey: string;
}

export interface LabPod {
  readonly role: PodRole;
  readonly ns: string;
  readonly iface: string;
  readonly address: string;
  readonly block: string;
  readonly node: NodeRole;
  readonly hostVeth: string;
}

export interface StoryTopology {
  readonly id: string;
  readonly prefix: string;
  /** The overlay between n1 and n2 (n1 and n3 use the other one). */
  readonly overlay: Overlay;
  /** How the n1-n2 tunnel is implemented. */
  readonly tunnelImpl: TunnelImpl;
  /** Namespace name per role (n3 and pb only in a three-node lab). */
  readonly namespaces: Readonly<Record<Exclude<LabNsRole, 'n3' | 'pb'>, string>> & Readonly<Partial<Record<'n3' | 'pb', string>>>;
  readonly fabric: LabFabric;
  readonly gateway: LabGateway;
  readonly nodes: Readonly<Record<'n1' | 'n2', LabNode>> & { readonly n3?: LabNode };
  /** `asymmetricN3`: the pod behind n3, the other tunnel type (three-node labs). */
  readonly pods: { readonly healthy: LabPod; readonly asymmetric: LabPod; readonly asymmetricN3?: LabPod };
  /** Runs argv inside one of this lab's namespaces (a role like 'n2' or the full name). */
  exec(ns: LabNsRole | string, argv: readonly string[], options?: RunOptions): Promise<string>;
  /** Like exec, but resolves with the exit code and output instead of throwing on failure. */
  execResult(ns: LabNsRole | string, argv: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** Stops the helpers and deletes every namespace (and so every link). Idempotent. */
  destroy(): Promise<void>;
}

export interface BuildOptions {
  overlay: Overlay;
  /** Namespace name prefix; default `pw`. Letters, digits, `_`, at most 16 characters. */
  prefix?: string;
  /** Start TCP listeners on the pods and on the client address (default true). */
  listeners?: boolean;
  /**
   * ipip only. 'auto' (default): the kernel's tunl0 when the ipip module is loaded, else the TUN +
   * helper. 'kernel'/'userspace' insist on one and fail otherwise (a namespace that already has the
   * kernel's tunl0 cannot get a TUN of that name). The kernel path could not be exercised on the
   * development machine (no ipip module); it is the three commands Calico itself uses.
   */
  ipipImpl?: 'auto' | 'kernel' | 'userspace';
  /** Progress lines ("fabric ready (312 ms)"), for the `pathwatch lab` command and debugging. */
  log?: (line: string) => void;
  /**
   * Adds n3 behind the other tunnel type, with its own asymmetric pod pb, so n1 carries both VXLAN
   * and IPIP and two nodes drop (each on its tunnel). Default false: the story's two nodes.
   */
  thirdNode?: boolean;
}

const PREFIX_RE = /^[A-Za-z0-9_]{1,16}$/;
const VXLAN_MAC: Readonly<Record<NodeRole, string>> = { n1: '66:77:0a:5b:00:01', n2: '66:77:0a:5b:01:81', n3: '66:77:0a:5b:02:81' };
/** Calico gives every host-side cali veth this MAC. */
const CALI_MAC = 'ee:ee:ee:ee:ee:ee';

export function sysctlKeyForInterface(iface: string, leaf: string, family: 'ipv4' | 'ipv6' = 'ipv4'): string {
  // sysctl(8) uses '.' as the separator, so a '.' inside an interface name is written as '/'.
  return `net.${family}.conf.${iface.replace(/\./g, '/')}.${leaf}`;
}

/** Namespace names of one lab (every role; a two-node lab creates only labRoles(false)). */
export function labNamespaceNames(prefix: string, id: string): Record<LabNsRole, string> {
  const names = {} as Record<LabNsRole, string>;
  for (const role of LAB_NS_ROLES) names[role] = `${prefix}-${id}-${role}`;
  return names;
}

// ---- teardown bookkeeping --------------------------------------------------------------------

/** Labs not yet destroyed; a sync exit hook removes their namespaces if the process ends first. */
const live = new Map<string, { namespaces: readonly string[]; processes: BackgroundProcess[] }>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const lab of live.values()) {
      for (const p of lab.processes) if (p.pid !== undefined && p.running) tryKill(p.pid, 'SIGKILL');
      for (const ns of lab.namespaces) {
        try {
          execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 5_000 });
        } catch {
          // best effort at exit: cleanupStaleLabNamespaces catches what is left
        }
      }
    }
  });
}

function tryKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

async function listNamespaces(): Promise<string[]> {
  const out = await run(['ip', 'netns', 'list']);
  // Lines look like "name" or "name (id: 3)".
  return out.split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter((n) => n !== '');
}

/**
 * Kills the processes still inside `ns` (only lab processes can be there: nobody else knows the
 * name) and deletes it. A namespace with processes in it outlives `ip netns del`, links and all, so
 * the kill comes first.
 */
async function deleteNamespace(ns: string): Promise<void> {
  const pids = await runResult(['ip', 'netns', 'pids', ns]);
  if (pids.code === 0) {
    for (const p of pids.stdout.split(/\s+/)) {
      const pid = Number(p);
      if (Number.isInteger(pid) && pid > 1 && pid !== process.pid) tryKill(pid, 'SIGKILL');
    }
  }
  const del = await runResult(['ip', 'netns', 'del', ns]);
  if (del.code !== 0 && !/No such file/.test(del.stderr)) {
    throw new CommandError(['ip', 'netns', 'del', ns], del.code, null, del.stderr);
  }
}

/**
 * Deletes leftover lab namespaces `<prefix>-<6 hex>-<role>` (from a crashed run). Do not call it
 * while another lab with the same prefix is running, unless `olderThanMs` excludes it.
 * Returns the names deleted.
 */
export async function cleanupStaleLabNamespaces(
  prefix: string,
  options: { olderThanMs?: number } = {},
): Promise<string[]> {
  if (!PREFIX_RE.test(prefix)) throw new Error(`invalid lab prefix ${JSON.stringify(prefix)}`);
  const re = new RegExp(`^${prefix}-[0-9a-f]{6}-(?:${LAB_NS_ROLES.join('|')})$`);
  const deleted: string[] = [];
  for (const ns of await listNamespaces()) {
    if (!re.test(ns)) continue;
    if (options.olderThanMs !== undefined) {
      // `ip netns add` creates /run/netns/<name>; its mtime is the creation time.
      const file = `/run/netns/${ns}`;
      if (existsSync(file) && Date.now() - statSync(file).mtimeMs < options.olderThanMs) continue;
    }
    await deleteNamespace(ns);
    deleted.push(ns);
  }
  return deleted;
}

// ---- build ------------------------------------------------------------------------------------

/** Hex suffix for a cali name: derived like Calico's (a hash of the workload), 11 hex chars. */
function caliName(id: string, pod: PodRole): string {
  return `cali${createHash('sha1').update(`${id}/${pod}`).digest('hex').slice(0, 11)}`;
}

export async function buildStoryTopology(options: BuildOptions): Promise<StoryTopology> {
  const prefix = options.prefix ?? 'pw';
  if (!PREFIX_RE.test(prefix)) throw new Error(`invalid lab prefix ${JSON.stringify(prefix)}`);
  if (options.overlay !== 'vxlan' && options.overlay !== 'ipip') {
    throw new Error(`unknown overlay ${JSON.stringify(options.overlay)}`);
  }
  const thirdNode = options.thirdNode ?? false;
  const roles = labRoles(thirdNode);
  const id = randomBytes(3).toString('hex');
  const ns = labNamespaceNames(prefix, id);
  const created: string[] = [];
  const processes: BackgroundProcess[] = [];
  live.set(id, { namespaces: created, processes });
  installExitHook();

  let destroying: Promise<void> | undefined;
  const destroy = (): Promise<void> => {
    destroying ??= (async () => {
      // Helpers first (clean exit, stats on stderr), then whatever is still inside, then the
      // namespaces; deleting fab also removes the bridge-side veth ends and thus the uplinks.
      await Promise.all(processes.map((p) => p.stop('SIGTERM', 3_000)));
      const errors: string[] = [];
      for (const name of [...created].reverse()) {
        try {
          await deleteNamespace(name);
        } catch (e) {
          errors.push(e instanceof Error ? e.message : String(e));
        }
      }
      live.delete(id);
      if (errors.length > 0) throw new Error(`lab ${id} teardown incomplete: ${errors.join('; ')}`);
    })();
    return destroying;
  };

  const names = new Set(roles.map((r) => ns[r]));
  const resolveNs = (which: string): string => {
    const byRole = roles.includes(which as LabNsRole) ? ns[which as LabNsRole] : undefined;
    if (byRole !== undefined) return byRole;
    if (names.has(which)) return which;
    throw new Error(`${which} is not a namespace of lab ${id}`);
  };

  const overlay = options.overlay;
  const second = otherOverlay(overlay);
  const mkNode = (role: NodeRole, uplinkAddress: string, tunnel: Overlay, tunnelAddress: string, tunnels: readonly Overlay[], podBlock: string, pod: PodRole): LabNode => ({
    role,
    ns: ns[role],
    uplink: 'eth0',
    uplinkAddress,
    tunnel: tunnelDevice(tunnel),
    tunnelAddress,
    tunnels: tunnels.map(tunnelDevice),
    podVeth: caliName(id, pod),
    podBlock,
    tunnelRpFilterKey: sysctlKeyForInterface(tunnelDevice(tunnel), 'rp_filter'),
  });
  const n1 = mkNode('n1', STORY.node1Uplink, overlay, STORY.node1Tunnel, thirdNode ? [overlay, second] : [overlay], STORY.healthyBlock, 'ph');
  const n2 = mkNode('n2', STORY.node2Uplink, overlay, STORY.node2Tunnel, [overlay], STORY.asymmetricBlock, 'pa');
  const n3 = thirdNode ? mkNode('n3', STORY.node3Uplink, second, STORY.node3Tunnel, [second], STORY.asymmetricBlockN3, 'pb') : undefined;
  const nodes = { n1, n2, ...(n3 ? { n3 } : {}) };
  const allNodes = [n1, n2, ...(n3 ? [n3] : [])];
  const pod = (role: PodRole, address: string, block: string, node: LabNode): LabPod => ({ role, ns: ns[role], iface: 'eth0', address, block, node: node.role, hostVeth: node.podVeth });
  const pods = {
    healthy: pod('ph', STORY.healthyPod, STORY.healthyBlock, n1),
    asymmetric: pod('pa', STORY.asymmetricPod, STORY.asymmetricBlock, n2),
    ...(n3 ? { asymmetricN3: pod('pb', STORY.asymmetricPodN3, STORY.asymmetricBlockN3, n3) } : {}),
  };
  const fabric: LabFabric = { ns: ns.fab, bridge: 'br0', ports: { gw: 'sw-gw', ...Object.fromEntries(allNodes.map((n) => [n.role, `sw-${n.role}`])) } };
  const gateway: LabGateway = { ns: ns.gw, uplink: 'eth0', uplinkAddress: STORY.gatewayUplink, clientAddress: STORY.client };
  // The tunnels: n1-n2 over the lab's overlay, n1-n3 over the other type. n1's end toward n3 has
  // its own device (the other type) and address.
  const links: TunnelLink[] = [
    { kind: overlay, a: { node: n1, address: STORY.node1Tunnel }, b: { node: n2, address: STORY.node2Tunnel } },
    ...(n3 ? [{ kind: second, a: { node: n1, address: STORY.node1SecondTunnel }, b: { node: n3, address: STORY.node3Tunnel } }] : []),
  ];

  let tunnelImpl: TunnelImpl = 'vxlan';
  const t0 = Date.now();
  const step = (what: string): void => options.log?.(`lab ${id}: ${what} (${Date.now() - t0} ms)`);
  try {
    for (const role of roles) {
      await run(['ip', 'netns', 'add', ns[role]]);
      created.push(ns[role]);
    }
    step('namespaces created');
    await configureSysctls(ns, roles);
    step('sysctls set');
    await buildFabric(ns, roles, fabric, gateway, allNodes);
    step('fabric and uplinks ready');
    for (const p of Object.values(pods)) await buildPod(nodes[p.node as 'n1'] as LabNode, p);
    step('pods ready');
    for (const link of links) {
      const impl = link.kind === 'vxlan' ? (await buildVxlan(link), 'vxlan' as const) : await buildIpip(link, options.ipipImpl ?? 'auto', processes);
      if (link.b.node.role === 'n2') tunnelImpl = impl;
    }
    // Explicit per-tunnel strict mode on every node (the story's nodes share one config). Only the
    // nodes behind n1 drop: n1 never receives gateway traffic on a tunnel.
    for (const node of allNodes) await sysctl(node.ns, node.tunnels.map((t) => `${sysctlKeyForInterface(t, 'rp_filter')}=1`));
    step(`${links.map((l) => l.kind).join(' and ')} overlay ready`);
    if (options.listeners ?? true) {
      const script = labScript('lab-traffic.py');
      const listeners: Array<[string, string]> = [...Object.values(pods).map((p): [string, string] => [p.ns, '0.0.0.0']), [ns.gw, STORY.client]];
      await startAll(processes, listeners.map(([where, addr]) => ({
        argv: inNetns(where, [pythonExecutable(), script, 'listen', '--addr', addr, '--port', String(STORY.servicePort), '--parent-pid', String(process.pid)]),
        ready: /^ready/m,
        label: `listener in ${where}`,
      })));
      step('listeners ready');
    }
  } catch (e) {
    await destroy().catch(() => undefined);
    throw e;
  }

  return {
    id,
    prefix,
    overlay,
    tunnelImpl,
    namespaces: Object.fromEntries(roles.map((r) => [r, ns[r]])) as StoryTopology['namespaces'],
    fabric,
    gateway,
    nodes,
    pods,
    exec: (which, argv, opts) => run(inNetns(resolveNs(which), argv), opts),
    execResult: (which, argv, opts) => runResult(inNetns(resolveNs(which), argv), opts),
    destroy,
  };
}

/** The namespace of a role of this lab; throws for n3/pb in a two-node lab. */
export function labNamespace(topology: StoryTopology, role: LabNsRole): string {
  const name = (topology.namespaces as Partial<Record<LabNsRole, string>>)[role];
  if (name === undefined) throw new Error(`lab ${topology.id} has no ${role} namespace`);
  return name;
}

/** A node of this lab; throws for n3 in a two-node lab. */
export function labNode(topology: StoryTopology, role: NodeRole): LabNode {
  const node = (topology.nodes as Partial<Record<NodeRole, LabNode>>)[role];
  if (node === undefined) throw new Error(`lab ${topology.id} has no node ${role}`);
  return node;
}

/** One tunnel between two nodes: its type and each end's node and tunnel address. */
interface TunnelLink {
  readonly kind: Overlay;
  readonly a: TunnelEnd;
  readonly b: TunnelEnd;
}

interface TunnelEnd {
  readonly node: LabNode;
  readonly address: string;
}

/**
 * Starts helpers concurrently (python start-up dominates) and records every one that started in
 * `into`, also when another failed, so destroy() can stop them.
 */
async function startAll(into: BackgroundProcess[], specs: ReadonlyArray<StartOptions>): Promise<void> {
  const results = await Promise.allSettled(specs.map((s) => BackgroundProcess.start(s)));
  for (const r of results) if (r.status === 'fulfilled') into.push(r.value);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}

async function ip(ns: string, ...args: string[]): Promise<void> {
  await run(['ip', '-n', ns, ...args]);
}

async function sysctl(ns: string, assignments: readonly string[]): Promise<void> {
  await run(inNetns(ns, ['sysctl', '-q', '-w', ...assignments]));
}

/**
 * Sets every sysctl the story depends on, before any link exists (new links copy `default`).
 *
 * A new namespace copies net.ipv4.conf.{all,default} from the host (devconf_inherit_init_net=0),
 * and many distributions ship rp_filter=2 there: with all=2, strict mode on an interface would
 * silently be loose (effective = max(all, iface)) and the story would not happen. So set all
 * values explicitly, in every namespace.
 */
async function configureSysctls(ns: Record<LabNsRole, string>, roles: readonly LabNsRole[]): Promise<void> {
  const ipv6 = existsSync('/proc/sys/net/ipv6');
  for (const role of roles) {
    const isNode = role === 'n1' || role === 'n2' || role === 'n3';
    const strict = isNode ? '1' : '0';
    const a = [
      `net.ipv4.conf.all.rp_filter=${strict}`,
      `net.ipv4.conf.default.rp_filter=${strict}`,
      `net.ipv4.ip_forward=${isNode ? '1' : '0'}`,
    ];
    // No IPv6: router solicitations and MLD reports would only be noise in the captures.
    if (ipv6) a.push('net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
    await sysctl(ns[role], a);
  }
}

async function buildFabric(
  ns: Record<LabNsRole, string>,
  roles: readonly LabNsRole[],
  fabric: LabFabric,
  gateway: LabGateway,
  nodes: readonly LabNode[],
): Promise<void> {
  for (const role of roles) await ip(ns[role], 'link', 'set', 'lo', 'up');
  await ip(fabric.ns, 'link', 'add', fabric.bridge, 'type', 'bridge');
  await ip(fabric.ns, 'link', 'set', fabric.bridge, 'up');
  const attached: Array<['gw' | NodeRole, string, string]> = [
    ['gw', gateway.uplinkAddress, gateway.uplink],
    ...nodes.map((n): ['gw' | NodeRole, string, string] => [n.role, n.uplinkAddress, n.uplink]),
  ];
  for (const [role, address, uplink] of attached) {
    const port = fabric.ports[role] as string;
    // Create in the fabric and push the peer straight into its namespace: no name ever exists in
    // the host namespace, so parallel labs cannot clash on "eth0".
    await ip(fabric.ns, 'link', 'add', port, 'type', 'veth', 'peer', 'name', uplink, 'netns', ns[role]);
    await ip(fabric.ns, 'link', 'set', port, 'master', fabric.bridge, 'up');
    await ip(ns[role], 'addr', 'add', `${address}/24`, 'dev', uplink);
    await ip(ns[role], 'link', 'set', uplink, 'up');
  }
  await ip(gateway.ns, 'addr', 'add', `${gateway.clientAddress}/32`, 'dev', 'lo');
  // Every block via node1: the wrong advertisement of the story. `src` makes the client address the
  // default source for anything the gateway sends to the pods.
  const [first] = nodes;
  for (const node of nodes) {
    await ip(gateway.ns, 'route', 'add', node.podBlock, 'via', (first as LabNode).uplinkAddress, 'dev', gateway.uplink, 'src', gateway.clientAddress);
  }
  for (const node of nodes) {
    await ip(node.ns, 'route', 'add', 'default', 'via', gateway.uplinkAddress, 'dev', node.uplink);
  }
}

async function buildPod(node: LabNode, pod: LabPod): Promise<void> {
  await ip(node.ns, 'link', 'add', pod.hostVeth, 'address', CALI_MAC, 'type', 'veth', 'peer', 'name', pod.iface, 'netns', pod.ns);
  await ip(pod.ns, 'addr', 'add', `${pod.address}/32`, 'dev', pod.iface);
  await ip(pod.ns, 'link', 'set', pod.iface, 'up');
  await ip(pod.ns, 'route', 'add', 'default', 'via', STORY.podGateway, 'dev', pod.iface, 'onlink');
  await ip(node.ns, 'link', 'set', pod.hostVeth, 'up');
  // proxy_arp answers the pod's ARP for 169.254.1.1; proxy_delay=0 as Calico sets it, otherwise the
  // first reply waits a random part of 0.8 s.
  await sysctl(node.ns, [
    `${sysctlKeyForInterface(pod.hostVeth, 'proxy_arp')}=1`,
    `net.ipv4.neigh.${pod.hostVeth}.proxy_delay=0`,
    `${sysctlKeyForInterface(pod.hostVeth, 'rp_filter')}=1`,
  ]);
  await ip(node.ns, 'route', 'add', `${pod.address}/32`, 'dev', pod.hostVeth, 'scope', 'link');
}

async function buildVxlan(link: TunnelLink): Promise<void> {
  const device = tunnelDevice('vxlan');
  for (const end of [link.a, link.b]) {
    const node = end.node;
    await ip(node.ns, 'link', 'add', device, 'address', VXLAN_MAC[node.role], 'type', 'vxlan',
      'id', String(STORY.vxlanVni), 'dstport', String(STORY.vxlanPort), 'local', node.uplinkAddress,
      'dev', node.uplink, 'nolearning');
    await ip(node.ns, 'link', 'set', device, 'mtu', '1450', 'up');
    await ip(node.ns, 'addr', 'add', `${end.address}/32`, 'dev', device);
  }
  for (const [end, peer] of [[link.a, link.b], [link.b, link.a]] as const) {
    const mac = VXLAN_MAC[peer.node.role];
    await ip(end.node.ns, 'neigh', 'replace', peer.address, 'lladdr', mac, 'dev', device, 'nud', 'permanent');
    await run(['bridge', '-n', end.node.ns, 'fdb', 'replace', mac, 'dev', device, 'dst', peer.node.uplinkAddress, 'self', 'permanent']);
    await ip(end.node.ns, 'route', 'add', peer.node.podBlock, 'via', peer.address, 'dev', device, 'onlink');
  }
}

async function buildIpip(
  link: TunnelLink,
  impl: 'auto' | 'kernel' | 'userspace',
  processes: BackgroundProcess[],
): Promise<TunnelImpl> {
  const device = tunnelDevice('ipip');
  // With the ipip module loaded, every new namespace gets the fallback device tunl0.
  const hasKernelTunl0 = (await runResult(['ip', '-n', link.a.node.ns, 'link', 'show', device])).code === 0;
  if (impl === 'kernel' && !hasKernelTunl0) throw new Error('ipip: kernel tunl0 not available (no ipip module)');
  const kernel = hasKernelTunl0 && impl !== 'userspace';
  if (hasKernelTunl0 && !kernel) {
    throw new Error('ipip: the kernel already created tunl0 in the namespace; a userspace tunl0 cannot be made');
  }
  for (const end of [link.a, link.b]) {
    // TUN default flags from `ip tuntap` are IFF_TUN|IFF_NO_PI; persistent, so addresses and routes
    // can be set before the helper attaches, and survive a helper restart.
    if (!kernel) await ip(end.node.ns, 'tuntap', 'add', 'dev', device, 'mode', 'tun');
    await ip(end.node.ns, 'link', 'set', device, 'mtu', '1480', 'up');
    await ip(end.node.ns, 'addr', 'add', `${end.address}/32`, 'dev', device);
  }
  const ends = [[link.a, link.b], [link.b, link.a]] as const;
  if (!kernel) {
    const script = labScript('ipip-tunnel.py');
    await startAll(processes, ends.map(([end, peer]) => ({
      argv: inNetns(end.node.ns, [pythonExecutable(), script, '--dev', device, '--local', end.node.uplinkAddress,
        '--peer', peer.node.uplinkAddress, '--parent-pid', String(process.pid)]),
      ready: /^ready/m,
      label: `ipip helper in ${end.node.ns}`,
    })));
  }
  for (const [end, peer] of ends) {
    // Calico's IPIP route: the next hop is the peer's uplink address, which the kernel's ipip
    // driver uses as the outer destination (our helper has a fixed peer and ignores it). onlink
    // because tunl0 has no subnet containing that address.
    await ip(end.node.ns, 'route', 'add', peer.node.podBlock, 'via', peer.node.uplinkAddress, 'dev', device, 'onlink');
  }
  return kernel ? 'ipip-kernel' : 'ipip-userspace';
}

// ---- remedy and kernel evidence ------------------------------------------------------------------

export interface RemedyResult {
  readonly ns: string;
  readonly key: string;
  readonly previous: number;
  readonly value: number;
}

/**
 * The fix that works and keeps spoofing protection: loose mode on node2's tunnel. Effective
 * rp_filter is max(all, iface), so with all=1 the interface value 2 wins; 0 on the interface alone
 * (the story's first attempt) would change nothing.
 */
export async function applyRemedy(topology: StoryTopology, role: 'n2' | 'n3' = 'n2'): Promise<RemedyResult> {
  const node = labNode(topology, role);
  const previous = await readSysctl(topology, role, node.tunnelRpFilterKey);
  await topology.exec(role, ['sysctl', '-q', '-w', `${node.tunnelRpFilterKey}=2`]);
  return { ns: node.ns, key: node.tunnelRpFilterKey, previous, value: 2 };
}

export async function readSysctl(topology: StoryTopology, ns: LabNsRole, key: string): Promise<number> {
  const out = await topology.exec(ns, ['sysctl', '-n', key]);
  const value = Number(out.trim());
  if (!Number.isFinite(value)) throw new Error(`sysctl ${key} in ${ns}: not a number: ${oneLine(out)}`);
  return value;
}

/** rp_filter of a node's interface as the kernel applies it. */
export async function effectiveRpFilter(
  topology: StoryTopology,
  node: NodeRole,
  iface: string,
): Promise<{ all: number; iface: number; effective: number }> {
  const all = await readSysctl(topology, node, 'net.ipv4.conf.all.rp_filter');
  const own = await readSysctl(topology, node, sysctlKeyForInterface(iface, 'rp_filter'));
  return { all, iface: own, effective: Math.max(all, own) };
}

/**
 * /proc/net/netstat of a namespace as nstat names it (`TcpExtIPReversePathFilter`): the file is
 * pairs of lines, a header "TcpExt: Name1 Name2 ..." and a value line "TcpExt: 1 2 ...".
 */
export async function readNetstat(topology: StoryTopology, ns: LabNsRole): Promise<Record<string, number>> {
  const text = await topology.exec(ns, ['cat', '/proc/net/netstat']);
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const counters: Record<string, number> = {};
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const head = (lines[i] ?? '').trim().split(/\s+/);
    const vals = (lines[i + 1] ?? '').trim().split(/\s+/);
    const group = (head[0] ?? '').replace(/:$/, '');
    for (let k = 1; k < head.length; k++) counters[`${group}${head[k] ?? ''}`] = Number(vals[k]);
  }
  return counters;
}

/**
 * `ip route get <dst> from <src> iif <iif>` in a node: the kernel's own input-route decision, which
 * includes the reverse-path check. ok=false is what a packet that rp_filter would drop gets.
 */
export async function routeGet(
  topology: StoryTopology,
  node: NodeRole,
  dst: string,
  src: string,
  iif: string,
): Promise<{ ok: boolean; output: string }> {
  const r = await topology.execResult(node, ['ip', 'route', 'get', dst, 'from', src, 'iif', iif]);
  return { ok: r.code === 0, output: oneLine(r.code === 0 ? r.stdout : r.stderr) };
}
