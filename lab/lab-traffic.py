#!/usr/bin/env python3
"""Bounded test traffic for the pathwatch lab, run inside a namespace with `ip netns exec`.

    lab-traffic.py ping   --dst D [--src S] --count N --interval SEC --timeout SEC
    lab-traffic.py tcp    --dst D [--src S] --port P --count N --interval SEC --timeout SEC [--send BYTES]
    lab-traffic.py listen --addr A --port P

    gw ns (100.64.0.1) --ping/tcp--> pod ns      (answered, or vanished on the way)
    pod ns --ping/tcp--> 100.64.0.1 (listen in gw)  (leaves the node by its uplink)
    pod ns: listen 0.0.0.0:80                       (started by the topology)

`ping` and `tcp` print one JSON line with what was sent and what was answered, and always end:
every wait has a deadline. `listen` is a TCP listener that reads each connection until the client's
FIN (at most 2 s) and then closes it; it prints `ready` once listening and exits on SIGTERM or when
its parent (the lab's Node process) dies.

`tcp --send BYTES` (0, the default: connect and close, nothing more; at most 65536) sends BYTES after
connecting, closes its side (FIN) and reads until the server's FIN, within another --timeout:
"connected" only when the server's FIN came and everything sent was acknowledged, "stalled" when
the time ran out first.
connect() alone proves little when a node drops only part of a flow: the SYN-ACK can come back
while the handshake's ACK, or the full-sized segments, vanish on the way in.

Why not ping(8): the lab must not depend on iputils being installed (it is missing from slim
images), and a raw ICMP socket gives us exact per-sequence answers and quoted ICMP errors.
"""

import argparse
import ctypes
import errno
import fcntl
import json
import os
import random
import select
import signal
import socket
import struct
import sys
import termios
import threading
import time

PR_SET_PDEATHSIG = 1
# The listener's bound on one connection: long enough for any probe's data, short enough that a
# client whose bytes vanish cannot keep a thread for long.
DRAIN_SECONDS = 2.0
# tcp --send: a few full-sized segments are all a probe needs; more would only be a flood.
MAX_SEND_BYTES = 65536


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def ping(args) -> dict:
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    if args.src:
        sock.bind((args.src, 0))
    ident = random.randrange(1, 0xFFFF)  # concurrent pings from one namespace must not mix replies
    dst = socket.inet_aton(args.dst)
    sent_at = {}
    replies = {}
    errors = []
    send_errors = []
    start = time.monotonic()
    next_send = start
    seq = 0
    deadline = None
    while True:
        now = time.monotonic()
        if seq < args.count and now >= next_send:
            seq += 1
            payload = struct.pack("!d", time.time()) + b"pathwatch-lab".ljust(48, b".")
            header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
            packet = struct.pack("!BBHHH", 8, 0, checksum(header + payload), ident, seq) + payload
            try:
                sock.sendto(packet, (args.dst, 0))
                sent_at[seq] = now
            except OSError as e:
                # Refused before it left (a pod whose interface is down has no route): an outcome
                # like a lost answer, not a reason to print no result.
                send_errors.append({"seq": seq, "errno": errno.errorcode.get(e.errno, str(e.errno)) if e.errno else "error"})
            next_send = now + args.interval
            if seq == args.count:
                deadline = now + args.timeout
        if deadline is not None and (now >= deadline or len(replies) == args.count):
            break
        wait = (next_send if seq < args.count else deadline) - time.monotonic()
        readable, _, _ = select.select([sock], [], [], max(0.0, wait))
        if not readable:
            continue
        data, _ = sock.recvfrom(65535)
        ihl = (data[0] & 0x0F) * 4
        src = data[12:16]
        icmp = data[ihl:]
        if len(icmp) < 8:
            continue
        itype, code, _, rid, rseq = struct.unpack("!BBHHH", icmp[:8])
        if itype == 0 and rid == ident and src == dst and rseq in sent_at and rseq not in replies:
            replies[rseq] = round((time.monotonic() - sent_at[rseq]) * 1000, 3)
        elif itype in (3, 11) and len(icmp) >= 28 + 8:
            # An ICMP error quotes our IP header + 8 bytes: the echo id tells us it is ours.
            quoted = icmp[8:]
            qihl = (quoted[0] & 0x0F) * 4
            if len(quoted) >= qihl + 8:
                q = struct.unpack("!BBHHH", quoted[qihl:qihl + 8])
                if q[0] == 8 and q[3] == ident:
                    errors.append({"from": socket.inet_ntoa(src), "type": itype, "code": code, "seq": q[4]})
    return {
        "kind": "icmp",
        "src": args.src or None,
        "dst": args.dst,
        "sent": seq,
        "answered": len(replies),
        "answeredSeqs": sorted(replies),
        "rttMs": [replies[s] for s in sorted(replies)],
        "errors": errors,
        "sendErrors": send_errors,
    }


