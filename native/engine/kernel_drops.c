/* Kernel drops by fingerprint: see kernel_drops.h. */
#include "engine/kernel_drops.h"

#include <stdlib.h>

void pw_kernel_drops_init(pw_kernel_drops *k, uint32_t capacity, double keep_ms) {
  uint32_t c = 16;
  while (c < capacity && c < (1u << 30)) c <<= 1;
  *k = (pw_kernel_drops){.capacity = c, .mask = 2 * c - 1, .keep_ms = keep_ms};
}

void pw_kernel_drops_destroy(pw_kernel_drops *k) {
  free(k->current.slots);
  free(k->previous.slots);
  k->current.slots = NULL;
  k->previous.slots = NULL;
}

/* A fingerprint's low 32 bits are already a hash (fingerprint.h). */
static uint32_t slot_of(const pw_kernel_drops *k, uint64_t fingerprint) { return (uint32_t)fingerprint & k->mask; }

/* The slot holding this fingerprint, or the empty slot where it would go. */
static pw_kernel_drop *probe(const pw_kernel_drops *k, pw_kernel_drop *slots, uint64_t fingerprint) {
  for (uint32_t i = slot_of(k, fingerprint);; i = (i + 1) & k->mask) {
    pw_kernel_drop *s = &slots[i];
    if (s->fingerprint == fingerprint || s->fingerprint == 0) return s;
  }
}

static bool rotate(pw_kernel_drops *k, double now_ms) {
  pw_kernel_drop *fresh = calloc((size_t)k->mask + 1, sizeof *fresh);
  if (fresh == NULL) return false;
  free(k->previous.slots);
  k->previous = k->current;
  k->current = (pw_kernel_drop_table){.slots = fresh, .count = 0, .started_ms = now_ms};
  return true;
}

void pw_kernel_drops_add(pw_kernel_drops *k, uint64_t fingerprint, uint32_t reason, uint64_t location, double now_ms) {
  if (fingerprint == 0) return;
  pw_kernel_drop_table *t = &k->current;
  bool stale = t->slots != NULL && t->count > 0 && now_ms - t->started_ms >= k->keep_ms;
  if ((t->slots == NULL || t->count >= k->capacity || stale) && !rotate(k, now_ms)) {
    // No memory for a new table: keep filling the current one while it has room.
    if (t->slots == NULL || t->count >= k->capacity) {
      k->refused++;
      return;
    }
  }
  if (t->count == 0) t->started_ms = now_ms;
  pw_kernel_drop *s = probe(k, t->slots, fingerprint);
  if (s->fingerprint != 0) {
    // The first drop's reason and place stand for the repeats (the same packet, dropped again).
    if (s->drops < UINT16_MAX) s->drops++;
    k->repeated++;
    return;
  }
  *s = (pw_kernel_drop){.fingerprint = fingerprint, .location = location, .reason = reason, .drops = 1, .matched = 0};
  t->count++;
  k->added++;
}

const pw_kernel_drop *pw_kernel_drops_match(pw_kernel_drops *k, uint64_t fingerprint) {
  if (fingerprint == 0) return NULL;
  pw_kernel_drop_table *tables[2] = {&k->current, &k->previous};
  for (int i = 0; i < 2; i++) {
    if (tables[i]->slots == NULL) continue;
    pw_kernel_drop *s = probe(k, tables[i]->slots, fingerprint);
    if (s->fingerprint == fingerprint && s->matched < s->drops) {
      s->matched++;
      return s;
    }
  }
  return NULL;
}
