/*
 * An open-addressing hash index from 53-bit integer keys (fingerprints) to slot numbers
 *: linear probing, load factor at most 1/2, deletion by backward shift
 * (no tombstones), so lookups stay short however many keys come and go. The same hash and probe
 * order as TypeScript.
 *
 * Memory: TypeScript grows without bound; here the table doubles up to max_buckets (given at init)
 * and set() refuses a key beyond that (returns false), so a flood of distinct packets within one
 * window is bounded. Growing allocates (once per doubling, never per packet in steady state).
 */
#ifndef PW_HASH_INDEX_H
#define PW_HASH_INDEX_H

#include <stdbool.h>
#include <stdint.h>

typedef struct pw_hash_index {
  /* Buckets of four words (key high, key low, value, spare): one cache line holds four buckets. */
  int32_t *table;
  uint32_t mask;
  uint32_t max_buckets;
  uint32_t size;
} pw_hash_index;

/* Room for initial_capacity keys at first (16 buckets at least), up to max_buckets / 2 keys. */
bool pw_hash_index_init(pw_hash_index *x, uint32_t initial_capacity, uint32_t max_buckets);
void pw_hash_index_destroy(pw_hash_index *x);

/* The value stored for key, or -1. */
int32_t pw_hash_index_get(const pw_hash_index *x, uint64_t key);
/* Asks for the key's home bucket to be brought into cache (a hint; no change of state). */
void pw_hash_index_prefetch(const pw_hash_index *x, uint64_t key);
/* Stores value (>= 0) for key, replacing any previous value; false when the table is at its bound. */
bool pw_hash_index_set(pw_hash_index *x, uint64_t key, int32_t value);
/* Removes key; returns whether it was there. */
bool pw_hash_index_delete(pw_hash_index *x, uint64_t key);
void pw_hash_index_clear(pw_hash_index *x);

#endif
