/**
 * What the agent's container may do, the same in docker-compose.yml and deploy/kubernetes/: root
 * with exactly these capabilities, measured (Debian bookworm's tcpdump 4.99 and bpftrace 0.17, the
 * agent image's; capabilities bounded with setpriv, tracefs bind-mounted read-only):
 *  - NET_RAW, NET_ADMIN: tcpdump's capture socket.
 *  - BPF, PERFMON: bpftrace's program on skb:kfree_skb (with BPFTRACE_BTF set, as the image does;
 *    without it bpftrace enumerates BTF objects, which needs SYS_ADMIN, and fails to compile).
 *  - SYS_RESOURCE: bpftrace raises RLIMIT_MEMLOCK (kernels before 5.11 charge BPF maps to it).
 *  - SETUID, SETGID: Debian's tcpdump, started as root, switches to its `tcpdump` user once the
 *    capture is open, and exits ("Couldn't change to 'tcpdump' uid=...") when it cannot.
 *  - KILL: the agent then signals another user's process (SIGUSR1 for the capture's counters,
 *    SIGTERM to stop it); without it the agent cannot stop its capture.
 */
export const AGENT_CAPABILITIES = ['BPF', 'KILL', 'NET_ADMIN', 'NET_RAW', 'PERFMON', 'SETGID', 'SETUID', 'SYS_RESOURCE'] as const;

/** Where bpftrace finds the tracepoints' formats; mounted from the host, read-only. */
export const TRACEFS = '/sys/kernel/tracing';

/** The agent's spool inside its container (the agent's default --spool-dir). */
export const SPOOL_DIR = '/var/lib/pathwatch/spool';
