/*
 * The engine's functions as Node-API exports (types: agent/native/engine-native.ts).
 *
 *   decodeEventNames()                       the decode events' names, in counter order
 *   createDecoder(tunnelPorts?)              a decoder (dispatch tables, counters) and its view
 *   decodeForTest(dec, data, off, len, lt)   the whole view by PacketView's names, counters, fingerprint
 *   decodeInto(dec, data, off, len, lt, out) status; out[0] = fingerprint, out[1] = weak (0/1)
 *   decodeBatch(dec, block)                  a block of records in one call (engine/batch.h)
 *   decoderEvents(dec)                       the counters since createDecoder
 *
 * A decoder carries state from packet to packet (cumulative counters, and the view fields that
 * PacketView.reset() leaves as they were), so it is an object the caller keeps, like a
 * PacketDecoder. Every argument is checked here: the engine itself trusts its caller's bounds.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "addon/napi_util.h"
#include "addon/registrations.h"
#include "engine/batch.h"
#include "engine/decoder.h"
#include "engine/fingerprint.h"

typedef struct engine_decoder {
  pw_decoder decoder;
  pw_view view;
} engine_decoder;

/* Tells a decoder from any other external handed back to us. */
static const napi_type_tag DECODER_TAG = {0x7077646563303031ull, 0x656e67696e650a01ull};

#define MAX_TUNNEL_PORTS 64

static void finalize_decoder(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

/* ---- argument checks ------------------------------------------------------------------------ */

static napi_value throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

static napi_value throw_range(napi_env env, const char *msg) {
  napi_throw_range_error(env, NULL, msg);
  return NULL;
}

static engine_decoder *get_decoder(napi_env env, napi_value value) {
  napi_valuetype type;
  bool tagged = false;
  void *data = NULL;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_external ||
      napi_check_object_type_tag(env, value, &DECODER_TAG, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(env, value, &data) != napi_ok) {
    throw_type(env, "expected a decoder from createDecoder()");
    return NULL;
  }
  return data;
}

/* A typed array of the given type: its bytes (already past its byteOffset) and element count. */
static bool get_typed(napi_env env, napi_value value, napi_typedarray_type want, const char *what, void **data, size_t *length) {
  bool is = false;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, value, &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, value, &type, length, data, NULL, NULL) != napi_ok || type != want) {
    throw_type(env, what);
    return false;
  }
  return true;
}

/* A non-negative integer no larger than max (offsets and lengths in a buffer, link types). */
static bool get_integer(napi_env env, napi_value value, double max, const char *what, uint64_t *out) {
  double d;
  if (napi_get_value_double(env, value, &d) != napi_ok || !isfinite(d) || d != floor(d) || d < 0 || d > max) {
    throw_range(env, what);
    return false;
  }
  *out = (uint64_t)d;
  return true;
}

/* One list of tunnel ports: integers 0-65535. */
static bool get_ports(napi_env env, napi_value config, const char *name, uint16_t *ports, size_t *count) {
  napi_value list;
  bool is_array = false;
  uint32_t n = 0;
  if (napi_get_named_property(env, config, name, &list) != napi_ok || napi_is_array(env, list, &is_array) != napi_ok ||
      !is_array || napi_get_array_length(env, list, &n) != napi_ok) {
    throw_type(env, "tunnelPorts needs vxlanPorts and genevePorts arrays");
    return false;
  }
  if (n > MAX_TUNNEL_PORTS) {
    throw_range(env, "at most 64 tunnel ports per list");
    return false;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value item;
    uint64_t port;
    if (napi_get_element(env, list, i, &item) != napi_ok) return false;
    if (!get_integer(env, item, 65535, "a tunnel port is an integer from 0 to 65535", &port)) return false;
    ports[i] = (uint16_t)port;
  }
  *count = n;
  return true;
}

/* The record arguments shared by decodeForTest and decodeInto: data, offset, length, link type. */
typedef struct record_args {
  engine_decoder *dec;
  const uint8_t *data;
  size_t offset;
  size_t length;
  uint32_t link_type;
} record_args;

static bool get_record_args(napi_env env, napi_value *argv, record_args *r) {
  void *data;
  size_t size;
  uint64_t offset, length, link_type;
  r->dec = get_decoder(env, argv[0]);
  if (r->dec == NULL) return false;
  if (!get_typed(env, argv[1], napi_uint8_array, "data must be a Uint8Array or Buffer", &data, &size)) return false;
  if (!get_integer(env, argv[2], (double)size, "offset must be an integer within data", &offset)) return false;
  if (!get_integer(env, argv[3], (double)(size - offset), "offset + length must lie within data", &length)) return false;
  if (!get_integer(env, argv[4], 4294967295.0, "linkType must be an integer from 0 to 2^32 - 1", &link_type)) return false;
  r->data = data;
  r->offset = (size_t)offset;
  r->length = (size_t)length;
  r->link_type = (uint32_t)link_type;
  return true;
}

