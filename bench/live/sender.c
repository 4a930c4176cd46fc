/*
 * Paced UDP sender for the live-capture benchmark (bench/live/run-live-bench.ts).
 *
 * Why a C sender: the question is how fast a capture can keep up, so the traffic source must not be
 * the bottleneck. sendmmsg() hands the kernel a batch of datagrams per system call, which is what
 * lets one core reach several hundred thousand packets per second; a Node or shell sender would
 * cap the ladder far below what tcpdump can capture.
 *
 * What it sends: UDP datagrams to DST:PORT (the benchmark uses the discard port 9 on an address
 * inside a network namespace the runner created), at RATE packets per second for SECONDS. Payload
 * sizes follow a fixed mix (small, medium and MTU-sized, like a real node's traffic), and the first
 * 8 bytes of every payload hold a running counter, so no two packets are alike: pathwatch
 * fingerprints packets by their bytes, and identical payloads would collapse into one flow of
 * "repeats" instead of exercising the pipeline as distinct packets.
 *
 * Pacing: batches of BATCH datagrams; before each batch the sender waits until the schedule
 * (start + sent / RATE) says it is due, sleeping when far ahead and spinning for the last stretch.
 * When the CPU cannot keep up it simply falls behind: the printed elapsed time and achieved rate
 * tell the runner whether the target was met.
 *
 * The socket is connected, so the kernel reuses one route instead of looking it up per datagram.
 * The receiving side must therefore have a socket bound to the port (`sender sink`, below): a closed
 * port answers with ICMP port-unreachable, which a connected socket reports as ECONNREFUSED (those
 * datagrams are counted as errors, not as sent).
 *
 * Sink mode: on this VM the receive path of the veth runs in softirq on the sender's own core
 * (veth_xmit -> backlog -> local NET_RX), so what namespace b does with each datagram caps the
 * sender. A closed port costs a route lookup and an ICMP error attempt per packet (the sender tops
 * out near 160k pps); a bound socket whose tiny receive buffer is never read drops each datagram
 * right after the socket lookup (SOCKET_RCVBUFF, not a forwarding drop reason, so pathwatch's eBPF
 * monitor ignores it) and lets the sender go about 40% faster. Captures see the packets either way:
 * packet taps run before IP.
 *
 * Output (stdout, one line): {"sent":N,"attempted":N,"errors":N,"seconds":S,"rate":R}
 * Usage: sender DST_IPV4 PORT RATE_PPS SECONDS [BATCH]
 *        sender sink BIND_IPV4 PORT MAX_SECONDS   (holds the port until killed or MAX_SECONDS)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_BATCH 256
#define MAX_PAYLOAD 1400

/* The payload-size mix: 16 slots cycled in order, mean about 560 bytes, all under a 1500 MTU. */
static const uint16_t SIZES[16] = {64, 1400, 128, 576, 64, 256, 1400, 90, 512, 64, 1200, 160, 1400, 64, 320, 800};

/* Binds BIND:PORT with the smallest receive buffer and never reads: a discard port that costs
 * nothing in user space. Prints "sink ready" once bound. */
