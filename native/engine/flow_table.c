/* The flow table: see flow_table.h. */
#include "engine/flow_table.h"
#include "engine/huge_pages.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include "engine/hash_mix.h"

/* The TypeScript slot is 32 words with the counters as Float64 words 8..15; the struct must be too. */
_Static_assert(sizeof(pw_flow_slot) == 128, "a flow slot is two cache lines, 32 words");
_Static_assert(offsetof(pw_flow_slot, packets) == 32 && offsetof(pw_flow_slot, src) == 64, "the TypeScript slot layout");

static bool power_of_two(uint32_t n) { return n != 0 && (n & (n - 1)) == 0; }

void pw_flow_table_destroy(pw_flow_table *t) {
  free(t->slots);
  free(t->outer_versions);
  free(t->chain_ids);
  free(t->buckets);
  free(t->free_list);
  pw_encap_chains_destroy(&t->chains);
  t->slots = NULL;
  t->outer_versions = NULL;
  t->chain_ids = NULL;
  t->buckets = NULL;
  t->free_list = NULL;
}

static void insert(pw_flow_table *t, uint32_t slot, uint32_t h) {
  uint32_t mask = t->bucket_count - 1;
  uint32_t b = h & mask;
  while (t->buckets[b] != 0) b = (b + 1) & mask;
  t->buckets[b] = (int32_t)slot + 1;
}

/* Rebuilds the buckets (after slots were freed, or to grow them), live slots in slot order. */
static void rehash(pw_flow_table *t, uint32_t bucket_count) {
  for (uint32_t b = 0; b < bucket_count; b++) t->buckets[b] = 0;
  t->bucket_count = bucket_count;
  for (uint32_t s = 0; s < t->used; s++) {
    if ((t->slots[s].state & 1) == 1) insert(t, s, t->slots[s].hash);
  }
}

/* The memory is reserved already; growing is the TypeScript grow's rehash at twice the new capacity. */
static void grow(pw_flow_table *t, uint32_t cap) {
  t->capacity = cap;
  rehash(t, cap * 2);
}

bool pw_flow_table_init(pw_flow_table *t, uint32_t initial_capacity, uint32_t max_flows) {
  *t = (pw_flow_table){0};
  if (!power_of_two(initial_capacity) || !power_of_two(max_flows) || initial_capacity > max_flows || max_flows > PW_FLOW_MAX_FLOWS) return false;
  t->max_flows = max_flows;
  t->slots = calloc(max_flows, sizeof *t->slots);
  t->outer_versions = calloc(max_flows, sizeof *t->outer_versions);
  t->chain_ids = calloc(max_flows, sizeof *t->chain_ids);
  t->buckets = calloc((size_t)max_flows * 2, sizeof *t->buckets);
  t->free_list = calloc(max_flows, sizeof *t->free_list);
  // Slots and buckets are read at random per packet (huge_pages.h).
  pw_advise_huge(t->slots, (size_t)max_flows * sizeof *t->slots);
  pw_advise_huge(t->buckets, (size_t)max_flows * 2 * sizeof *t->buckets);
  bool chains = pw_encap_chains_init(&t->chains);
  if (t->slots == NULL || t->outer_versions == NULL || t->chain_ids == NULL || t->buckets == NULL || t->free_list == NULL || !chains) {
    if (!chains) t->chains = (pw_encap_chains){0};
    pw_flow_table_destroy(t);
    return false;
  }
  grow(t, initial_capacity);
  return true;
}

/* IPv6 words and the outer header: compared only once the cheap words matched. */
static bool same_rest(const pw_flow_slot *s, const pw_view *view, uint32_t kind) {
  if (view->ip_version == 6) {
    for (int i = 1; i < 4; i++)
      if (s->src[i] != view->src[i] || s->dst[i] != view->dst[i]) return false;
  }
  if (kind != 0) {
    if (s->vni != (uint32_t)view->encap_vni[0]) return false;
    for (int i = 0; i < 4; i++)
      if (s->outer_src[i] != view->encap_outer_src[i] || s->outer_dst[i] != view->encap_outer_dst[i]) return false;
  }
  return true;
}

