/* Candidate groups: see candidate_groups.h. */
#include "engine/candidate_groups.h"

#include <stdlib.h>

bool pw_groups_init(pw_candidate_groups *g, uint32_t max_groups, uint32_t sample_slot_bytes, size_t max_hop_words) {
  uint32_t buckets = 16;
  while (buckets < max_groups * 2) buckets *= 2;
  g->groups = calloc(max_groups > 0 ? max_groups : 1, sizeof *g->groups);
  g->buckets = calloc(buckets, sizeof *g->buckets);
  g->sample_bytes = sample_slot_bytes > 0 ? calloc((size_t)(max_groups > 0 ? max_groups : 1), sample_slot_bytes) : NULL;
  g->sample_slot_bytes = sample_slot_bytes;
  g->mask = buckets - 1;
  g->count = 0;
  g->max_groups = max_groups;
  g->overflow = 0;
  pw_f64_list_init(&g->hops, max_hop_words);
  if (g->groups == NULL || g->buckets == NULL || (sample_slot_bytes > 0 && g->sample_bytes == NULL)) {
    pw_groups_destroy(g);
    return false;
  }
  return true;
}

void pw_groups_destroy(pw_candidate_groups *g) {
  free(g->groups);
  free(g->buckets);
  free(g->sample_bytes);
  g->groups = NULL;
  g->buckets = NULL;
  g->sample_bytes = NULL;
  pw_f64_list_destroy(&g->hops);
}

void pw_group_hash(pw_group *k) {
  uint32_t h = ((k->iface ^ 0x9e3779b9u) * 0x85ebca6bu) ^ (uint32_t)k->proto ^ (k->uncertain ? 0x40000000u : 0);
  for (int i = 0; i < 4; i++) h = ((h ^ k->src[i]) * 0xcc9e2d51u) ^ k->dst[i];
  h = ((h ^ (h >> 15)) * 0x1b873593u) ^ ((k->sport << 16) | k->dport);
  k->hash = h ^ (h >> 13);
}

static bool same_key(const pw_group *a, const pw_group *b) {
  if (a->iface != b->iface || a->proto != b->proto || a->sport != b->sport || a->dport != b->dport || a->uncertain != b->uncertain ||
      a->ip_version != b->ip_version)
    return false;
  for (int i = 0; i < 4; i++)
    if (a->src[i] != b->src[i] || a->dst[i] != b->dst[i]) return false;
  return true;
}

pw_group *pw_groups_find(const pw_candidate_groups *g, const pw_group *key) {
  for (uint32_t i = key->hash & g->mask;; i = (i + 1) & g->mask) {
    int32_t b = g->buckets[i];
    if (b == 0) return NULL;
    pw_group *x = &g->groups[b - 1];
    if (x->hash == key->hash && same_key(x, key)) return x;
  }
}

pw_group *pw_groups_add(pw_candidate_groups *g, const pw_group *key) {
  if (g->count >= g->max_groups) return NULL;
  uint32_t i = key->hash & g->mask;
  while (g->buckets[i] != 0) i = (i + 1) & g->mask;
  pw_group *x = &g->groups[g->count];
  *x = *key;
  x->bucket = (int32_t)i;
  g->buckets[i] = (int32_t)++g->count;
  return x;
}

void pw_groups_clear(pw_candidate_groups *g) {
  for (uint32_t k = 0; k < g->count; k++) g->buckets[g->groups[k].bucket] = 0;
  g->count = 0;
  g->hops.len = 0;
}
