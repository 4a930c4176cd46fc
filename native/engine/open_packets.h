/*
 * Packets still inside their correlation window on one node, keyed
 * by fingerprint: each entry keeps the innermost packet's identity, its sightings so far by stage and
 * the chain of its sightings in the pw_sighting_store. Entries expire in creation order (a FIFO ring
 * of entry ids); the same fingerprint seen again more than a window later is another packet, linked
 * to the older entries of its fingerprint.
 *
 * Bounded: `capacity` entries (a power of two) are reserved at init (calloc; the FIFO ring too, so it
 * never grows), and the fingerprint index may hold as many keys; pw_open_create() fails when either
 * is full, and the matcher counts the packet as overflow.
 */
#ifndef PW_OPEN_PACKETS_H
#define PW_OPEN_PACKETS_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/hash_index.h"

typedef struct pw_open_entry {
  uint64_t fingerprint;
  /* pw_fingerprint_headers() of the packet, when kernel drops are being matched (else 0). */
  uint64_t header_fingerprint;
  double first_ts;
  int32_t head;
  int32_t tail;
  int32_t older;
  int32_t newer;
  int32_t next_free;
  uint8_t ip_version;
  /* arrivals plain, tunnel, encapsulated; departures the same */
  uint8_t stages[6];
  uint8_t resolved;
  int32_t proto;
  uint32_t sport;
  uint32_t dport;
  uint32_t src[4];
  uint32_t dst[4];
} pw_open_entry;

typedef struct pw_open_packets {
  pw_hash_index by_fingerprint;
  pw_open_entry *e;
  uint32_t capacity;
  uint32_t used;
  int32_t free_head;
  /* FIFO of entry ids in creation order; capacity slots, so it never overflows. */
  int32_t *fifo;
  uint32_t fifo_head;
  uint32_t fifo_count;
} pw_open_packets;

bool pw_open_packets_init(pw_open_packets *t, uint32_t capacity);
void pw_open_packets_destroy(pw_open_packets *t);

/* The open entry for the fingerprint whose window holds ts, or -1. */
static inline int32_t pw_open_find(const pw_open_packets *t, uint64_t fingerprint, double ts, double window) {
  for (int32_t e = pw_hash_index_get(&t->by_fingerprint, fingerprint); e >= 0; e = t->e[e].older) {
    double d = ts - t->e[e].first_ts;
    if (d <= window && d >= -window) return e;
  }
  return -1;
}

/*
 * A new entry for a packet first seen now, with its identity (proto, ports, addresses of the view's
 * innermost packet), or -1 when the table is full.
 */
int32_t pw_open_create(pw_open_packets *t, uint64_t fingerprint, double ts, uint32_t ip_version, int32_t proto, uint32_t sport, uint32_t dport,
                       const uint32_t *src, const uint32_t *dst);

/* The oldest entry, or -1. */
static inline int32_t pw_open_oldest(const pw_open_packets *t) { return t->fifo_count == 0 ? -1 : t->fifo[t->fifo_head]; }

/* Removes the oldest entry (evaluated by the caller) and frees its id. */
void pw_open_remove_oldest(pw_open_packets *t);

static inline void pw_open_mark_resolved(pw_open_packets *t, int32_t e) {
  t->e[e].resolved = 1;
  t->e[e].head = -1;
  t->e[e].tail = -1;
}

#endif
