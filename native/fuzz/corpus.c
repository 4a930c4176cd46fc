/* The sanitizer drivers' corpus reader and random source (see corpus.h). */
#include "fuzz/corpus.h"

#include <stdio.h>
#include <stdlib.h>

static uint64_t rng_state = 1;

void pw_fuzz_seed(uint64_t seed) {
  rng_state = seed == 0 ? 1 : seed; /* xorshift never leaves 0 */
}

uint64_t pw_fuzz_random(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * UINT64_C(2685821657736338717);
}

uint32_t pw_fuzz_below(uint32_t n) {
  return n == 0 ? 0 : (uint32_t)(pw_fuzz_random() % n);
}

static uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

uint8_t *pw_fuzz_read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  size_t cap = 1 << 20, n = 0;
  uint8_t *buf = malloc(cap);
  while (buf != NULL) {
    n += fread(buf + n, 1, cap - n, f);
    if (n < cap) break;
    uint8_t *bigger = realloc(buf, cap * 2);
    if (bigger == NULL) {
      free(buf);
      buf = NULL;
      break;
    }
    buf = bigger;
    cap *= 2;
  }
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    free(buf);
    return NULL;
  }
  *size = n;
  return buf;
}

long pw_fuzz_parse_corpus(const uint8_t *bytes, size_t size, record **out) {
  size_t cap = 1024, n = 0, at = 0;
  record *r = malloc(cap * sizeof *r);
  while (r != NULL && at < size) {
    if (size - at < 8) goto bad;
    uint32_t link_type = le32(bytes + at), length = le32(bytes + at + 4);
    at += 8;
    if (length > size - at || at > UINT32_MAX) goto bad;
    if (n == cap) {
      record *bigger = realloc(r, cap * 2 * sizeof *r);
      if (bigger == NULL) goto bad;
      r = bigger;
      cap *= 2;
    }
    r[n++] = (record){link_type, (uint32_t)at, length};
    at += length;
  }
  *out = r;
  return r == NULL ? -1 : (long)n;
bad:
  free(r);
  return -1;
}