static void reset_counters(pw_flow_slot *s) {
  s->packets = 0;
  s->bytes = 0;
  s->first = INFINITY;
  s->last = -INFINITY;
}

static void push_free(pw_flow_table *t, uint32_t slot) {
  /* Each slot is freed at most once between allocations, so the list never exceeds max_flows. */
  if (t->free_count < t->max_flows) t->free_list[t->free_count++] = slot;
}

/* Frees every slot without packets since the last flush; returns whether any was freed. */
static bool release_idle(pw_flow_table *t) {
  bool released = false;
  for (uint32_t s = 0; s < t->used; s++) {
    pw_flow_slot *slot = &t->slots[s];
    if ((slot->state & 1) == 0 || slot->packets != 0) continue;
    slot->state = 0;
    push_free(t, s);
    released = true;
  }
  if (released) rehash(t, t->bucket_count);
  return released;
}

static int32_t allocate(pw_flow_table *t, const pw_view *view, uint32_t iface_id, uint32_t meta, uint32_t ports, uint32_t kind, uint32_t h) {
  uint32_t s;
  if (t->free_count > 0) {
    s = t->free_list[--t->free_count];
  } else {
    if (t->used == t->capacity) {
      if (t->capacity >= t->max_flows) {
        // Full: slots idle since the last flush hold nothing unreported; reuse them.
        if (t->full_until_flush || !release_idle(t)) {
          t->full_until_flush = true;
          return -1;
        }
        return allocate(t, view, iface_id, meta, ports, kind, h);
      }
      grow(t, t->capacity * 2 < t->max_flows ? t->capacity * 2 : t->max_flows);
    }
    s = t->used++;
  }
  t->stats.flows++;
  pw_flow_slot *slot = &t->slots[s];
  slot->iface = iface_id;
  slot->meta = meta;
  for (int i = 0; i < 4; i++) {
    slot->src[i] = view->src[i];
    slot->dst[i] = view->dst[i];
    slot->outer_src[i] = kind != 0 ? view->encap_outer_src[i] : 0;
    slot->outer_dst[i] = kind != 0 ? view->encap_outer_dst[i] : 0;
  }
  slot->src0 = view->src[0];
  slot->dst0 = view->dst[0];
  slot->ports = ports;
  slot->vni = kind != 0 ? (uint32_t)view->encap_vni[0] : 0;
  t->outer_versions[s] = kind != 0 ? view->encap_outer_version[0] : 0;
  slot->hash = h;
  slot->state = 1;
  reset_counters(slot);
  insert(t, s, h);
  return (int32_t)s;
}

/* The flow key's hash (FlowTable.add's): the key's words, and the encapsulation chain's id when it has two layers or more. */
static inline uint32_t flow_hash(const pw_view *view, uint32_t iface_id, uint32_t meta, uint32_t ports, uint32_t kind, uint32_t chain) {
  uint32_t h = pw_mix(0x2545f491u, iface_id ^ meta);
  h = pw_mix(h, view->src[0]);
  h = pw_mix(h, view->dst[0]);
  h = pw_mix(h, ports);
  if (view->ip_version == 6) {
    h = pw_mix(h, view->src[3] ^ view->src[2] ^ view->src[1]);
    h = pw_mix(h, view->dst[3] ^ view->dst[2] ^ view->dst[1]);
  }
  if (kind != 0) h = pw_mix(h, view->encap_outer_src[0] ^ view->encap_outer_dst[0]);
  if (chain != 0) h = pw_mix(h, chain);
  return h ^ (h >> 16);
}

static inline uint32_t flow_meta(const pw_view *view, uint32_t dir, uint32_t kind) {
  return dir | (((uint32_t)view->proto & 0xff) << 8) | (view->ip_version << 16) | (kind << 24);
}

uint32_t pw_flow_table_prefetch(const pw_flow_table *t, const pw_view *view, uint32_t iface_id, uint32_t dir) {
  // A chain's id is only looked up (and made) by the add itself: packets of two layers or more go without.
  if (view->encap_depth > 1) return 0;
  uint32_t kind = view->encap_depth != 0 ? view->encap_kind[0] : 0;
  uint32_t h = flow_hash(view, iface_id, flow_meta(view, dir, kind), (view->sport << 16) | view->dport, kind, 0);
  uint32_t b = h & (t->bucket_count - 1);
  __builtin_prefetch(&t->buckets[b]);
  return b + 1;
}