static int sink(const char *bind_addr, long port, double max_seconds) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, bind_addr, &a.sin_addr) != 1 || port <= 0 || port > 65535 || !(max_seconds > 0) || max_seconds > 3600) {
    fprintf(stderr, "sink: usage: sink BIND_IPV4 PORT MAX_SECONDS (<= 3600)\n");
    return 2;
  }
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int rcvbuf = 1; /* the kernel rounds it up to its minimum */
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    perror("sink");
    return 1;
  }
  printf("sink ready\n");
  fflush(stdout);
  struct timespec ts = {(time_t)max_seconds, 0};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    /* resume the remaining sleep */
  }
  close(fd);
  return 0;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc == 5 && strcmp(argv[1], "sink") == 0) return sink(argv[2], strtol(argv[3], NULL, 10), strtod(argv[4], NULL));
  if (argc < 5) {
    fprintf(stderr, "usage: %s DST_IPV4 PORT RATE_PPS SECONDS [BATCH]\n", argv[0]);
    return 2;
  }
  const char *dst = argv[1];
  const long port = strtol(argv[2], NULL, 10);
  const double rate = strtod(argv[3], NULL);
  const double seconds = strtod(argv[4], NULL);
  const long batch = argc > 5 ? strtol(argv[5], NULL, 10) : 64;
  if (port <= 0 || port > 65535 || !(rate > 0) || !(seconds > 0) || seconds > 60 || batch < 1 || batch > MAX_BATCH) {
    fprintf(stderr, "sender: bad arguments (port 1..65535, rate > 0, 0 < seconds <= 60, 1 <= batch <= %d)\n", MAX_BATCH);
    return 2;
  }
  struct sockaddr_in to;
  memset(&to, 0, sizeof to);
  to.sin_family = AF_INET;
  to.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, dst, &to.sin_addr) != 1) {
    fprintf(stderr, "sender: not an IPv4 address: %s\n", dst);
    return 2;
  }
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) {
    perror("sender: socket");
    return 1;
  }
  if (connect(fd, (struct sockaddr *)&to, sizeof to) < 0) {
    perror("sender: connect");
    return 1;
  }
  int sndbuf = 4 << 20;
  (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  /* Sleeps of tens of microseconds must not be stretched by the default 50 us timer slack. */
  (void)prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);

  static uint8_t payloads[MAX_BATCH][MAX_PAYLOAD];
  static struct iovec iov[MAX_BATCH];
  static struct mmsghdr msgs[MAX_BATCH];
  for (long i = 0; i < batch; i++) {
    /* A fixed, deterministic filler after the counter. */
    for (int j = 0; j < MAX_PAYLOAD; j++) payloads[i][j] = (uint8_t)(j * 31 + 7);
    iov[i].iov_base = payloads[i];
    memset(&msgs[i], 0, sizeof msgs[i]);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }

  const uint64_t total = (uint64_t)(rate * seconds + 0.5);
  uint64_t counter = 0; /* next packet's sequence number (= packets attempted) */
  uint64_t sent = 0;
  uint64_t errors = 0;
  const double start = now_seconds();
  const double deadline = start + seconds * 1.5 + 1.0; /* a hard stop if the kernel stalls us */
  while (counter < total) {
    const double due = start + (double)counter / rate;
    double t = now_seconds();
    if (t > deadline) break;
    if (due - t > 200e-6) {
      const double nap = due - t - 100e-6;
      struct timespec ts = {(time_t)nap, (long)((nap - (double)(time_t)nap) * 1e9)};
      nanosleep(&ts, NULL);
    }
    while (now_seconds() < due) {
      /* spin for the last stretch */
    }
    long n = batch;
    if ((uint64_t)n > total - counter) n = (long)(total - counter);
    for (long i = 0; i < n; i++) {
      const uint64_t seq = counter + (uint64_t)i;
      memcpy(payloads[i], &seq, sizeof seq);
      iov[i].iov_len = SIZES[seq & 15];
    }
    long off = 0;
    while (off < n) {
      int r = sendmmsg(fd, &msgs[off], (unsigned)(n - off), 0);
      if (r < 0) {
        if (errno == EINTR) continue;
        /* ENOBUFS/EAGAIN, or ECONNREFUSED from an ICMP error: that datagram was not sent; move on. */
        errors++;
        off++;
        continue;
      }
      sent += (uint64_t)r;
      off += r;
    }
    counter += (uint64_t)n;
  }
  const double elapsed = now_seconds() - start;
  printf("{\"sent\":%llu,\"attempted\":%llu,\"errors\":%llu,\"seconds\":%.6f,\"rate\":%.1f}\n", (unsigned long long)sent,
         (unsigned long long)counter, (unsigned long long)errors, elapsed, elapsed > 0 ? (double)sent / elapsed : 0.0);
  close(fd);
  return 0;
}
