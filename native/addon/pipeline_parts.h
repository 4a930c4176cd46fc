/*
 * The pipeline's Node-API registration (pipeline_napi.c) is split by stage, each file exporting its
 * own functions; and helpers those files share for checking arguments.
 */
#ifndef PATHWATCH_PIPELINE_PARTS_H
#define PATHWATCH_PIPELINE_PARTS_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include <node_api.h>

#include "engine/flow_table.h"

/* native/addon/flow_table_napi.c: a flow table on its own, for the differential tests. */
napi_status register_flow_table(napi_env env, napi_value exports);
/* native/addon/matcher_parts_napi.c: the hop matcher's hash index and packet bytes ring on their own. */
napi_status register_matcher_parts(napi_env env, napi_value exports);
/* native/addon/sighting_pipeline_napi.c: the whole pipeline over blocks of records. */
napi_status register_sighting_pipeline(napi_env env, napi_value exports);

/*
 * native/addon/flow_records_napi.c: flushes a flow table into a Uint32Array of PW_RECORD_WORDS words
 * per record, in flush order: the slot's own 32 words (pw_flow_slot; counters as Float64 words 8..15)
 * except word 5, the slot number, and word 6, the resolved direction | outer IP version << 8 |
 * chain id << 16. agent/native/flow-records-native.ts turns them into FlowRecords.
 */
#define PW_RECORD_WORDS 32
napi_value pw_napi_flush_records(napi_env env, pw_flow_table *t);
/* A chain's stored row (encap_chains.h) as a new Uint32Array; empty for an unknown id. */
napi_value pw_napi_chain_row(napi_env env, const pw_encap_chains *c, uint32_t id);

static inline napi_value pp_throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

static inline napi_value pp_throw_range(napi_env env, const char *msg) {
  napi_throw_range_error(env, NULL, msg);
  return NULL;
}

/* The external behind `value` if it carries `tag`, else NULL with a TypeError pending. */
static inline void *pp_external(napi_env env, napi_value value, const napi_type_tag *tag, const char *what) {
  napi_valuetype type;
  bool tagged = false;
  void *data = NULL;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_external || napi_check_object_type_tag(env, value, tag, &tagged) != napi_ok ||
      !tagged || napi_get_value_external(env, value, &data) != napi_ok) {
    pp_throw_type(env, what);
    return NULL;
  }
  return data;
}

/* An integer in [min, max], else a RangeError. */
static inline bool pp_integer(napi_env env, napi_value value, double min, double max, const char *what, double *out) {
  double d;
  if (napi_get_value_double(env, value, &d) != napi_ok || !isfinite(d) || d != floor(d) || d < min || d > max) {
    pp_throw_range(env, what);
    return false;
  }
  *out = d;
  return true;
}

/* A finite or infinite number (not NaN), else a RangeError. */
static inline bool pp_number(napi_env env, napi_value value, const char *what, double *out) {
  if (napi_get_value_double(env, value, out) != napi_ok || isnan(*out)) {
    pp_throw_range(env, what);
    return false;
  }
  return true;
}

/* A typed array of type `want`: its elements and their count. */
static inline bool pp_typed(napi_env env, napi_value value, napi_typedarray_type want, const char *what, void **data, size_t *length) {
  bool is = false;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, value, &is) != napi_ok || !is || napi_get_typedarray_info(env, value, &type, length, data, NULL, NULL) != napi_ok ||
      type != want) {
    pp_throw_type(env, what);
    return false;
  }
  return true;
}

/* A new Float64Array of `n` numbers; *data receives its memory. */
static inline napi_value pp_new_f64(napi_env env, size_t n, double **data) {
  napi_value buffer, array;
  void *mem = NULL;
  if (napi_create_arraybuffer(env, n * 8, &mem, &buffer) != napi_ok || napi_create_typedarray(env, napi_float64_array, n, buffer, 0, &array) != napi_ok)
    return NULL;
  *data = mem;
  return array;
}

/* The external of type `tag` a one-argument function was called with (`usage` names the call); NULL after throwing. */
static inline void *pp_only_external(napi_env env, napi_callback_info info, const napi_type_tag *tag, const char *what, const char *usage) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1) {
    pp_throw_type(env, usage);
    return NULL;
  }
  return pp_external(env, argv[0], tag, what);
}

/* A new Uint32Array of `words` words; *data receives its memory. */
static inline napi_value pp_new_u32(napi_env env, size_t words, uint32_t **data) {
  napi_value buffer, array;
  void *mem = NULL;
  if (napi_create_arraybuffer(env, words * 4, &mem, &buffer) != napi_ok || napi_create_typedarray(env, napi_uint32_array, words, buffer, 0, &array) != napi_ok)
    return NULL;
  *data = mem;
  return array;
}

#endif
