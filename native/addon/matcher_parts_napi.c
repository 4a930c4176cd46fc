/*
 * The hop matcher's building blocks on their own (engine/hash_index.h, packet_bytes_ring.h), for the
 * tests of each against a model (test/agent/flow/tables.test.ts, packet-bytes-ring.test.ts). Types:
 * agent/native/pipeline-native.ts.
 *
 *   createHashIndex(initialCapacity, maxBuckets)   hashIndexGet/Set/Delete(x, key[, value]), hashIndexClear, hashIndexSize
 *   createPacketBytesRing(slots, slotBytes)        packetBytesPut(r, data, offset, caplen, origLen, linkType) -> seq
 *                                                  packetBytesGet(r, seq) -> { bytes, origLen, linkType } | undefined
 *                                                  packetBytesOverwritten(r)
 */
#include <stdlib.h>
#include <string.h>

#include "addon/pipeline_parts.h"
#include "engine/hash_index.h"
#include "engine/packet_bytes_ring.h"

static const napi_type_tag HASH_INDEX_TAG = {0x7077686173686978ull, 0x0000000000000001ull};
static const napi_type_tag RING_TAG = {0x7077627974657272ull, 0x696e670000000001ull};

/* A fingerprint: an integer in [0, 2^53). */
static bool get_key(napi_env env, napi_value v, uint64_t *key) {
  double d;
  if (!pp_integer(env, v, 0, 9007199254740991.0, "key must be an integer from 0 to 2^53 - 1", &d)) return false;
  *key = (uint64_t)d;
  return true;
}

static napi_value number(napi_env env, double d) {
  napi_value v;
  if (napi_create_double(env, d, &v) != napi_ok) return NULL;
  return v;
}

static napi_value boolean(napi_env env, bool b) {
  napi_value v;
  if (napi_get_boolean(env, b, &v) != napi_ok) return NULL;
  return v;
}

/* Up to 6 arguments; the first is the external with `tag`. */
static void *args(napi_env env, napi_callback_info info, size_t want, napi_value *argv, const napi_type_tag *tag, const char *usage) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < want) {
    pp_throw_type(env, usage);
    return NULL;
  }
  return pp_external(env, argv[0], tag, usage);
}

/* ---- hash index ---- */

static void finalize_index(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  pw_hash_index_destroy(data);
  free(data);
}

static napi_value create_hash_index(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], handle;
  double initial, max;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 2) return pp_throw_type(env, "createHashIndex(initialCapacity, maxBuckets)");
  if (!pp_integer(env, argv[0], 1, 1 << 26, "initialCapacity must be an integer from 1 to 2^26", &initial) ||
      !pp_integer(env, argv[1], 16, 1 << 27, "maxBuckets must be an integer from 16 to 2^27", &max))
    return NULL;
  pw_hash_index *x = malloc(sizeof *x);
  if (x == NULL || !pw_hash_index_init(x, (uint32_t)initial, (uint32_t)max)) {
    free(x);
    return pp_throw_range(env, "out of memory for a hash index");
  }
  if (napi_create_external(env, x, finalize_index, NULL, &handle) != napi_ok) {
    finalize_index(env, x, NULL);
    return NULL;
  }
  if (napi_type_tag_object(env, handle, &HASH_INDEX_TAG) != napi_ok) return NULL;
  return handle;
}

static napi_value hash_index_get(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint64_t key;
  pw_hash_index *x = args(env, info, 2, argv, &HASH_INDEX_TAG, "hashIndexGet(index, key)");
  if (x == NULL || !get_key(env, argv[1], &key)) return NULL;
  return number(env, pw_hash_index_get(x, key));
}

static napi_value hash_index_set(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  uint64_t key;
  double value;
  pw_hash_index *x = args(env, info, 3, argv, &HASH_INDEX_TAG, "hashIndexSet(index, key, value)");
  if (x == NULL || !get_key(env, argv[1], &key) || !pp_integer(env, argv[2], 0, 2147483647.0, "value must be an integer from 0 to 2^31 - 1", &value))
    return NULL;
  return boolean(env, pw_hash_index_set(x, key, (int32_t)value));
}

static napi_value hash_index_delete(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint64_t key;
  pw_hash_index *x = args(env, info, 2, argv, &HASH_INDEX_TAG, "hashIndexDelete(index, key)");
  if (x == NULL || !get_key(env, argv[1], &key)) return NULL;
  return boolean(env, pw_hash_index_delete(x, key));
}

static napi_value hash_index_clear(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  pw_hash_index *x = args(env, info, 1, argv, &HASH_INDEX_TAG, "hashIndexClear(index)");
  if (x == NULL) return NULL;
  pw_hash_index_clear(x);
  return NULL;
}

static napi_value hash_index_size(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  pw_hash_index *x = args(env, info, 1, argv, &HASH_INDEX_TAG, "hashIndexSize(index)");
  return x == NULL ? NULL : number(env, x->size);
}

