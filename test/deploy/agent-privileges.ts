/**
 * What the agent's container may do, the same in docker-compose.yml and deploy/kubernetes/: root
 * with exactly these capabilities, measured by test/deploy/agent-privileges.test.ts (the agent itself,
 * its capabilities bounded with setpriv to this list, tracefs mounted read-only from outside):
 *  - NET_RAW, NET_ADMIN: the capture's packet socket and its ring (libpcap's pcap_activate).
 *  - BPF, PERFMON: the drop monitor's BPF program on skb:kfree_skb, loaded through libbpf in the
 *    agent's own process (its maps, its BTF, the attachment and its reads of kernel memory).
 * SYSLOG only lets /proc/kallsyms show addresses (the freeing function of a generic drop, named).
 * No SYS_RESOURCE any more: BPF memory is charged to the memory cgroup (kernels 5.11 and later; the
 * drop reasons need 5.17), so libbpf leaves RLIMIT_MEMLOCK alone (the test runs the agent with 64 KiB
 * of it). No SYS_ADMIN: tracefs comes mounted from the host, so the agent never mounts it.
 */
export const AGENT_CAPABILITIES = ['BPF', 'NET_ADMIN', 'NET_RAW', 'PERFMON', 'SYSLOG'] as const;

/** Where the drop monitor reads the tracepoint's format (the reasons' numbers); mounted from the host, read-only. */
export const TRACEFS = '/sys/kernel/tracing';

/** The agent's spool inside its container (the agent's default --spool-dir). */
export const SPOOL_DIR = '/var/lib/pathwatch/spool';
