/*
 * One murmur3 mixing round: folds a 32-bit word into a running 32-bit hash.
 * The flow stage's hash tables (flow table, encapsulation chains) key on words with it; the same
 * function bit for bit, so a table's probe order is the TypeScript one.
 */
#ifndef PW_HASH_MIX_H
#define PW_HASH_MIX_H

#include <stdint.h>

static inline uint32_t pw_mix(uint32_t h, uint32_t k) {
  k *= 0xcc9e2d51u;
  k = (k << 15) | (k >> 17);
  h ^= k * 0x1b873593u;
  h = (h << 13) | (h >> 19);
  return h * 5u + 0xe6546b64u;
}

#endif
