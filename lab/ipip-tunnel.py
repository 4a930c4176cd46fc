#!/usr/bin/env python3
"""Userspace IPIP tunnel for the pathwatch lab (kernels without the ipip module).

Calico's IPIP mode uses the kernel's tunl0 (ipip fallback device). When the kernel has no ipip
module, the lab makes the same thing from a TUN device and this helper, one per node namespace:

    node1 ns                                          node2 ns
    tunl0 (TUN, IFF_NO_PI: raw IP, no ARP)            tunl0
      | read inner IP packet                            ^ write inner IP packet
      v                                                 |
    this helper -- raw socket, IPPROTO_IPIP (4) ----> this helper
      outer IP 192.168.77.11 -> 192.168.77.12 (proto 4) over eth0

The kernel on the receiving node sees the inner packet arrive *on tunl0*, exactly as with the real
ipip driver, so rp_filter judges it against tunl0: that is the point of the story.

Sending: a raw socket with protocol 4 and no IP_HDRINCL makes the kernel write the outer IPv4
header (protocol 4, source = bound address); we give it the inner packet as payload.
Receiving: a raw socket with protocol 4 gets every IPIP packet for the bound address, *with* the
outer header; we strip it and write the inner packet to the TUN. With no ipip module the kernel
has no handler for protocol 4, but a raw socket that took the packet suppresses the ICMP
"protocol unreachable" it would otherwise send.

The helper is started by `ip netns exec <node ns> python3 ipip-tunnel.py ...` (ip execs, so our
parent is the lab's Node process). It exits on SIGTERM/SIGINT, when that parent dies
(PR_SET_PDEATHSIG, plus a ppid check as a fallback), and prints one `ready` line once both the TUN
and the socket are open, so the caller knows the tunnel is live.
"""

import argparse
import ctypes
import fcntl
import os
import select
import signal
import socket
import struct
import sys

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
PR_SET_PDEATHSIG = 1
IPPROTO_IPIP = 4


class Stop(Exception):
    pass


def on_signal(signum, _frame):
    raise Stop(signal.Signals(signum).name)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dev", default="tunl0", help="TUN device to attach to (created with ip tuntap)")
    ap.add_argument("--local", required=True, help="this node's uplink address (outer source)")
    ap.add_argument("--peer", required=True, help="the other node's uplink address (outer destination)")
    ap.add_argument("--parent-pid", type=int, default=0, help="exit when this process is gone")
    args = ap.parse_args()

    # Die with the lab process: a stray helper would keep the namespace alive after `ip netns del`.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    parent = args.parent_pid or os.getppid()
    if os.getppid() != parent:
        return 0  # the parent died before prctl took effect
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    tun = os.open("/dev/net/tun", os.O_RDWR)
    ifr = struct.pack("16sH", args.dev.encode(), IFF_TUN | IFF_NO_PI).ljust(40, b"\0")
    fcntl.ioctl(tun, TUNSETIFF, ifr)

    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, IPPROTO_IPIP)
    sock.bind((args.local, 0))  # outer source address; also filters received packets by destination

    encap = decap = ignored = 0
    print(f"ready dev={args.dev} local={args.local} peer={args.peer}", flush=True)
    try:
        while True:
            readable, _, _ = select.select([tun, sock], [], [], 1.0)
            if os.getppid() != parent:
                break
            if tun in readable:
                inner = os.read(tun, 65535)
                if inner and inner[0] >> 4 == 4:
                    try:
                        sock.sendto(inner, (args.peer, 0))
                        encap += 1
                    except OSError:
                        ignored += 1  # e.g. EMSGSIZE; a real tunnel would drop it too
                else:
                    ignored += 1  # IPv6 or empty: Calico's IPIP carries IPv4 only
            if sock in readable:
                packet, (src, _) = sock.recvfrom(65535)
                ihl = (packet[0] & 0x0F) * 4
                inner = packet[ihl:]
                if src == args.peer and inner and inner[0] >> 4 == 4:
                    os.write(tun, inner)
                    decap += 1
                else:
                    ignored += 1
    except Stop:
        pass
    finally:
        print(f"stats encap={encap} decap={decap} ignored={ignored}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
