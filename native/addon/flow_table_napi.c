/*
 * A native flow table on its own (engine/flow_table.h), fed views packed by JS, so the differential
 * tests can drive it and the TypeScript FlowTable with the same sightings (synthetic ones too, whose
 * views no packet produces). Types: agent/native/pipeline-native.ts.
 *
 *   createFlowTable(initialCapacity, maxFlows)                   a table (powers of two)
 *   flowTableAdd(t, view, ifaceId, direction, length, tsMs)      slot or -1; view packed (PACKED_*)
 *   flowTableCreated(t)                                          whether the last add created its slot
 *   flowTableSetDirection(t, slot, dir), flowTableMarkOriginated(t, slot)
 *   flowTableFlush(t)                                            the interval's records (flow_records.h)
 *   flowTableStats(t)                                            { flows, records, overflowPackets, chainOverflow }
 *   flowTableChain(t, id)                                        a chain's stored row, or an empty array
 */
#include <stdlib.h>

#include "addon/pipeline_parts.h"
#include "engine/flow_table.h"

/* The packed view: the fields the flow table reads, in this order (agent/native/pipeline-native.ts). */
enum {
  PACKED_IP_VERSION = 0,
  PACKED_PROTO = 1,
  PACKED_SPORT = 2,
  PACKED_DPORT = 3,
  PACKED_SRC = 4,
  PACKED_DST = 8,
  PACKED_ENCAP_DEPTH = 12,
  PACKED_ENCAP_KIND = 13,
  PACKED_ENCAP_OUTER_VERSION = 17,
  PACKED_ENCAP_VNI = 21,
  PACKED_ENCAP_OUTER_SRC = 25,
  PACKED_ENCAP_OUTER_DST = 41,
  PACKED_WORDS = 57,
};

typedef struct flow_table_handle {
  pw_flow_table table;
  pw_view view;
} flow_table_handle;

static const napi_type_tag FLOW_TABLE_TAG = {0x7077666c6f777462ull, 0x6c65000000000001ull};

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  flow_table_handle *h = data;
  pw_flow_table_destroy(&h->table);
  free(h);
}

static flow_table_handle *get_table(napi_env env, napi_value v) {
  return pp_external(env, v, &FLOW_TABLE_TAG, "expected a flow table from createFlowTable()");
}

/* The table argument of a one-argument function. */
static flow_table_handle *only_table(napi_env env, napi_callback_info info, const char *usage) {
  return pp_only_external(env, info, &FLOW_TABLE_TAG, "expected a flow table from createFlowTable()", usage);
}

static napi_value create_flow_table(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  double initial, max;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 2) return pp_throw_type(env, "createFlowTable(initialCapacity, maxFlows)");
  if (!pp_integer(env, argv[0], 1, PW_FLOW_MAX_FLOWS, "initialCapacity must be a power of two up to 2^18", &initial)) return NULL;
  if (!pp_integer(env, argv[1], 1, PW_FLOW_MAX_FLOWS, "maxFlows must be a power of two up to 2^18", &max)) return NULL;
  flow_table_handle *h = malloc(sizeof *h);
  if (h == NULL) return pp_throw_range(env, "out of memory for a flow table");
  if (!pw_flow_table_init(&h->table, (uint32_t)initial, (uint32_t)max)) {
    free(h);
    return pp_throw_range(env, "a flow table needs powers of two, initialCapacity <= maxFlows, and the memory for maxFlows");
  }
  pw_view_init(&h->view);
  napi_value handle;
  if (napi_create_external(env, h, finalize, NULL, &handle) != napi_ok) {
    finalize(env, h, NULL);
    return NULL;
  }
  if (napi_type_tag_object(env, handle, &FLOW_TABLE_TAG) != napi_ok) return NULL;
  return handle;
}

/* Unpacks the flow table's fields of a view; the rest stay as pw_view_init left them. */
static void unpack_view(pw_view *v, const uint32_t *w) {
  v->ip_version = w[PACKED_IP_VERSION];
  v->proto = (int32_t)w[PACKED_PROTO];
  v->sport = w[PACKED_SPORT];
  v->dport = w[PACKED_DPORT];
  v->encap_depth = w[PACKED_ENCAP_DEPTH] <= PW_MAX_ENCAP_DEPTH ? w[PACKED_ENCAP_DEPTH] : PW_MAX_ENCAP_DEPTH;
  for (int i = 0; i < 4; i++) {
    v->src[i] = w[PACKED_SRC + i];
    v->dst[i] = w[PACKED_DST + i];
  }
  for (int l = 0; l < PW_MAX_ENCAP_DEPTH; l++) {
    v->encap_kind[l] = (uint8_t)w[PACKED_ENCAP_KIND + l];
    v->encap_outer_version[l] = (uint8_t)w[PACKED_ENCAP_OUTER_VERSION + l];
    v->encap_vni[l] = (int32_t)w[PACKED_ENCAP_VNI + l];
  }
  for (int i = 0; i < PW_MAX_ENCAP_DEPTH * 4; i++) {
    v->encap_outer_src[i] = w[PACKED_ENCAP_OUTER_SRC + i];
    v->encap_outer_dst[i] = w[PACKED_ENCAP_OUTER_DST + i];
  }
}

