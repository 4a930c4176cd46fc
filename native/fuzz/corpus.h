/*
 * The sanitizer drivers' shared input: a corpus file of records back to back (link type as u32
 * little-endian, length as u32 little-endian, then that many bytes; test/native/sanitizers.test.ts
 * writes it from the fixture captures), and a reproducible random source for their mutations.
 */
#ifndef PW_FUZZ_CORPUS_H
#define PW_FUZZ_CORPUS_H

#include <stddef.h>
#include <stdint.h>

typedef struct record {
  uint32_t link_type;
  uint32_t offset; /* in the corpus bytes */
  uint32_t length;
} record;

/* The whole file, malloc'ed (the caller frees it); NULL when it cannot be read. */
uint8_t *pw_fuzz_read_file(const char *path, size_t *size);

/* Splits the corpus into records (malloc'ed in *out); their count, or -1 when a header or length runs past the end. */
long pw_fuzz_parse_corpus(const uint8_t *bytes, size_t size, record **out);

/* xorshift64*: the same sequence for the same seed, so a failing run can be repeated. */
void pw_fuzz_seed(uint64_t seed);
uint64_t pw_fuzz_random(void);
/* A number in [0, n), 0 when n is 0. */
uint32_t pw_fuzz_below(uint32_t n);

#endif
