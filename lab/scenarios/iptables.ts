/**
 * iptables for the netfilter scenarios: rules written in the namespace of the node they belong to
 * (n2, n1, or the gateway; every namespace has its own tables), in the form Calico's Felix writes
 * them (`-m comment --comment cali:<id>` on every rule), through whatever backend `iptables` is here
 * (Debian 12: iptables-nft, so the rules are nftables rules that `nft list ruleset` shows too).
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import type { LabNsRole, StoryTopology } from '../topology.js';

/** Why iptables cannot be used here, or null. Synchronous: the CLI and the tests ask before building anything. */
export function iptablesUnavailableReason(): string | null {
  try {
    execFileSync('iptables', ['--version'], { stdio: 'ignore', timeout: 10_000 });
    return null;
  } catch {
    return 'iptables is not installed (Debian: apt-get install iptables)';
  }
}

/**
 * A rule id like Felix's (`cali:` and 16 characters of a hash of the rule), so the rules read like
 * a Calico node's; derived from the rule's own text, so every lab writes the same ids.
 */
export function calicoComment(ruleText: string): string {
  return `cali:${createHash('sha256').update(ruleText).digest('base64url').slice(0, 16)}`;
}

/** `iptables ARGS` in one of the lab's namespaces; returns the argv as run (for the report). */
export async function iptables(topology: StoryTopology, where: LabNsRole, args: readonly string[]): Promise<string[]> {
  const argv = ['iptables', ...args];
  await topology.exec(where, argv);
  return argv;
}

/**
 * One Calico-like rule in the order iptables-save prints it, so that the command the lab runs reads
 * like the rule pathwatch quotes: the built-in matches (`-i`, `-o`, `-s`), then the rule's comment id
 * (Felix puts it first among the modules), then the other match modules, then the target.
 */
export function calicoRule(builtin: readonly string[], modules: readonly string[], target: readonly string[]): string[] {
  const id = calicoComment([...builtin, ...modules, ...target].join(' '));
  return [...builtin, '-m', 'comment', '--comment', id, ...modules, ...target];
}
