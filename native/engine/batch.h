/*
 * Decoding a block of records in one call: the shape JavaScript hands the engine (a chunk of a file,
 * a block of the capture ring, with each record's place in it) and the compact answer it wants back
 * per record. The flow stages that come next read the view directly instead; this is the seam for
 * callers that only need status and fingerprint, and the loop the benchmark times without Node-API.
 */
#ifndef PW_BATCH_H
#define PW_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "engine/decoder.h"

typedef struct pw_batch_in {
  const uint8_t *data;
  size_t data_length;
  /* Record i is data[offsets[i], offsets[i] + lengths[i]) of link type link_types[i]. */
  const uint32_t *offsets;
  const uint32_t *lengths;
  const uint32_t *link_types;
  size_t count;
} pw_batch_in;

typedef struct pw_batch_out {
  /* pw_decode_status per record. */
  uint8_t *status;
  /* pw_fingerprint per record, as the double JavaScript reads (exact: below 2^53). */
  double *fingerprint;
  /* pw_fingerprint_is_weak per record. */
  uint8_t *weak;
} pw_batch_out;

/*
 * Decodes and fingerprints records in order through `view` (left holding the last record's).
 * Returns the number of records done: count, or the index of the first record that does not lie
 * within data[0, data_length), which is not decoded (the caller's error, never read).
 */
size_t pw_decode_batch(pw_decoder *dec, pw_view *view, const pw_batch_in *in, const pw_batch_out *out);

#endif