void pw_flow_table_prefetch_slot(const pw_flow_table *t, uint32_t bucket) {
  if (bucket == 0 || bucket > t->bucket_count) return;
  int32_t c = t->buckets[bucket - 1] - 1;
  if (c >= 0) __builtin_prefetch(&t->slots[c]);
}

int32_t pw_flow_table_add(pw_flow_table *t, const pw_view *view, uint32_t iface_id, uint32_t dir, double length, double ts_ms) {
  const uint32_t *src = view->src;
  const uint32_t *dst = view->dst;
  uint32_t depth = view->encap_depth;
  uint32_t kind = depth != 0 ? view->encap_kind[0] : 0;
  uint32_t chain = depth > 1 ? pw_encap_chains_id_of(&t->chains, view) : 0;
  uint32_t meta = flow_meta(view, dir, kind);
  uint32_t ports = (view->sport << 16) | view->dport;
  uint32_t h = flow_hash(view, iface_id, meta, ports, kind, chain);
  uint32_t mask = t->bucket_count - 1;
  uint32_t b = h & mask;
  int32_t found = -1;
  for (int32_t c = t->buckets[b] - 1; c >= 0; c = t->buckets[b] - 1) {
    const pw_flow_slot *s = &t->slots[c];
    // A flow without encapsulation (kind 0, in meta) has no chain: its chain id, a cache line of its
    // own, is read only for tunnel packets.
    if (s->meta == meta && s->src0 == src[0] && s->dst0 == dst[0] && s->ports == ports && s->iface == iface_id &&
        (kind == 0 || t->chain_ids[c] == chain) && same_rest(s, view, kind)) {
      found = c;
      break;
    }
    b = (b + 1) & mask;
  }
  // As in TypeScript, `created` is also true when the new flow found no slot (overflow, -1 returned).
  t->created = found < 0;
  if (found < 0) {
    found = allocate(t, view, iface_id, meta, ports, kind, h);
    if (found < 0) {
      t->stats.overflow_packets++;
      return -1;
    }
    t->chain_ids[found] = (uint16_t)chain;
  }
  pw_flow_slot *s = &t->slots[found];
  s->packets++;
  s->bytes += length;
  if (ts_ms < s->first) s->first = ts_ms;
  if (ts_ms > s->last) s->last = ts_ms;
  return found;
}

void pw_flow_table_flush(pw_flow_table *t, pw_flow_record_fn on_record, void *ctx) {
  bool released = false;
  t->full_until_flush = false;
  for (uint32_t s = 0; s < t->used; s++) {
    pw_flow_slot *slot = &t->slots[s];
    uint32_t state = slot->state;
    if ((state & 1) == 0) continue;
    if (slot->packets == 0) {
      uint32_t idle = ((state >> 4) & 0xf) + 1;
      slot->state = (state & 0xf) | (idle << 4);
      if (idle >= 2) {
        slot->state = 0;
        push_free(t, s);
        released = true;
      }
      continue;
    }
    slot->state = state & 0xf;
    if (on_record != NULL) on_record(ctx, t, s);
    t->stats.records++;
    reset_counters(slot);
  }
  if (released) rehash(t, t->bucket_count);
}

bool pw_flow_table_set_direction(pw_flow_table *t, int32_t slot, uint32_t dir) {
  if (slot < 0 || (uint32_t)slot >= t->used || dir == PW_DIR_UNKNOWN) return false;
  pw_flow_slot *s = &t->slots[slot];
  if ((s->state & 0xc) != 0 || (s->meta & 0xff) != 0) return false;
  s->state |= (dir & 3) << 2;
  return true;
}

bool pw_flow_table_mark_originated(pw_flow_table *t, int32_t slot) {
  if (slot < 0 || (uint32_t)slot >= t->used) return false;
  pw_flow_slot *s = &t->slots[slot];
  if ((s->state & 2) != 0) return false;
  s->state |= 2;
  return true;
}