/* ---- results ---------------------------------------------------------------------------------- */

static napi_status set_int(napi_env env, napi_value obj, const char *key, int64_t value) {
  napi_value v;
  napi_status s = napi_create_int64(env, value, &v);
  if (s != napi_ok) return s;
  return napi_set_named_property(env, obj, key, v);
}

static napi_status set_int_array(napi_env env, napi_value obj, const char *key, const int64_t *values, size_t n) {
  napi_value arr;
  napi_status s = napi_create_array_with_length(env, n, &arr);
  for (size_t i = 0; s == napi_ok && i < n; i++) {
    napi_value v;
    s = napi_create_int64(env, values[i], &v);
    if (s == napi_ok) s = napi_set_element(env, arr, (uint32_t)i, v);
  }
  if (s != napi_ok) return s;
  return napi_set_named_property(env, obj, key, arr);
}

/* Copies a field's array into int64s so one setter serves uint8_t, uint32_t and int32_t arrays. */
#define SET_ARRAY(env, obj, key, field)                                                             \
  do {                                                                                             \
    int64_t tmp_[sizeof(field) / sizeof((field)[0])];                                              \
    for (size_t i_ = 0; i_ < sizeof tmp_ / sizeof tmp_[0]; i_++) tmp_[i_] = (int64_t)(field)[i_]; \
    NAPI_CALL(env, set_int_array(env, obj, key, tmp_, sizeof tmp_ / sizeof tmp_[0]));              \
  } while (0)

#define SET(env, obj, key, value) NAPI_CALL(env, set_int(env, obj, key, (int64_t)(value)))

/* The view by PacketView's field names, in its order. */
static napi_value view_object(napi_env env, const pw_view *v) {
  napi_value o;
  NAPI_CALL(env, napi_create_object(env, &o));
  SET(env, o, "linkType", v->link_type);
  SET(env, o, "macSrcOffset", v->mac_src_offset);
  SET(env, o, "macDstOffset", v->mac_dst_offset);
  SET(env, o, "macDstGroup", v->mac_dst_group);
  SET(env, o, "linuxIfindex", v->linux_ifindex);
  SET(env, o, "linuxPacketType", v->linux_packet_type);
  SET(env, o, "linuxHatype", v->linux_hatype);
  SET(env, o, "vlanDepth", v->vlan_depth);
  SET(env, o, "vlanId", v->vlan_id);
  SET(env, o, "encapDepth", v->encap_depth);
  SET_ARRAY(env, o, "encapKind", v->encap_kind);
  SET_ARRAY(env, o, "encapOuterVersion", v->encap_outer_version);
  SET_ARRAY(env, o, "encapOuterSrc", v->encap_outer_src);
  SET_ARRAY(env, o, "encapOuterDst", v->encap_outer_dst);
  SET_ARRAY(env, o, "encapVni", v->encap_vni);
  SET(env, o, "ipVersion", v->ip_version);
  SET_ARRAY(env, o, "src", v->src);
  SET_ARRAY(env, o, "dst", v->dst);
  SET(env, o, "proto", v->proto);
  SET(env, o, "ttl", v->ttl);
  SET(env, o, "ipId", v->ip_id);
  SET(env, o, "flowLabel", v->flow_label);
  SET(env, o, "ipOffset", v->ip_offset);
  SET(env, o, "ipLength", v->ip_length);
  SET(env, o, "fragOffset", v->frag_offset);
  SET(env, o, "moreFragments", v->more_fragments);
  SET(env, o, "isFragment", v->is_fragment);
  SET(env, o, "l4Valid", v->l4_valid);
  SET(env, o, "l4Offset", v->l4_offset);
  SET(env, o, "sport", v->sport);
  SET(env, o, "dport", v->dport);
  SET(env, o, "tcpFlags", v->tcp_flags);
  SET(env, o, "tcpSeq", v->tcp_seq);
  SET(env, o, "tcpAck", v->tcp_ack);
  SET(env, o, "udpLength", v->udp_length);
  SET(env, o, "icmpType", v->icmp_type);
  SET(env, o, "icmpCode", v->icmp_code);
  SET(env, o, "icmpId", v->icmp_id);
  SET(env, o, "icmpSeq", v->icmp_seq);
  SET(env, o, "payloadOffset", v->payload_offset);
  SET(env, o, "payloadEnd", v->payload_end);
  SET(env, o, "quotedValid", v->quoted_valid);
  SET(env, o, "quotedVersion", v->quoted_version);
  SET_ARRAY(env, o, "quotedSrc", v->quoted_src);
  SET_ARRAY(env, o, "quotedDst", v->quoted_dst);
  SET(env, o, "quotedProto", v->quoted_proto);
  SET(env, o, "quotedSport", v->quoted_sport);
  SET(env, o, "quotedDport", v->quoted_dport);
  SET(env, o, "quotedIpId", v->quoted_ip_id);
  SET(env, o, "truncated", v->truncated);
  SET(env, o, "malformed", v->malformed);
  SET(env, o, "undecodedTunnel", v->undecoded_tunnel);
  SET(env, o, "undecodedValue", v->undecoded_value);
  return o;
}

