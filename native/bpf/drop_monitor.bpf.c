/*
 * The kernel's word on each dropped packet (issue 15): on the skb:kfree_skb tracepoint (BTF-typed,
 * so the arguments are the kernel's own), the drop reason, the freeing function, the device, its
 * network namespace and the packet's first bytes from its network header, sent to user space
 * through a ring buffer (native/kernel/drop_monitor.c reads it in batches).
 *
 * CO-RE: the few kernel structures read here are declared with only the fields used, marked
 * preserve_access_index, so libbpf relocates each field against the running kernel's BTF: one
 * object for every kernel with BTF. Built by scripts/build-bpf.mjs with clang; the object is
 * committed beside this file, and a test rebuilds it and compares.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "drop_event.h"

struct ns_common {
  unsigned int inum;
} __attribute__((preserve_access_index));

struct net {
  struct ns_common ns;
} __attribute__((preserve_access_index));

typedef struct {
  struct net *net;
} possible_net_t;

struct net_device {
  int ifindex;
  possible_net_t nd_net;
} __attribute__((preserve_access_index));

struct sk_buff {
  struct net_device *dev;
  int skb_iif;
  unsigned int len;
  __u16 protocol;
  __u16 network_header;
  /* sk_buff_data_t: an offset from head on 64-bit kernels (NET_SKBUFF_DATA_USES_OFFSET). */
  unsigned int tail;
  unsigned char *head;
} __attribute__((preserve_access_index));

/* 4 MiB of events: a burst of about 20,000 drops before user space must have read them. */
struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 1 << 22);
} events SEC(".maps");

/* Events the ring had no room for (user space read too slowly): per CPU, summed by the loader. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} lost SEC(".maps");

/*
 * Drops of reasons only a node's own sockets meet (NO_SOCKET, TCP_*, SOCKET_*: never a forwarded
 * packet's) are counted here per reason and device instead of sent one by one: a flood of packets
 * to a closed port would otherwise cost user space an event per packet for nothing to match.
 */
struct drop_count_key {
  __u32 reason;
  __u32 ifindex;
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, 4096);
  __type(key, struct drop_count_key);
  __type(value, __u64);
} counts SEC(".maps");

/* Drops in this namespace only (0: every namespace), the smallest reason reported, and the reasons
   (a bit each, below 256) that are only counted. Written by the loader before the load. */
const volatile __u32 only_netns = 0;
const volatile __u32 min_reason = 0;
const volatile __u64 counted_only[4] = {0, 0, 0, 0};

SEC("tp_btf/kfree_skb")
int BPF_PROG(on_kfree_skb, struct sk_buff *skb, void *location, int reason) {
  if ((__u32)reason < min_reason) return 0;
  struct net_device *dev = BPF_CORE_READ(skb, dev);
  __u32 netns = dev ? BPF_CORE_READ(dev, nd_net.net, ns.inum) : 0;
  if (only_netns != 0 && netns != only_netns) return 0;
  __u32 r = (__u32)reason;
  // Constant indexes only: a computed one is re-derived by the compiler from the untruncated
  // argument, and the verifier then cannot bound it.
  __u64 bits = r < 64 ? counted_only[0] : r < 128 ? counted_only[1] : r < 192 ? counted_only[2] : counted_only[3];
  if (r < 256 && ((bits >> (r & 63)) & 1)) {
    struct drop_count_key key = {.reason = r, .ifindex = dev ? (__u32)BPF_CORE_READ(dev, ifindex) : 0};
    __u64 *n = bpf_map_lookup_elem(&counts, &key);
    if (n == 0) {
      // Created here, or by another CPU just now (then the update fails and the lookup finds it).
      __u64 zero_count = 0;
      bpf_map_update_elem(&counts, &key, &zero_count, BPF_NOEXIST);
      n = bpf_map_lookup_elem(&counts, &key);
    }
    if (n) {
      *n += 1;
    } else {
      // Full (4,096 pairs): not counted, but counted as lost, so the tallies never look complete.
      __u32 zero = 0;
      __u64 *lost_n = bpf_map_lookup_elem(&lost, &zero);
      if (lost_n) *lost_n += 1;
    }
    return 0;
  }
  struct pw_drop_event *e = bpf_ringbuf_reserve(&events, sizeof *e, 0);
  if (e == 0) {
    __u32 zero = 0;
    __u64 *n = bpf_map_lookup_elem(&lost, &zero);
    if (n) *n += 1;
    return 0;
  }
  e->location = (__u64)location;
  e->reason = (__u32)reason;
  e->ifindex = dev ? (__u32)BPF_CORE_READ(dev, ifindex) : 0;
  e->netns = netns;
  e->iif = (__u32)BPF_CORE_READ(skb, skb_iif);
  e->len = BPF_CORE_READ(skb, len);
  e->protocol = BPF_CORE_READ(skb, protocol);
  unsigned char *head = BPF_CORE_READ(skb, head);
  __u16 network = BPF_CORE_READ(skb, network_header);
  // Offsets from head on 64-bit kernels (sk_buff_data_t): the linear part ends at tail. A packet
  // shorter than the copy still has its buffer behind it: the bytes past its end are whatever the
  // buffer holds, and `len` says where the packet ends. A packet whose payload is in pages (GRO
  // aggregates, TCP data) has only its headers before tail: `copied` stops there, so the engine
  // fingerprints the headers alone rather than the buffer's leftovers as payload.
  __u32 tail = BPF_CORE_READ(skb, tail);
  __u32 linear = tail > network ? tail - network : 0;
  int read = bpf_probe_read_kernel(e->bytes, PW_DROP_HEADER_BYTES, head + network);
  e->copied = read != 0 ? 0 : linear < PW_DROP_HEADER_BYTES ? (__u16)linear : PW_DROP_HEADER_BYTES;
  bpf_ringbuf_submit(e, 0);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
