/**
 * The interfaces of every node a pipeline watches, numbered densely so that sightings carry a small
 * integer instead of names. Replay registers them as files and pcapng blocks reveal them; the live
 * agent as it discovers them.
 */
import { interfaceRoleFromName, type InterfaceRole } from '../../core/findings/interface-roles.js';

export interface NodeInfo {
  readonly index: number;
  readonly name: string;
  /** A Linux `any` capture covers every interface of the node, so a missing exit hop is real. */
  coversAllInterfaces: boolean;
}

export interface InterfaceInfo {
  readonly id: number;
  readonly node: NodeInfo;
  readonly name: string;
  readonly role: InterfaceRole;
}

export class InterfaceRegistry {
  readonly nodes: NodeInfo[] = [];
  readonly interfaces: InterfaceInfo[] = [];
  private readonly nodeByName = new Map<string, NodeInfo>();
  private readonly ifaceByKey = new Map<string, InterfaceInfo>();

  constructor(private readonly roleOverrides: ReadonlyMap<string, InterfaceRole> = new Map()) {}

  node(name: string): NodeInfo {
    let n = this.nodeByName.get(name);
    if (!n) {
      n = { index: this.nodes.length, name, coversAllInterfaces: false };
      this.nodes.push(n);
      this.nodeByName.set(name, n);
    }
    return n;
  }

  /** The interface `name` of node `nodeName`, registered on first use. */
  interface(nodeName: string, name: string): InterfaceInfo {
    const key = `${nodeName}\u0000${name}`;
    let i = this.ifaceByKey.get(key);
    if (!i) {
      const node = this.node(nodeName);
      i = { id: this.interfaces.length, node, name, role: this.roleOverrides.get(name) ?? interfaceRoleFromName(name) };
      this.interfaces.push(i);
      this.ifaceByKey.set(key, i);
    }
    return i;
  }

  /** Interfaces of one node (for coverage questions). */
  interfacesOf(node: NodeInfo): InterfaceInfo[] {
    return this.interfaces.filter((i) => i.node === node);
  }
}