/* ---- packet bytes ring ---- */

static void finalize_ring(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  pw_packet_bytes_ring_destroy(data);
  free(data);
}

static napi_value create_packet_bytes_ring(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], handle;
  double slots, slot_bytes;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 2) return pp_throw_type(env, "createPacketBytesRing(slots, slotBytes)");
  if (!pp_integer(env, argv[0], 1, PW_PACKET_BYTES_MAX_SLOTS, "slots must be an integer from 1 to 2^22", &slots) ||
      !pp_integer(env, argv[1], 0, PW_PACKET_BYTES_MAX_SLOT_BYTES, "slotBytes must be an integer from 0 to 65535", &slot_bytes))
    return NULL;
  pw_packet_bytes_ring *r = malloc(sizeof *r);
  if (r == NULL || !pw_packet_bytes_ring_init(r, (uint32_t)slots, (uint32_t)slot_bytes)) {
    free(r);
    return pp_throw_range(env, "out of memory for a packet bytes ring");
  }
  if (napi_create_external(env, r, finalize_ring, NULL, &handle) != napi_ok) {
    finalize_ring(env, r, NULL);
    return NULL;
  }
  if (napi_type_tag_object(env, handle, &RING_TAG) != napi_ok) return NULL;
  return handle;
}

static napi_value packet_bytes_put(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  void *data;
  size_t size;
  double offset, caplen, orig, link;
  pw_packet_bytes_ring *r = args(env, info, 6, argv, &RING_TAG, "packetBytesPut(ring, data, offset, caplen, origLen, linkType)");
  if (r == NULL || !pp_typed(env, argv[1], napi_uint8_array, "data must be a Uint8Array", &data, &size)) return NULL;
  if (!pp_integer(env, argv[2], 0, (double)size, "offset must lie within data", &offset) ||
      !pp_integer(env, argv[3], 0, (double)size - offset, "offset + caplen must lie within data", &caplen) ||
      !pp_integer(env, argv[4], 0, 4294967295.0, "origLen must be a 32-bit unsigned integer", &orig) ||
      !pp_integer(env, argv[5], 0, 4294967295.0, "linkType must be a 32-bit unsigned integer", &link))
    return NULL;
  return number(env, pw_packet_bytes_put(r, data, (size_t)offset, (size_t)caplen, (uint32_t)orig, (uint32_t)link));
}

static napi_value packet_bytes_get(napi_env env, napi_callback_info info) {
  napi_value argv[2], out, bytes;
  double seq;
  pw_packet_bytes p;
  void *mem;
  pw_packet_bytes_ring *r = args(env, info, 2, argv, &RING_TAG, "packetBytesGet(ring, seq)");
  if (r == NULL || !pp_integer(env, argv[1], -2147483648.0, 2147483647.0, "seq must be a 32-bit integer", &seq)) return NULL;
  if (!pw_packet_bytes_get(r, (int32_t)seq, &p)) {
    napi_get_undefined(env, &out);
    return out;
  }
  if (napi_create_buffer_copy(env, p.length, p.bytes, &mem, &bytes) != napi_ok || napi_create_object(env, &out) != napi_ok ||
      napi_set_named_property(env, out, "bytes", bytes) != napi_ok || napi_set_named_property(env, out, "origLen", number(env, p.orig_len)) != napi_ok ||
      napi_set_named_property(env, out, "linkType", number(env, p.link_type)) != napi_ok)
    return NULL;
  return out;
}

static napi_value packet_bytes_overwritten(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  pw_packet_bytes_ring *r = args(env, info, 1, argv, &RING_TAG, "packetBytesOverwritten(ring)");
  return r == NULL ? NULL : number(env, r->overwritten);
}

napi_status register_matcher_parts(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"createHashIndex", NULL, create_hash_index, NULL, NULL, NULL, napi_default, NULL},
    {"hashIndexGet", NULL, hash_index_get, NULL, NULL, NULL, napi_default, NULL},
    {"hashIndexSet", NULL, hash_index_set, NULL, NULL, NULL, napi_default, NULL},
    {"hashIndexDelete", NULL, hash_index_delete, NULL, NULL, NULL, napi_default, NULL},
    {"hashIndexClear", NULL, hash_index_clear, NULL, NULL, NULL, napi_default, NULL},
    {"hashIndexSize", NULL, hash_index_size, NULL, NULL, NULL, napi_default, NULL},
    {"createPacketBytesRing", NULL, create_packet_bytes_ring, NULL, NULL, NULL, napi_default, NULL},
    {"packetBytesPut", NULL, packet_bytes_put, NULL, NULL, NULL, napi_default, NULL},
    {"packetBytesGet", NULL, packet_bytes_get, NULL, NULL, NULL, napi_default, NULL},
    {"packetBytesOverwritten", NULL, packet_bytes_overwritten, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
