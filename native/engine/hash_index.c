/* The fingerprint hash index: see hash_index.h. */
#include "engine/hash_index.h"

#include <stdlib.h>

#include "engine/huge_pages.h"

#define EMPTY (-1)

static void empty_all(int32_t *t, uint32_t buckets) {
  for (uint32_t i = 0; i < buckets; i++) {
    t[i * 4] = 0;
    t[i * 4 + 1] = 0;
    t[i * 4 + 2] = EMPTY;
    t[i * 4 + 3] = 0;
  }
}

static int32_t *new_table(uint32_t buckets) {
  int32_t *t = malloc((size_t)buckets * 4 * sizeof *t);
  // Advised before the first write, which is what places the pages (huge_pages.h).
  pw_advise_huge(t, (size_t)buckets * 4 * sizeof *t);
  if (t != NULL) empty_all(t, buckets);
  return t;
}

/* The home bucket: Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b), folded, masked. */
static uint32_t home(uint32_t hi, uint32_t lo, uint32_t mask) {
  uint32_t h = (lo ^ (hi * 0x9e3779b1u)) * 0x85ebca6bu;
  h ^= h >> 15;
  return h & mask;
}

bool pw_hash_index_init(pw_hash_index *x, uint32_t initial_capacity, uint32_t max_buckets) {
  uint32_t cap = 16;
  while (cap < initial_capacity * 2 && cap < max_buckets) cap *= 2;
  x->mask = cap - 1;
  x->max_buckets = max_buckets > cap ? max_buckets : cap;
  x->size = 0;
  x->table = new_table(cap);
  return x->table != NULL;
}

void pw_hash_index_destroy(pw_hash_index *x) {
  free(x->table);
  x->table = NULL;
}

void pw_hash_index_prefetch(const pw_hash_index *x, uint64_t key) {
  __builtin_prefetch(&x->table[home((uint32_t)(key >> 32), (uint32_t)key, x->mask) * 4]);
}

int32_t pw_hash_index_get(const pw_hash_index *x, uint64_t key) {
  uint32_t hi = (uint32_t)(key >> 32), lo = (uint32_t)key;
  const int32_t *t = x->table;
  for (uint32_t i = home(hi, lo, x->mask);; i = (i + 1) & x->mask) {
    int32_t v = t[i * 4 + 2];
    if (v == EMPTY) return EMPTY;
    if ((uint32_t)t[i * 4 + 1] == lo && (uint32_t)t[i * 4] == hi) return v;
  }
}

static void insert(pw_hash_index *x, uint32_t hi, uint32_t lo, int32_t value) {
  int32_t *t = x->table;
  for (uint32_t i = home(hi, lo, x->mask);; i = (i + 1) & x->mask) {
    if (t[i * 4 + 2] == EMPTY) {
      t[i * 4] = (int32_t)hi;
      t[i * 4 + 1] = (int32_t)lo;
      t[i * 4 + 2] = value;
      x->size++;
      return;
    }
    if ((uint32_t)t[i * 4 + 1] == lo && (uint32_t)t[i * 4] == hi) {
      t[i * 4 + 2] = value;
      return;
    }
  }
}

static bool grow(pw_hash_index *x) {
  uint32_t old_buckets = x->mask + 1;
  if (old_buckets * 2 > x->max_buckets) return false;
  int32_t *old = x->table;
  int32_t *t = new_table(old_buckets * 2);
  if (t == NULL) return false;
  x->table = t;
  x->mask = old_buckets * 2 - 1;
  x->size = 0;
  for (uint32_t i = 0; i < old_buckets; i++) {
    if (old[i * 4 + 2] != EMPTY) insert(x, (uint32_t)old[i * 4], (uint32_t)old[i * 4 + 1], old[i * 4 + 2]);
  }
  free(old);
  return true;
}

bool pw_hash_index_set(pw_hash_index *x, uint64_t key, int32_t value) {
  uint32_t hi = (uint32_t)(key >> 32), lo = (uint32_t)key;
  if ((x->size + 1) * 2 > x->mask + 1 && !grow(x)) {
    // At the bound: replacing an existing key's value still works, a new key does not fit.
    if (pw_hash_index_get(x, key) == EMPTY) return false;
  }
  insert(x, hi, lo, value);
  return true;
}

bool pw_hash_index_delete(pw_hash_index *x, uint64_t key) {
  uint32_t hi = (uint32_t)(key >> 32), lo = (uint32_t)key;
  uint32_t mask = x->mask;
  int32_t *t = x->table;
  uint32_t i = home(hi, lo, mask);
  for (;; i = (i + 1) & mask) {
    if (t[i * 4 + 2] == EMPTY) return false;
    if ((uint32_t)t[i * 4 + 1] == lo && (uint32_t)t[i * 4] == hi) break;
  }
  // Backward-shift: move later members of the probe run into the hole when their home allows it.
  uint32_t hole = i;
  for (uint32_t j = (i + 1) & mask; t[j * 4 + 2] != EMPTY; j = (j + 1) & mask) {
    uint32_t h = home((uint32_t)t[j * 4], (uint32_t)t[j * 4 + 1], mask);
    uint32_t dist_j = (j - h) & mask;
    uint32_t dist_hole = (j - hole) & mask;
    if (dist_j >= dist_hole) {
      t[hole * 4] = t[j * 4];
      t[hole * 4 + 1] = t[j * 4 + 1];
      t[hole * 4 + 2] = t[j * 4 + 2];
      hole = j;
    }
  }
  t[hole * 4 + 2] = EMPTY;
  x->size--;
  return true;
}

void pw_hash_index_clear(pw_hash_index *x) {
  empty_all(x->table, x->mask + 1);
  x->size = 0;
}
