/*
 * The standalone sanitizer driver: every packet of a corpus file, then random mutations of them,
 * through decode + fingerprint under AddressSanitizer and UndefinedBehaviorSanitizer
 * (test/native/sanitizers.test.ts builds it with clang -fsanitize=address,undefined and writes the
 * corpus from the fixture captures with the TypeScript readers).
 *
 *   pw_fuzz_driver CORPUS [MUTATIONS [SEED]]
 *
 * CORPUS holds records back to back: link type (u32, little-endian), length (u32, little-endian),
 * then that many bytes. Each record is decoded on its own link type, on every other one and on an
 * unknown one, with the default and other tunnel ports; the whole corpus goes through the block
 * loop once and must agree with per-packet decoding; then MUTATIONS mutated records (1 to 6 of:
 * byte flips, absurd 16-bit values, truncation, garbage inserted; or random bytes). Exit 0 and a
 * summary line when nothing broke; any sanitizer report or broken invariant aborts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/corpus.h"
#include "engine/batch.h"
#include "engine/fingerprint.h"
#include "fuzz/guarded_decode.h"

#define MAX_GARBAGE 24u
#define WORK_SIZE (PW_FUZZ_MAX_PACKET + 6u * MAX_GARBAGE)

static const uint16_t SET16_VALUES[] = {0, 1, 4, 5, 8, 20, 0x0f, 0xf0, 0xff, 0x4f00, 0x6fff, 0x7fff, 0x8000, 0xfffe, 0xffff};

/* Applies one random mutation to work[0, *length) (room for WORK_SIZE bytes). */
static void mutate_once(uint8_t *work, size_t *length) {
  size_t len = *length;
  size_t at = len == 0 ? 0 : pw_fuzz_below((uint32_t)len);
  switch (pw_fuzz_below(4)) {
    case 0: /* flip */
      if (len > 0) work[at] ^= (uint8_t)(1 + pw_fuzz_below(255));
      break;
    case 1: /* set16 */
      if (at + 1 < len) {
        uint16_t v = SET16_VALUES[pw_fuzz_below(sizeof SET16_VALUES / sizeof SET16_VALUES[0])];
        work[at] = (uint8_t)(v >> 8);
        work[at + 1] = (uint8_t)v;
      }
      break;
    case 2: /* truncate */
      *length = at;
      break;
    default: { /* insert garbage */
      size_t n = 1 + pw_fuzz_below(MAX_GARBAGE);
      if (len + n > WORK_SIZE) break;
      memmove(work + at + n, work + at, len - at);
      for (size_t i = 0; i < n; i++) work[at + i] = (uint8_t)pw_fuzz_random();
      *length = len + n;
    }
  }
}