static napi_value events_array(napi_env env, const pw_decoder *dec) {
  napi_value arr;
  NAPI_CALL(env, napi_create_array_with_length(env, PW_DECODE_EVENT_COUNT, &arr));
  for (uint32_t i = 0; i < PW_DECODE_EVENT_COUNT; i++) {
    napi_value v;
    /* Counters are doubles in TypeScript too (Float64Array): exact up to 2^53 events. */
    NAPI_CALL(env, napi_create_double(env, (double)dec->events[i], &v));
    NAPI_CALL(env, napi_set_element(env, arr, i, v));
  }
  return arr;
}

/* ---- exports ---------------------------------------------------------------------------------- */

static napi_value decode_event_names(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value arr;
  NAPI_CALL(env, napi_create_array_with_length(env, PW_DECODE_EVENT_COUNT, &arr));
  for (uint32_t i = 0; i < PW_DECODE_EVENT_COUNT; i++) {
    napi_value s;
    NAPI_CALL(env, napi_create_string_utf8(env, pw_decode_event_names[i], NAPI_AUTO_LENGTH, &s));
    NAPI_CALL(env, napi_set_element(env, arr, i, s));
  }
  return arr;
}

static napi_value create_decoder(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint16_t vxlan[MAX_TUNNEL_PORTS], geneve[MAX_TUNNEL_PORTS];
  pw_tunnel_ports ports = {.vxlan = vxlan, .geneve = geneve};
  const pw_tunnel_ports *use = NULL;
  if (argc >= 1) {
    napi_valuetype type;
    NAPI_CALL(env, napi_typeof(env, argv[0], &type));
    if (type == napi_object) {
      if (!get_ports(env, argv[0], "vxlanPorts", vxlan, &ports.vxlan_count)) return NULL;
      if (!get_ports(env, argv[0], "genevePorts", geneve, &ports.geneve_count)) return NULL;
      use = &ports;
    } else if (type != napi_undefined) {
      return throw_type(env, "tunnelPorts must be { vxlanPorts, genevePorts } or undefined");
    }
  }
  engine_decoder *dec = malloc(sizeof *dec);
  if (dec == NULL) {
    napi_throw_error(env, NULL, "out of memory for a decoder");
    return NULL;
  }
  pw_decoder_init(&dec->decoder, use);
  pw_view_init(&dec->view);
  napi_value handle;
  if (napi_create_external(env, dec, finalize_decoder, NULL, &handle) != napi_ok) {
    free(dec);
    NAPI_CALL(env, napi_generic_failure);
  }
  NAPI_CALL(env, napi_type_tag_object(env, handle, &DECODER_TAG));
  return handle;
}

static napi_value decode_for_test(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) return throw_type(env, "decodeForTest(decoder, data, offset, length, linkType)");
  record_args r;
  if (!get_record_args(env, argv, &r)) return NULL;
  pw_decode_status status = pw_decode(&r.dec->decoder, &r.dec->view, r.data, r.offset, r.length, r.link_type);
  napi_value out, view, events, weak;
  NAPI_CALL(env, napi_create_object(env, &out));
  SET(env, out, "status", status);
  view = view_object(env, &r.dec->view);
  if (view == NULL) return NULL;
  NAPI_CALL(env, napi_set_named_property(env, out, "view", view));
  events = events_array(env, &r.dec->decoder);
  if (events == NULL) return NULL;
  NAPI_CALL(env, napi_set_named_property(env, out, "events", events));
  NAPI_CALL(env, set_number_property(env, out, "fingerprint", (double)pw_fingerprint(&r.dec->view, r.data)));
  NAPI_CALL(env, napi_get_boolean(env, pw_fingerprint_is_weak(&r.dec->view), &weak));
  NAPI_CALL(env, napi_set_named_property(env, out, "weak", weak));
  return out;
}

