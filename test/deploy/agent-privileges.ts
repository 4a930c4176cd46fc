/**
 * What the agent's container may do, the same in docker-compose.yml and deploy/kubernetes/: root
 * with exactly these capabilities, measured (libpcap 1.10 in the agent's own process and bpftrace
 * 0.17, Debian bookworm's as in the image; capabilities bounded with setpriv, tracefs read-only):
 *  - NET_RAW, NET_ADMIN: the capture's packet socket and its ring (libpcap's pcap_activate).
 *  - BPF, PERFMON: bpftrace's program on skb:kfree_skb (with BPFTRACE_BTF set, as the image does;
 *    without it bpftrace enumerates BTF objects, which needs SYS_ADMIN, and fails to compile).
 *  - SYS_RESOURCE: bpftrace raises RLIMIT_MEMLOCK (kernels before 5.11 charge BPF maps to it).
 * No SETUID, SETGID or KILL any more: they were tcpdump's (its switch to its own user, and the
 * agent's signals to that other user's process); bpftrace stays root, the agent's own user.
 */
export const AGENT_CAPABILITIES = ['BPF', 'NET_ADMIN', 'NET_RAW', 'PERFMON', 'SYS_RESOURCE'] as const;

/** Where bpftrace finds the tracepoints' formats; mounted from the host, read-only. */
export const TRACEFS = '/sys/kernel/tracing';

/** The agent's spool inside its container (the agent's default --spool-dir). */
export const SPOOL_DIR = '/var/lib/pathwatch/spool';
