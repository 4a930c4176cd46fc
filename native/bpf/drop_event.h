/*
 * One kernel drop as the BPF program (drop_monitor.bpf.c) hands it to user space through its ring
 * buffer: shared by the program and its loader (native/kernel/drop_monitor.c), so both agree on
 * every byte. The packet's first bytes start at its network header (an IPv4 or IPv6 header for the
 * drops that matter), enough for the engine's decoder to compute the packet's fingerprint.
 */
#ifndef PW_DROP_EVENT_H
#define PW_DROP_EVENT_H

#define PW_DROP_HEADER_BYTES 128

struct pw_drop_event {
  /* The kernel function that freed the packet (the tracepoint's `location`). */
  unsigned long long location;
  /* enum skb_drop_reason, numbered as this kernel numbers it (the tracepoint's format names them). */
  unsigned int reason;
  /* The device the packet was on, that device's network namespace (its inode number), and the
     interface the packet came in by (skb->skb_iif; 0 for a packet this host sent). */
  unsigned int ifindex;
  unsigned int netns;
  unsigned int iif;
  /* skb->len, skb->protocol (network byte order, as the kernel keeps it), and how many of the bytes
     copied are the packet's linear part from its network header (at most PW_DROP_HEADER_BYTES; 0:
     nothing could be read). */
  unsigned int len;
  unsigned short protocol;
  unsigned short copied;
  unsigned char bytes[PW_DROP_HEADER_BYTES];
};

#endif