static napi_value decode_into(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6) return throw_type(env, "decodeInto(decoder, data, offset, length, linkType, out)");
  record_args r;
  void *out_data;
  size_t out_length;
  if (!get_record_args(env, argv, &r)) return NULL;
  if (!get_typed(env, argv[5], napi_float64_array, "out must be a Float64Array", &out_data, &out_length)) return NULL;
  if (out_length < 2) return throw_range(env, "out must hold 2 numbers (fingerprint, weak)");
  pw_decode_status status = pw_decode(&r.dec->decoder, &r.dec->view, r.data, r.offset, r.length, r.link_type);
  double *out = out_data;
  out[0] = (double)pw_fingerprint(&r.dec->view, r.data);
  out[1] = pw_fingerprint_is_weak(&r.dec->view) ? 1 : 0;
  napi_value result;
  NAPI_CALL(env, napi_create_uint32(env, (uint32_t)status, &result));
  return result;
}

/* One typed-array property of the block, with at least `count` elements. */
static bool block_array(napi_env env, napi_value block, const char *name, napi_typedarray_type type, size_t count, void **data) {
  napi_value value;
  size_t length;
  char msg[96];
  snprintf(msg, sizeof msg, "block.%s has the wrong type", name);
  if (napi_get_named_property(env, block, name, &value) != napi_ok) return false;
  if (!get_typed(env, value, type, msg, data, &length)) return false;
  if (length < count) {
    snprintf(msg, sizeof msg, "block.%s holds fewer than block.count elements", name);
    throw_range(env, msg);
    return false;
  }
  return true;
}

static napi_value decode_batch(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) return throw_type(env, "decodeBatch(decoder, block)");
  engine_decoder *dec = get_decoder(env, argv[0]);
  if (dec == NULL) return NULL;
  napi_value block = argv[1], value;
  uint64_t count;
  void *data, *offsets, *lengths, *link_types, *status, *fingerprints, *weak;
  size_t data_length;
  NAPI_CALL(env, napi_get_named_property(env, block, "data", &value));
  if (!get_typed(env, value, napi_uint8_array, "block.data must be a Uint8Array or Buffer", &data, &data_length)) return NULL;
  NAPI_CALL(env, napi_get_named_property(env, block, "count", &value));
  if (!get_integer(env, value, 4294967295.0, "block.count must be a non-negative integer", &count)) return NULL;
  if (!block_array(env, block, "offsets", napi_uint32_array, count, &offsets) ||
      !block_array(env, block, "lengths", napi_uint32_array, count, &lengths) ||
      !block_array(env, block, "linkTypes", napi_uint32_array, count, &link_types) ||
      !block_array(env, block, "status", napi_uint8_array, count, &status) ||
      !block_array(env, block, "fingerprints", napi_float64_array, count, &fingerprints) ||
      !block_array(env, block, "weak", napi_uint8_array, count, &weak))
    return NULL;
  pw_batch_in in = {.data = data, .data_length = data_length, .offsets = offsets, .lengths = lengths, .link_types = link_types, .count = (size_t)count};
  pw_batch_out out = {.status = status, .fingerprint = fingerprints, .weak = weak};
  size_t done = pw_decode_batch(&dec->decoder, &dec->view, &in, &out);
  if (done != in.count) {
    char msg[96];
    snprintf(msg, sizeof msg, "record %zu does not lie within block.data", done);
    return throw_range(env, msg);
  }
  napi_value result;
  NAPI_CALL(env, napi_create_double(env, (double)done, &result));
  return result;
}

static napi_value decoder_events(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return throw_type(env, "decoderEvents(decoder)");
  engine_decoder *dec = get_decoder(env, argv[0]);
  if (dec == NULL) return NULL;
  return events_array(env, &dec->decoder);
}

napi_status register_engine(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"decodeEventNames", NULL, decode_event_names, NULL, NULL, NULL, napi_default, NULL},
    {"createDecoder", NULL, create_decoder, NULL, NULL, NULL, napi_default, NULL},
    {"decodeForTest", NULL, decode_for_test, NULL, NULL, NULL, napi_default, NULL},
    {"decodeInto", NULL, decode_into, NULL, NULL, NULL, napi_default, NULL},
    {"decodeBatch", NULL, decode_batch, NULL, NULL, NULL, napi_default, NULL},
    {"decoderEvents", NULL, decoder_events, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