/* The block loop over the whole corpus agrees with decoding record by record. */
static void check_batch(const uint8_t *bytes, size_t size, const record *records, size_t count) {
  uint32_t *offsets = malloc(count * sizeof *offsets), *lengths = malloc(count * sizeof *lengths), *types = malloc(count * sizeof *types);
  uint8_t *status = malloc(count), *weak = malloc(count);
  double *fps = malloc(count * sizeof *fps);
  pw_decoder *batch_dec = malloc(sizeof *batch_dec), *one_dec = malloc(sizeof *one_dec);
  if (!offsets || !lengths || !types || !status || !weak || !fps || !batch_dec || !one_dec) {
    fprintf(stderr, "pw_fuzz_driver: out of memory\n");
    abort();
  }
  for (size_t i = 0; i < count; i++) {
    offsets[i] = records[i].offset;
    lengths[i] = records[i].length;
    types[i] = records[i].link_type;
  }
  pw_decoder_init(batch_dec, NULL);
  pw_decoder_init(one_dec, NULL);
  pw_view batch_view, one_view;
  pw_view_init(&batch_view);
  pw_view_init(&one_view);
  pw_batch_in in = {bytes, size, offsets, lengths, types, count};
  pw_batch_out out = {status, fps, weak};
  if (pw_decode_batch(batch_dec, &batch_view, &in, &out) != count) {
    fprintf(stderr, "pw_fuzz_driver: the block loop refused a record within the corpus\n");
    abort();
  }
  for (size_t i = 0; i < count; i++) {
    pw_decode_status s = pw_decode(one_dec, &one_view, bytes, offsets[i], lengths[i], types[i]);
    if (status[i] != s || fps[i] != (double)pw_fingerprint(&one_view, bytes) || weak[i] != pw_fingerprint_is_weak(&one_view)) {
      fprintf(stderr, "pw_fuzz_driver: the block loop and pw_decode disagree on record %zu\n", i);
      abort();
    }
  }
  if (memcmp(batch_dec->events, one_dec->events, sizeof one_dec->events) != 0) {
    fprintf(stderr, "pw_fuzz_driver: the block loop and pw_decode counted different events\n");
    abort();
  }
  /* One byte too many in the last record: refused, never read. */
  lengths[count - 1] = (uint32_t)(size - offsets[count - 1] + 1);
  if (pw_decode_batch(batch_dec, &batch_view, &in, &out) != count - 1) {
    fprintf(stderr, "pw_fuzz_driver: the block loop took a record past the end of its data\n");
    abort();
  }
  free(offsets);
  free(lengths);
  free(types);
  free(status);
  free(weak);
  free(fps);
  free(batch_dec);
  free(one_dec);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s CORPUS [MUTATIONS [SEED]]\n", argv[0]);
    return 2;
  }
  unsigned long long mutations = argc > 2 ? strtoull(argv[2], NULL, 10) : 100000;
  pw_fuzz_seed(argc > 3 ? strtoull(argv[3], NULL, 10) : 1);

  size_t size = 0;
  uint8_t *bytes = pw_fuzz_read_file(argv[1], &size);
  if (bytes == NULL) {
    fprintf(stderr, "pw_fuzz_driver: cannot read %s\n", argv[1]);
    return 2;
  }
  record *records = NULL;
  long count = pw_fuzz_parse_corpus(bytes, size, &records);
  if (count <= 0) {
    fprintf(stderr, "pw_fuzz_driver: %s is not a corpus of records (or has none)\n", argv[1]);
    return 2;
  }

  pw_fuzz_state states[2];
  pw_fuzz_init(&states[0], NULL);
  pw_fuzz_init(&states[1], &pw_fuzz_other_ports);
  unsigned long long by_status[5] = {0};

  /* 1. Every record on its link type, every link type, and an unknown one; both port sets. */
  for (long i = 0; i < count; i++) {
    const uint8_t *p = bytes + records[i].offset;
    for (int k = 0; k < 2; k++) {
      by_status[pw_fuzz_decode(&states[k], p, records[i].length, records[i].link_type)]++;
      for (int t = 0; t < 8; t++) pw_fuzz_decode(&states[k], p, records[i].length, pw_fuzz_link_types[t]);
      pw_fuzz_decode(&states[k], p, records[i].length, 0xfffffffeu);
    }
  }

  /* 2. The block loop. */
  check_batch(bytes, size, records, (size_t)count);

  /* 3. Mutations. */
  uint8_t *work = malloc(WORK_SIZE);
  if (work == NULL) return 2;
  for (unsigned long long m = 0; m < mutations; m++) {
    const record *r = &records[pw_fuzz_below((uint32_t)count)];
    size_t length;
    if (pw_fuzz_below(16) == 0) {
      length = pw_fuzz_below(600);
      for (size_t i = 0; i < length; i++) work[i] = (uint8_t)pw_fuzz_random();
    } else {
      length = r->length > PW_FUZZ_MAX_PACKET ? PW_FUZZ_MAX_PACKET : r->length;
      memcpy(work, bytes + r->offset, length);
      for (uint32_t k = 1 + pw_fuzz_below(6); k > 0; k--) mutate_once(work, &length);
    }
    uint32_t pick = pw_fuzz_below(8);
    uint32_t link_type = pick < 6 ? r->link_type : pick == 6 ? pw_fuzz_link_types[pw_fuzz_below(8)] : (uint32_t)pw_fuzz_random();
    by_status[pw_fuzz_decode(&states[m & 1], work, length, link_type)]++;
  }

  printf("pw_fuzz_driver: %ld records, %llu mutations, %llu decodes (status ok %llu, truncated %llu, not-ip %llu, malformed %llu, undecoded-tunnel %llu)\n",
         count, mutations, (unsigned long long)(states[0].decodes + states[1].decodes), by_status[0], by_status[1], by_status[2], by_status[3], by_status[4]);
  free(work);
  pw_fuzz_free(&states[0]);
  pw_fuzz_free(&states[1]);
  free(records);
  free(bytes);
  return 0;
}
