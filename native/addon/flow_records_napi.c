/* Flow records out of a flush, and chains' rows, as typed arrays for JS: see pipeline_parts.h. */
#include <string.h>

#include "addon/pipeline_parts.h"

_Static_assert(sizeof(pw_flow_slot) == PW_RECORD_WORDS * 4, "a record is a slot's words");

typedef struct flush_ctx {
  uint32_t *out;
  size_t capacity;
  size_t count;
} flush_ctx;

static void on_record(void *ctx, const pw_flow_table *t, uint32_t slot) {
  flush_ctx *f = ctx;
  if (f->count >= f->capacity) return; /* cannot happen: counted before the flush */
  uint32_t *r = f->out + f->count * PW_RECORD_WORDS;
  memcpy(r, &t->slots[slot], sizeof(pw_flow_slot));
  r[5] = slot;
  r[6] = pw_flow_dir(t, slot) | (pw_flow_outer_version(t, slot) << 8) | (pw_flow_chain_id(t, slot) << 16);
  f->count++;
}

napi_value pw_napi_flush_records(napi_env env, pw_flow_table *t) {
  size_t n = 0;
  for (uint32_t s = 0; s < t->used; s++)
    if ((t->slots[s].state & 1) != 0 && t->slots[s].packets != 0) n++;
  uint32_t *out = NULL;
  napi_value array = pp_new_u32(env, n * PW_RECORD_WORDS, &out);
  if (array == NULL) return NULL;
  flush_ctx ctx = {.out = out, .capacity = n, .count = 0};
  pw_flow_table_flush(t, on_record, &ctx);
  return array;
}

napi_value pw_napi_chain_row(napi_env env, const pw_encap_chains *c, uint32_t id) {
  const uint32_t *row = pw_encap_chains_row(c, id);
  size_t words = row == NULL ? 0 : 1 + (size_t)row[0] * PW_CHAIN_LAYER_WORDS;
  uint32_t *out = NULL;
  napi_value array = pp_new_u32(env, words, &out);
  if (array != NULL && words > 0) memcpy(out, row, words * 4);
  return array;
}
