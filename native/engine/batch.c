/* The block loop (batch.h): bounds of each record checked once, then decode and fingerprint. */
#include "engine/batch.h"

#include "engine/fingerprint.h"

size_t pw_decode_batch(pw_decoder *dec, pw_view *view, const pw_batch_in *in, const pw_batch_out *out) {
  for (size_t i = 0; i < in->count; i++) {
    size_t offset = in->offsets[i];
    size_t length = in->lengths[i];
    if (offset > in->data_length || length > in->data_length - offset) return i;
    pw_decode_status s = pw_decode(dec, view, in->data, offset, length, in->link_types[i]);
    out->status[i] = (uint8_t)s;
    out->fingerprint[i] = (double)pw_fingerprint(view, in->data);
    out->weak[i] = pw_fingerprint_is_weak(view) ? 1 : 0;
  }
  return in->count;
}
