/*
 * The kernel's drop events on one node, by the dropped packet's fingerprint (issue 15): the agent's
 * BPF program reports each packet the kernel frees with a drop reason, the engine fingerprints the
 * bytes it copied (pw_pipeline_kernel_drops), and keeps them here until the packets they dropped are
 * evaluated. A vanish candidate looks its own fingerprint up (hop_matcher.c), so a kernel drop
 * counts for exactly the packet it freed, never for another packet of the same flow.
 *
 * Two generations of open-addressing tables: new drops go into the current one, lookups search
 * both, and when the current one is full or older than keep_ms it becomes the previous one and the
 * previous one is freed. A drop is kept at least keep_ms, unless more than `capacity` drops come
 * within that time (then for as long as `capacity` drops take to arrive). Tables are allocated on
 * the first drop (calloc: pages the drops never touch cost no memory).
 */
#ifndef PW_KERNEL_DROPS_H
#define PW_KERNEL_DROPS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct pw_kernel_drop {
  /* 0: an empty slot (no IP packet has fingerprint 0). */
  uint64_t fingerprint;
  /* The freeing function's address (the tracepoint's `location`). */
  uint64_t location;
  uint32_t reason;
  /*
   * Drops of packets with this fingerprint, and how many vanish candidates matched one: identical
   * packets (a TCP retransmission can repeat every byte the fingerprint reads) each match one drop,
   * and a drop is never counted for two packets.
   */
  uint16_t drops;
  uint16_t matched;
} pw_kernel_drop;

typedef struct pw_kernel_drop_table {
  pw_kernel_drop *slots;
  uint32_t count;
  double started_ms;
} pw_kernel_drop_table;

typedef struct pw_kernel_drops {
  pw_kernel_drop_table current;
  pw_kernel_drop_table previous;
  /* Drops per table; slots are twice as many (a power of two). */
  uint32_t capacity;
  uint32_t mask;
  double keep_ms;
  /* Drops added (repeated: of a fingerprint already there), drops not kept (no memory). */
  double added;
  double repeated;
  double refused;
  /* Drop events are handed over for this node (a live agent with the monitor, even before the first
     one): its packets then carry their headers' fingerprint too. */
  bool matching;
} pw_kernel_drops;

/* capacity: drops per table (rounded up to a power of two, at least 16); keep_ms: see above. */
void pw_kernel_drops_init(pw_kernel_drops *k, uint32_t capacity, double keep_ms);
void pw_kernel_drops_destroy(pw_kernel_drops *k);

/* Keeps a drop of the packet with this fingerprint (not 0) that the kernel reported at now_ms. */
void pw_kernel_drops_add(pw_kernel_drops *k, uint64_t fingerprint, uint32_t reason, uint64_t location, double now_ms);

/* A drop of a packet with this fingerprint that no candidate matched before, now matched; or NULL. */
const pw_kernel_drop *pw_kernel_drops_match(pw_kernel_drops *k, uint64_t fingerprint);

#endif
