/* Open packets: see open_packets.h. */
#include "engine/open_packets.h"

#include <stdlib.h>
#include <string.h>

#include "engine/huge_pages.h"

bool pw_open_packets_init(pw_open_packets *t, uint32_t capacity) {
  t->e = calloc(capacity, sizeof *t->e);
  t->fifo = calloc(capacity, sizeof *t->fifo);
  pw_advise_huge(t->e, (size_t)capacity * sizeof *t->e);
  t->capacity = capacity;
  t->used = 0;
  t->free_head = -1;
  t->fifo_head = 0;
  t->fifo_count = 0;
  // The index starts as small as TypeScript's (2^14 entries) and doubles up to room for capacity keys.
  bool ok = pw_hash_index_init(&t->by_fingerprint, capacity < (1u << 14) ? capacity : (1u << 14), capacity * 2);
  if (!ok || t->e == NULL || t->fifo == NULL) {
    if (ok) pw_hash_index_destroy(&t->by_fingerprint);
    free(t->e);
    free(t->fifo);
    t->e = NULL;
    t->fifo = NULL;
    return false;
  }
  return true;
}

void pw_open_packets_destroy(pw_open_packets *t) {
  pw_hash_index_destroy(&t->by_fingerprint);
  free(t->e);
  free(t->fifo);
  t->e = NULL;
  t->fifo = NULL;
}

int32_t pw_open_create(pw_open_packets *t, uint64_t fingerprint, double ts, uint32_t ip_version, int32_t proto, uint32_t sport, uint32_t dport,
                       const uint32_t *src, const uint32_t *dst) {
  if (t->fifo_count == t->capacity) return -1;
  int32_t newest = pw_hash_index_get(&t->by_fingerprint, fingerprint);
  int32_t e;
  if (t->free_head >= 0) e = t->free_head;
  else if (t->used < t->capacity) e = (int32_t)t->used;
  else return -1;
  if (!pw_hash_index_set(&t->by_fingerprint, fingerprint, e)) return -1;
  if (e == t->free_head) t->free_head = t->e[e].next_free;
  else t->used++;
  pw_open_entry *x = &t->e[e];
  x->older = newest;
  x->newer = -1;
  if (newest >= 0) t->e[newest].newer = e;
  x->fingerprint = fingerprint;
  x->header_fingerprint = 0;
  x->first_ts = ts;
  x->head = -1;
  x->tail = -1;
  x->ip_version = (uint8_t)ip_version;
  x->proto = proto;
  x->sport = sport;
  x->dport = dport;
  memset(x->stages, 0, sizeof x->stages);
  x->resolved = 0;
  for (int k = 0; k < 4; k++) {
    x->src[k] = src[k];
    x->dst[k] = dst[k];
  }
  t->fifo[(t->fifo_head + t->fifo_count) & (t->capacity - 1)] = e;
  t->fifo_count++;
  return e;
}

void pw_open_remove_oldest(pw_open_packets *t) {
  int32_t e = t->fifo[t->fifo_head];
  t->fifo_head = (t->fifo_head + 1) & (t->capacity - 1);
  t->fifo_count--;
  // Being the oldest, e ends its fingerprint's chain: unlink it from the next newer entry.
  pw_open_entry *x = &t->e[e];
  if (x->newer >= 0) t->e[x->newer].older = -1;
  else pw_hash_index_delete(&t->by_fingerprint, x->fingerprint);
  x->next_free = t->free_head;
  t->free_head = e;
}