static napi_value flow_table_add(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  void *words;
  size_t n;
  double iface, dir, length, ts;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 6) return pp_throw_type(env, "flowTableAdd(table, view, ifaceId, direction, length, tsMs)");
  flow_table_handle *h = get_table(env, argv[0]);
  if (h == NULL) return NULL;
  if (!pp_typed(env, argv[1], napi_uint32_array, "view must be a Uint32Array", &words, &n)) return NULL;
  if (n < PACKED_WORDS) return pp_throw_range(env, "view must hold 57 words");
  if (!pp_integer(env, argv[2], 0, 4294967295.0, "ifaceId must be a 32-bit unsigned integer", &iface) ||
      !pp_integer(env, argv[3], 0, 2, "direction must be 0, 1 or 2", &dir) || !pp_number(env, argv[4], "length must be a number", &length) ||
      !pp_number(env, argv[5], "tsMs must be a number", &ts))
    return NULL;
  unpack_view(&h->view, words);
  int32_t slot = pw_flow_table_add(&h->table, &h->view, (uint32_t)iface, (uint32_t)dir, length, ts);
  napi_value out;
  if (napi_create_int32(env, slot, &out) != napi_ok) return NULL;
  return out;
}

static napi_value boolean(napi_env env, bool b) {
  napi_value out;
  if (napi_get_boolean(env, b, &out) != napi_ok) return NULL;
  return out;
}

static napi_value flow_table_created(napi_env env, napi_callback_info info) {
  flow_table_handle *h = only_table(env, info, "flowTableCreated(table)");
  return h == NULL ? NULL : boolean(env, h->table.created);
}

static napi_value flow_table_set_direction(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  double slot, dir;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 3) return pp_throw_type(env, "flowTableSetDirection(table, slot, direction)");
  flow_table_handle *h = get_table(env, argv[0]);
  if (h == NULL || !pp_integer(env, argv[1], -1, 2147483647.0, "slot must be an integer", &slot) ||
      !pp_integer(env, argv[2], 0, 2, "direction must be 0, 1 or 2", &dir))
    return NULL;
  return boolean(env, pw_flow_table_set_direction(&h->table, (int32_t)slot, (uint32_t)dir));
}

static napi_value flow_table_mark_originated(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  double slot;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 2) return pp_throw_type(env, "flowTableMarkOriginated(table, slot)");
  flow_table_handle *h = get_table(env, argv[0]);
  if (h == NULL || !pp_integer(env, argv[1], -1, 2147483647.0, "slot must be an integer", &slot)) return NULL;
  return boolean(env, pw_flow_table_mark_originated(&h->table, (int32_t)slot));
}

static napi_value flow_table_flush(napi_env env, napi_callback_info info) {
  flow_table_handle *h = only_table(env, info, "flowTableFlush(table)");
  if (h == NULL) return NULL;
  return pw_napi_flush_records(env, &h->table);
}

static napi_value flow_table_stats(napi_env env, napi_callback_info info) {
  napi_value out, v;
  flow_table_handle *h = only_table(env, info, "flowTableStats(table)");
  if (h == NULL || napi_create_object(env, &out) != napi_ok) return NULL;
  const struct {
    const char *name;
    double value;
  } fields[] = {
    {"flows", h->table.stats.flows},
    {"records", h->table.stats.records},
    {"overflowPackets", h->table.stats.overflow_packets},
    {"chainOverflow", (double)h->table.chains.overflow},
  };
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    if (napi_create_double(env, fields[i].value, &v) != napi_ok || napi_set_named_property(env, out, fields[i].name, v) != napi_ok) return NULL;
  }
  return out;
}

static napi_value flow_table_chain(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  double id;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 2) return pp_throw_type(env, "flowTableChain(table, id)");
  flow_table_handle *h = get_table(env, argv[0]);
  if (h == NULL || !pp_integer(env, argv[1], 0, 4294967295.0, "id must be a 32-bit unsigned integer", &id)) return NULL;
  return pw_napi_chain_row(env, &h->table.chains, (uint32_t)id);
}

napi_status register_flow_table(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"createFlowTable", NULL, create_flow_table, NULL, NULL, NULL, napi_default, NULL},
    {"flowTableAdd", NULL, flow_table_add, NULL, NULL, NULL, napi_default, NULL},
    {"flowTableCreated", NULL, flow_table_created, NULL, NULL, NULL, napi_default, NULL},
    {"flowTableSetDirection", NULL, flow_table_set_direction, NULL, NULL, NULL, napi_default, NULL},
    {"flowTableMarkOriginated", NULL, flow_table_mark_originated, NULL, NULL, NULL, napi_default, NULL},
    {"flowTableFlush", NULL, flow_table_flush, NULL, NULL, NULL, napi_default, NULL},
    {"flowTableStats", NULL, flow_table_stats, NULL, NULL, NULL, napi_default, NULL},
    {"flowTableChain", NULL, flow_table_chain, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