def exchange(sock, nbytes: int, timeout: float) -> str:
    """After connect: send nbytes, FIN, read until the server's FIN; the outcome of the attempt."""
    deadline = time.monotonic() + timeout
    sock.settimeout(timeout)
    try:
        # More than the send buffer holds blocks here while nothing is acknowledged.
        sock.sendall(b"pathwatch-lab.".ljust(64, b".") * (nbytes // 64) + b"." * (nbytes % 64))
    except socket.timeout:
        return "stalled"
    sock.shutdown(socket.SHUT_WR)
    eof = False
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return "stalled"
        if eof:
            # The server closes after at most 2 s whether our bytes came or not (the listener's
            # bound), so its FIN proves nothing alone: what we sent (and our FIN) must be
            # acknowledged too. SIOCOUTQ (= TIOCOUTQ) is what is still unacknowledged.
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                return errno.errorcode.get(err, str(err))
            unacked = struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))[0]
            if unacked == 0:
                return "connected"
            time.sleep(min(0.05, remaining))
            continue
        sock.settimeout(remaining)
        try:
            if not sock.recv(65536):
                eof = True
        except socket.timeout:
            return "stalled"


def tcp(args) -> dict:
    outcomes = []
    for i in range(args.count):
        if i:
            time.sleep(args.interval)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            if args.src:
                sock.bind((args.src, 0))
            sock.settimeout(args.timeout)
            sock.connect((args.dst, args.port))
            outcomes.append(exchange(sock, args.send, args.timeout) if args.send else "connected")
        except ConnectionRefusedError:
            outcomes.append("refused")
        except socket.timeout:
            outcomes.append("timeout")
        except OSError as e:
            outcomes.append(errno.errorcode.get(e.errno, str(e.errno)) if e.errno else "error")
        finally:
            sock.close()
    answered = sum(1 for o in outcomes if o in ("connected", "refused"))
    return {
        "kind": "tcp",
        "src": args.src or None,
        "dst": args.dst,
        "port": args.port,
        "sent": len(outcomes),
        "answered": answered,
        "outcomes": outcomes,
    }


def listen(args) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    parent = args.parent_pid or os.getppid()
    if os.getppid() != parent:
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((args.addr, args.port))
    srv.listen(64)
    print(f"ready listening on {args.addr}:{args.port}", flush=True)
    while True:
        readable, _, _ = select.select([srv], [], [], 1.0)
        if os.getppid() != parent:
            return 0
        if readable:
            conn, _ = srv.accept()
            threading.Thread(target=drain, args=(conn,), daemon=True).start()


def drain(conn) -> None:
    """Reads until the client's FIN (or DRAIN_SECONDS), then closes: the server's FIN comes after
    the client's, so a client that sent data and waits for EOF does not get it before its data
    had the time to arrive."""
    deadline = time.monotonic() + DRAIN_SECONDS
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            conn.settimeout(remaining)
            if not conn.recv(65536):
                break
    except OSError:
        pass  # timeout, reset: the connection is over either way
    finally:
        conn.close()


def main() -> int:
    ap = argparse.ArgumentParser(description="pathwatch lab traffic")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("ping")
    p.add_argument("--dst", required=True)
    p.add_argument("--src", default="")
    p.add_argument("--count", type=int, default=3)
    p.add_argument("--interval", type=float, default=0.2)
    p.add_argument("--timeout", type=float, default=1.0)
    t = sub.add_parser("tcp")
    t.add_argument("--dst", required=True)
    t.add_argument("--src", default="")
    t.add_argument("--port", type=int, default=80)
    t.add_argument("--count", type=int, default=2)
    t.add_argument("--interval", type=float, default=0.1)
    t.add_argument("--timeout", type=float, default=0.9)
    t.add_argument("--send", type=int, default=0)
    l = sub.add_parser("listen")
    l.add_argument("--addr", default="0.0.0.0")
    l.add_argument("--port", type=int, default=80)
    l.add_argument("--parent-pid", type=int, default=0)
    args = ap.parse_args()
    if args.cmd == "listen":
        return listen(args)
    # Hard caps: a typo in a count must not turn a test into a flood or a hang.
    args.count = max(1, min(args.count, 100))
    args.interval = max(0.01, min(args.interval, 5.0))
    args.timeout = max(0.05, min(args.timeout, 10.0))
    if args.cmd == "tcp":
        args.send = max(0, min(args.send, MAX_SEND_BYTES))
    result = ping(args) if args.cmd == "ping" else tcp(args)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
