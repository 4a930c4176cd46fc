/* Encapsulation chains interned to ids: see encap_chains.h. */
#include "engine/encap_chains.h"

#include <stdlib.h>

#include "engine/hash_mix.h"

/* TypeScript starts with 256 buckets and doubles them when more than half are used. */
#define INITIAL_BUCKETS 256u
/* Enough buckets to stay at most half full with every id in use (ids up to PW_CHAINS_MAX). */
#define MAX_BUCKETS (1u << 18)

bool pw_encap_chains_init(pw_encap_chains *c) {
  c->rows = calloc((size_t)(PW_CHAINS_MAX + 1) * PW_CHAIN_ROW_WORDS, sizeof(uint32_t));
  c->buckets = calloc(MAX_BUCKETS, sizeof(uint32_t));
  c->count = 1;
  c->bucket_count = INITIAL_BUCKETS;
  c->overflow = 0;
  if (c->rows == NULL || c->buckets == NULL) {
    pw_encap_chains_destroy(c);
    return false;
  }
  return true;
}

void pw_encap_chains_destroy(pw_encap_chains *c) {
  free(c->rows);
  free(c->buckets);
  c->rows = NULL;
  c->buckets = NULL;
}

static uint32_t view_hash(const pw_view *view) {
  uint32_t depth = view->encap_depth;
  uint32_t h = depth;
  for (uint32_t l = 0; l < depth; l++) {
    h = pw_mix(h, (uint32_t)view->encap_kind[l] | ((uint32_t)view->encap_outer_version[l] << 8));
    h = pw_mix(h, (uint32_t)view->encap_vni[l]);
    for (uint32_t i = 0; i < 4; i++) h = pw_mix(h, view->encap_outer_src[l * 4 + i] ^ view->encap_outer_dst[l * 4 + i]);
  }
  return h;
}

/* The same hash view_hash computes, from a stored row. */
static uint32_t row_hash(const pw_encap_chains *c, uint32_t id) {
  const uint32_t *r = c->rows + (size_t)id * PW_CHAIN_ROW_WORDS;
  uint32_t depth = r[0];
  uint32_t h = depth;
  for (uint32_t l = 0; l < depth; l++) {
    const uint32_t *base = r + 1 + l * PW_CHAIN_LAYER_WORDS;
    h = pw_mix(h, base[0] | (base[1] << 8));
    h = pw_mix(h, base[2]);
    for (uint32_t i = 0; i < 4; i++) h = pw_mix(h, base[3 + i] ^ base[7 + i]);
  }
  return h;
}

static bool matches(const pw_encap_chains *c, uint32_t id, const pw_view *view) {
  const uint32_t *r = c->rows + (size_t)id * PW_CHAIN_ROW_WORDS;
  uint32_t depth = view->encap_depth;
  if (r[0] != depth) return false;
  for (uint32_t l = 0; l < depth; l++) {
    const uint32_t *base = r + 1 + l * PW_CHAIN_LAYER_WORDS;
    if (base[0] != view->encap_kind[l] || base[1] != view->encap_outer_version[l] || base[2] != (uint32_t)view->encap_vni[l]) return false;
    for (uint32_t i = 0; i < 4; i++) {
      if (base[3 + i] != view->encap_outer_src[l * 4 + i] || base[7 + i] != view->encap_outer_dst[l * 4 + i]) return false;
    }
  }
  return true;
}

static void write_row(pw_encap_chains *c, uint32_t id, const pw_view *view) {
  uint32_t *r = c->rows + (size_t)id * PW_CHAIN_ROW_WORDS;
  r[0] = view->encap_depth;
  for (uint32_t l = 0; l < view->encap_depth; l++) {
    uint32_t *base = r + 1 + l * PW_CHAIN_LAYER_WORDS;
    base[0] = view->encap_kind[l];
    base[1] = view->encap_outer_version[l];
    base[2] = (uint32_t)view->encap_vni[l];
    for (uint32_t i = 0; i < 4; i++) {
      base[3 + i] = view->encap_outer_src[l * 4 + i];
      base[7 + i] = view->encap_outer_dst[l * 4 + i];
    }
  }
}

/* Doubles the buckets; rows are rehashed from their stored words. */
static void rehash(pw_encap_chains *c) {
  uint32_t count = c->bucket_count * 2;
  if (count > MAX_BUCKETS) return; /* cannot happen: ids stop at PW_CHAINS_MAX */
  uint32_t mask = count - 1;
  for (uint32_t b = 0; b < count; b++) c->buckets[b] = 0;
  for (uint32_t id = 1; id < c->count; id++) {
    uint32_t b = row_hash(c, id) & mask;
    while (c->buckets[b] != 0) b = (b + 1) & mask;
    c->buckets[b] = id;
  }
  c->bucket_count = count;
}

uint32_t pw_encap_chains_id_of(pw_encap_chains *c, const pw_view *view) {
  uint32_t depth = view->encap_depth;
  if (depth < 2 || depth > PW_MAX_ENCAP_DEPTH) return 0;
  uint32_t mask = c->bucket_count - 1;
  uint32_t b = view_hash(view) & mask;
  for (uint32_t id = c->buckets[b]; id != 0; id = c->buckets[b]) {
    if (matches(c, id, view)) return id;
    b = (b + 1) & mask;
  }
  if (c->count > PW_CHAINS_MAX) {
    c->overflow++;
    return 0;
  }
  uint32_t id = c->count++;
  write_row(c, id, view);
  c->buckets[b] = id;
  if (c->count * 2 > c->bucket_count) rehash(c);
  return id;
}

const uint32_t *pw_encap_chains_row(const pw_encap_chains *c, uint32_t id) {
  if (id == 0 || id >= c->count) return NULL;
  return c->rows + (size_t)id * PW_CHAIN_ROW_WORDS;
}
