/*
 * Sightings still open for matching, recycled through a free list:
 * recording one is a few writes. Each sighting's fields sit in one 64-byte record, read again only
 * when its packet's window closes (one cache miss per sighting); outer addresses, needed only for
 * encapsulated sightings' hops, in a side array of 32 bytes per record.
 *
 * Bounded: TypeScript grows without limit; here `capacity` records are reserved at init (calloc: a
 * page is only touched once a record on it is used) and alloc() fails when all are live; the
 * matcher then counts the sighting as overflow instead of keeping it.
 */
#ifndef PW_SIGHTING_STORE_H
#define PW_SIGHTING_STORE_H

#include <stdbool.h>
#include <stdint.h>

typedef struct pw_sighting_rec {
  int32_t next;
  uint32_t iface;
  double ts;
  /* 48-bit MACs, -1 when the frame has none. */
  int64_t mac_src;
  int64_t mac_dst;
  uint32_t length;
  int32_t flow_slot;
  int32_t vni;
  int32_t bytes_seq;
  uint8_t dir;
  uint8_t dir_source;
  uint8_t ttl;
  uint8_t encap_depth;
  uint8_t encap_kind;
  uint8_t outer_version;
  uint8_t link_group;
  uint8_t weak;
  uint8_t pad[8];
} pw_sighting_rec;

typedef struct pw_sighting_outer {
  uint32_t src[4];
  uint32_t dst[4];
} pw_sighting_outer;

typedef struct pw_sighting_store {
  pw_sighting_rec *rec;
  pw_sighting_outer *outer;
  uint32_t capacity;
  uint32_t used;
  int32_t free_head;
  uint32_t live;
} pw_sighting_store;

bool pw_sighting_store_init(pw_sighting_store *s, uint32_t capacity);
void pw_sighting_store_destroy(pw_sighting_store *s);

/* A record with next = -1, or -1 when all `capacity` are live. */
static inline int32_t pw_sighting_alloc(pw_sighting_store *s) {
  int32_t i;
  if (s->free_head >= 0) {
    i = s->free_head;
    s->free_head = s->rec[i].next;
  } else {
    if (s->used == s->capacity) return -1;
    i = (int32_t)s->used++;
  }
  s->rec[i].next = -1;
  s->live++;
  return i;
}

static inline void pw_sighting_release(pw_sighting_store *s, int32_t i) {
  s->rec[i].next = s->free_head;
  s->free_head = i;
  s->live--;
}

#endif
