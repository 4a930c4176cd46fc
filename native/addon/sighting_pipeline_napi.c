/*
 * The native sighting pipeline (engine/sighting_pipeline.h) as Node-API exports. JavaScript hands it
 * blocks of records and takes compact results; agent/native/native-sighting-pipeline.ts is the
 * adapter with SightingPipeline's surface, agent/native/node-findings-native.ts builds NodeFindings
 * from pipelineTake's numbers. Types: agent/native/pipeline-native.ts.
 *
 *   createSightingPipeline(config: Float64Array)       PIPELINE_CONFIG_* below
 *   pipelineSyncRegistry(p, ifaceNode, ifaceRole, nodeCovers, nodeIfaces)
 *   pipelineSetIfindex(p, binding, ifindex, iface), pipelineClearIfindexes(p, binding)
 *   pipelineRun(p, data, meta, tsMs, start, count, out, undecoded)   next record; see below
 *   pipelineWalk(p, data, pos, format, clock, listUndecoded, out)  a chunk of pcap or pcapng records; see below
 *   pipelineAddLocal(p, node, version, words)          one of the node's own addresses
 *   pipelineExpire(p, node, watermark), pipelineExpireAll(p, node, endTs)
 *   pipelineKernelDrops(p, node, events, count, eventBytes, nowMs)  the drop monitor's events; see below
 *   pipelineMatchers(p)                                 node indexes with a matcher (Uint32Array)
 *   pipelineFlush(p), pipelineChain(p, id)              flow records, chains (pipeline_parts.h)
 *   pipelineTake(p, node)                               { numbers, bytes }: TAKE layout below
 *   pipelineKnowledge(p, node, questions)               { answers, own }
 *   pipelineStats(p)                                    Float64Array: STATS layout below
 *   pipelineInterfaceCounts(p, count)                   Float64Array: packets[count], bytes[count]
 *   pipelineDecodeEvents(p)                             Float64Array per decode event
 */
#include <stdlib.h>
#include <string.h>

#include "addon/pipeline_parts.h"
#include "bpf/drop_event.h"
#include "engine/pcap_walk.h"
#include "engine/sighting_pipeline.h"

enum {
  CFG_WINDOW_MS,
  CFG_MAX_GROUPS,
  CFG_TUNNEL_HOP_SAMPLE,
  CFG_OPEN_CAPACITY,
  CFG_SIGHTING_CAPACITY,
  CFG_SAMPLE_ONE_IN,
  CFG_BYTES_SLOTS,
  CFG_BYTES_SLOT_BYTES,
  CFG_WORDS
};

/* pipelineTake: counters, then counts, then groups, departures, arrivals. */
#define TAKE_HEAD (PW_COUNTERS + 3)
/*
 * A group: iface, hash, ip version, src[4], dst[4], proto, sport, dport, uncertain, packets, first
 * seen, last seen, fingerprint count, fingerprints[5], mac src, mac dst, has sample, sample offset
 * in bytes, sample length, orig len, link type, ts, hop count; then per kernel drop reason matched
 * (two): reason, packets (0: none), location's high and low 32 bits; then packets matched with
 * other reasons; then its hops.
 */
#define GROUP_HEAD 42
#define GROUP_KERNEL 33

typedef struct pipeline_handle {
  pw_pipeline *p;
} pipeline_handle;

static const napi_type_tag PIPELINE_TAG = {0x7077706970656c69ull, 0x6e65000000000001ull};

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  pipeline_handle *h = data;
  pw_pipeline_destroy(h->p);
  free(h);
}

/* Up to `max` arguments (at least `min`) and the pipeline in the first. */
static pw_pipeline *args(napi_env env, napi_callback_info info, size_t min, size_t max, napi_value *argv, const char *usage) {
  size_t argc = max;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < min) {
    pp_throw_type(env, usage);
    return NULL;
  }
  pipeline_handle *h = pp_external(env, argv[0], &PIPELINE_TAG, "expected a pipeline from createSightingPipeline()");
  return h == NULL ? NULL : h->p;
}

static napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

static napi_value create_pipeline(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *data;
  size_t n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1) return pp_throw_type(env, "createSightingPipeline(config)");
  if (!pp_typed(env, argv[0], napi_float64_array, "config must be a Float64Array", &data, &n)) return NULL;
  if (n < CFG_WORDS) return pp_throw_range(env, "config must hold 8 numbers");
  const double *c = data;
  for (int i = 0; i < CFG_WORDS; i++)
    if (!(c[i] >= -1 && c[i] <= 4294967295.0)) return pp_throw_range(env, "config numbers out of range");
  pw_pipeline_config config = {
    .matcher = {.window_ms = c[CFG_WINDOW_MS], .max_groups = (uint32_t)c[CFG_MAX_GROUPS], .tunnel_hop_sample = c[CFG_TUNNEL_HOP_SAMPLE],
                .open_capacity = (uint32_t)c[CFG_OPEN_CAPACITY], .sighting_capacity = (uint32_t)c[CFG_SIGHTING_CAPACITY]},
    .sample_one_in = c[CFG_SAMPLE_ONE_IN],
    .packet_bytes_slots = c[CFG_BYTES_SLOTS] > 0 ? (uint32_t)c[CFG_BYTES_SLOTS] : 0,
    .packet_bytes_slot_bytes = c[CFG_BYTES_SLOT_BYTES] > 0 ? (uint32_t)c[CFG_BYTES_SLOT_BYTES] : 0,
  };
  pipeline_handle *h = malloc(sizeof *h);
  if (h == NULL) return pp_throw_range(env, "out of memory for a pipeline");
  h->p = pw_pipeline_create(&config);
  if (h->p == NULL) {
    free(h);
    return pp_throw_range(env, "a pipeline needs a power-of-two open capacity up to 2^26, a sighting capacity up to 2^26, and the memory");
  }
  napi_value handle;
  if (napi_create_external(env, h, finalize, NULL, &handle) != napi_ok) {
    finalize(env, h, NULL);
    return NULL;
  }
  if (napi_type_tag_object(env, handle, &PIPELINE_TAG) != napi_ok) return NULL;
  return handle;
}

static napi_value sync_registry(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  void *node, *role, *covers, *ifaces;
  size_t ni, nr, nc, nn;
  pw_pipeline *p = args(env, info, 5, 5, argv, "pipelineSyncRegistry(p, ifaceNode, ifaceRole, nodeCovers, nodeIfaces)");
  if (p == NULL || !pp_typed(env, argv[1], napi_uint32_array, "ifaceNode must be a Uint32Array", &node, &ni) ||
      !pp_typed(env, argv[2], napi_uint8_array, "ifaceRole must be a Uint8Array", &role, &nr) ||
      !pp_typed(env, argv[3], napi_uint8_array, "nodeCovers must be a Uint8Array", &covers, &nc) ||
      !pp_typed(env, argv[4], napi_uint32_array, "nodeIfaces must be a Uint32Array", &ifaces, &nn))
    return NULL;
  if (ni != nr || nc != nn || ni > PW_MAX_IFACES || nc > PW_MAX_NODES) return pp_throw_range(env, "registry arrays of unequal length or past the bounds");
  const uint32_t *in = node;
  for (size_t i = 0; i < ni; i++)
    if (in[i] >= nc) return pp_throw_range(env, "an interface of an unknown node");
  pw_node_registry *r = &p->registry;
  memcpy(r->iface_node, node, ni * 4);
  // A role's top bit says the interface is not analysed (the agent's --iface patterns).
  const uint8_t *roles = role;
  for (size_t i = 0; i < nr; i++) {
    r->iface_role[i] = roles[i] & 0x7f;
    r->iface_skipped[i] = roles[i] >> 7;
  }
  memcpy(r->node_covers_all, covers, nc);
  memcpy(r->node_ifaces, ifaces, nn * 4);
  r->iface_count = (uint32_t)ni;
  r->node_count = (uint32_t)nc;
  return undefined(env);
}

static napi_value set_ifindex(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  double b, x, i;
  pw_pipeline *p = args(env, info, 4, 4, argv, "pipelineSetIfindex(p, binding, ifindex, iface)");
  if (p == NULL || !pp_integer(env, argv[1], 0, PW_MAX_BINDINGS - 1, "binding out of range", &b) ||
      !pp_integer(env, argv[2], 0, PW_MAX_IFINDEX - 1, "ifindex out of range", &x) || !pp_integer(env, argv[3], 0, PW_MAX_IFACES - 1, "iface out of range", &i))
    return NULL;
  pw_pipeline_set_ifindex(p, (uint32_t)b, (uint32_t)x, (uint32_t)i);
  return undefined(env);
}

/* pipelineClearIfindexes(p, binding): forgets the binding's interface indexes (JavaScript looks their names up afresh). */
static napi_value clear_ifindexes(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  double b;
  pw_pipeline *p = args(env, info, 2, 2, argv, "pipelineClearIfindexes(p, binding)");
  if (p == NULL || !pp_integer(env, argv[1], 0, PW_MAX_BINDINGS - 1, "binding out of range", &b)) return NULL;
  int32_t *map = p->ifindex_maps[(uint32_t)b];
  if (map != NULL) memset(map, 0, PW_MAX_IFINDEX * sizeof *map);
  return undefined(env);
}

/*
 * pipelineRun(p, data, meta, tsMs, start, count, out, undecoded): runs records [start, count) and
 * returns the next record to run. out[2]: how many undecoded tunnel records the run listed in
 * `undecoded` (pairs: record, interface id); a run stops early when that list is full
 * (out[2] == PIPELINE_UNDECODED_MAX), or at a record whose interface JavaScript must register first
 * (out[0], out[1]: its Linux ifindex and hardware type).
 */
static napi_value run(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  void *data, *meta, *ts, *out, *und;
  size_t nd, nm, nt, no, nu;
  double start, count;
  pw_pipeline *p = args(env, info, 8, 8, argv, "pipelineRun(p, data, meta, tsMs, start, count, out, undecoded)");
  if (p == NULL || !pp_typed(env, argv[1], napi_uint8_array, "data must be a Uint8Array", &data, &nd) ||
      !pp_typed(env, argv[2], napi_uint32_array, "meta must be a Uint32Array", &meta, &nm) ||
      !pp_typed(env, argv[3], napi_float64_array, "tsMs must be a Float64Array", &ts, &nt) ||
      !pp_integer(env, argv[4], 0, 4294967295.0, "start must be an index", &start) || !pp_integer(env, argv[5], 0, 4294967295.0, "count must be an index", &count) ||
      !pp_typed(env, argv[6], napi_float64_array, "out must be a Float64Array", &out, &no) ||
      !pp_typed(env, argv[7], napi_uint32_array, "undecoded must be a Uint32Array", &und, &nu))
    return NULL;
  if ((size_t)count * PW_REC_WORDS > nm || (size_t)count > nt || no < 4 || nu < 2 * p->undecoded_max || start > count)
    return pp_throw_range(env, "meta, tsMs, out or undecoded too short for count records");
  int64_t ifindex = -1;
  int32_t hatype = -1;
  size_t next = pw_pipeline_run(p, data, nd, meta, ts, (size_t)start, (size_t)count, &ifindex, &hatype);
  double *o = out;
  uint32_t *u = und;
  o[0] = (double)ifindex;
  o[1] = hatype;
  o[2] = p->undecoded_count;
  o[3] = 0;
  for (uint32_t i = 0; i < p->undecoded_count; i++) {
    u[2 * i] = p->undecoded[i];
    u[2 * i + 1] = p->undecoded_iface[i];
  }
  napi_value v;
  if (napi_create_double(env, (double)next, &v) != napi_ok) return NULL;
  return v;
}

/* pipelineWalk's format and clock words, and its out layout (a head, then UNDECODED_WORDS per undecoded record). */
enum {
  FMT_KIND,
  FMT_LITTLE_ENDIAN,
  FMT_LINK_TYPE,
  FMT_IFACE,
  FMT_BINDING,
  FMT_FIRST_IFACE,
  FMT_NANO,
  FMT_LENGTH_ORDER,
  FMT_PCAPNG_INTERFACE,
  FMT_SECTION_BASE,
  FMT_UNITS_PER_SEC,
  FMT_NS_PER_UNIT,
  FMT_TS_OFFSET,
  FMT_WORDS
};
enum { CLOCK_STEP, CLOCK_INTERVAL, CLOCK_WATERMARK, CLOCK_NEXT_INTERVAL, CLOCK_WORDS };
enum { WALK_POS, WALK_RECORDS, WALK_FIRST_TS, WALK_LAST_TS, WALK_IFINDEX, WALK_HATYPE, WALK_UNDECODED, WALK_HEAD };
#define UNDECODED_WORDS 5

static bool u32_word(double v) { return v >= 0 && v <= 4294967295.0 && v == floor(v); }

/*
 * pipelineWalk(p, data, pos, format, clock, listUndecoded, out): walks the pcap or pcapng records of
 * `data` from byte `pos` into the pipeline (engine/pcap_walk.h) and returns why it stopped; `out`
 * says where, what was walked and the undecoded tunnel records; `clock` is read and updated.
 */
static napi_value walk(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  void *data, *fmt, *clk, *out;
  size_t nd, nf, nc, no;
  double pos;
  bool list = false;
  pw_pipeline *p = args(env, info, 7, 7, argv, "pipelineWalk(p, data, pos, format, clock, listUndecoded, out)");
  if (p == NULL || !pp_typed(env, argv[1], napi_uint8_array, "data must be a Uint8Array", &data, &nd) ||
      !pp_integer(env, argv[2], 0, 9007199254740991.0, "pos must be a byte offset", &pos) ||
      !pp_typed(env, argv[3], napi_float64_array, "format must be a Float64Array", &fmt, &nf) ||
      !pp_typed(env, argv[4], napi_float64_array, "clock must be a Float64Array", &clk, &nc) || napi_get_value_bool(env, argv[5], &list) != napi_ok ||
      !pp_typed(env, argv[6], napi_float64_array, "out must be a Float64Array", &out, &no))
    return NULL;
  if (nf < FMT_WORDS || nc < CLOCK_WORDS || no < WALK_HEAD + UNDECODED_WORDS * PW_WALK_UNDECODED_MAX) return pp_throw_range(env, "format, clock or out too short");
  // Offsets travel as 32-bit words: a chunk is far smaller (live blocks 1 MiB, file chunks a few).
  if (nd > UINT32_MAX) return pp_throw_range(env, "a chunk of 4 GiB or more");
  const double *f = fmt;
  if ((f[FMT_KIND] != PW_STREAM_PCAP && f[FMT_KIND] != PW_STREAM_PCAPNG) || !(f[FMT_LENGTH_ORDER] >= 0 && f[FMT_LENGTH_ORDER] <= 2) ||
      !(f[FMT_LINK_TYPE] >= 0 && f[FMT_LINK_TYPE] <= 0xffff) || !u32_word(f[FMT_IFACE]) || !u32_word(f[FMT_FIRST_IFACE]) ||
      !(f[FMT_BINDING] >= 0 && f[FMT_BINDING] < PW_MAX_BINDINGS) || !u32_word(f[FMT_PCAPNG_INTERFACE]) || !u32_word(f[FMT_SECTION_BASE]) ||
      !(f[FMT_UNITS_PER_SEC] >= 1) || !(f[FMT_NS_PER_UNIT] >= 0) || !isfinite(f[FMT_TS_OFFSET]))
    return pp_throw_range(env, "format out of range");
  double *c = clk;
  if (!(c[CLOCK_STEP] >= 0) || !(c[CLOCK_INTERVAL] > 0)) return pp_throw_range(env, "clock out of range");
  pw_walk_format format = {.kind = (pw_stream_kind)f[FMT_KIND], .little_endian = f[FMT_LITTLE_ENDIAN] != 0, .link_type = (uint32_t)f[FMT_LINK_TYPE],
                           .iface = (uint32_t)f[FMT_IFACE], .binding = (uint32_t)f[FMT_BINDING], .first_iface = (uint32_t)f[FMT_FIRST_IFACE],
                           .nano = f[FMT_NANO] != 0, .length_order = (uint32_t)f[FMT_LENGTH_ORDER], .pcapng_interface = (uint32_t)f[FMT_PCAPNG_INTERFACE],
                           .section_base = (uint32_t)f[FMT_SECTION_BASE], .units_per_sec = f[FMT_UNITS_PER_SEC], .ns_per_unit = f[FMT_NS_PER_UNIT],
                           .ts_offset = f[FMT_TS_OFFSET]};
  pw_walk_clock clock = {.step_ms = c[CLOCK_STEP], .interval_ms = c[CLOCK_INTERVAL], .watermark = c[CLOCK_WATERMARK], .next_interval = c[CLOCK_NEXT_INTERVAL]};
  static pw_walk_result result; // large (its undecoded list); the addon runs on the JS thread only
  pw_walk_stop stop = pw_pipeline_walk(p, data, nd, (size_t)pos, &format, &clock, list, &result);
  c[CLOCK_WATERMARK] = clock.watermark;
  c[CLOCK_NEXT_INTERVAL] = clock.next_interval;
  double *o = out;
  o[WALK_POS] = (double)result.pos;
  o[WALK_RECORDS] = result.records;
  o[WALK_FIRST_TS] = result.first_ts;
  o[WALK_LAST_TS] = result.last_ts;
  o[WALK_IFINDEX] = (double)result.ifindex;
  o[WALK_HATYPE] = result.hatype;
  o[WALK_UNDECODED] = result.undecoded_count;
  for (uint32_t i = 0; i < result.undecoded_count; i++) {
    double *u = o + WALK_HEAD + i * UNDECODED_WORDS;
    const pw_walk_undecoded *w = &result.undecoded[i];
    u[0] = w->offset;
    u[1] = w->caplen;
    u[2] = w->origlen;
    u[3] = w->iface;
    u[4] = w->ts_ms;
  }
  napi_value v;
  if (napi_create_uint32(env, (uint32_t)stop, &v) != napi_ok) return NULL;
  return v;
}

/* pipelineAddLocal(p, node, version, words): an address of the node's own (its matcher is created if need be). */
static napi_value add_local(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  double node, version;
  void *words;
  size_t nw;
  pw_pipeline *p = args(env, info, 4, 4, argv, "pipelineAddLocal(p, node, version, words)");
  if (p == NULL || !pp_integer(env, argv[1], 0, PW_MAX_NODES - 1, "node out of range", &node) || !pp_integer(env, argv[2], 4, 6, "version must be 4 or 6", &version) ||
      !pp_typed(env, argv[3], napi_uint32_array, "words must be a Uint32Array", &words, &nw))
    return NULL;
  if (version == 5 || nw < 4) return pp_throw_range(env, "version must be 4 or 6, with 4 words");
  pw_matcher *m = pw_pipeline_matcher(p, (uint32_t)node);
  if (m == NULL) return pp_throw_range(env, "out of memory for a node's matcher");
  pw_knowledge_add_local(&m->knowledge, (uint32_t)version, words);
  return undefined(env);
}

static pw_matcher *node_matcher(napi_env env, pw_pipeline *p, napi_value arg) {
  double node;
  if (!pp_integer(env, arg, 0, PW_MAX_NODES - 1, "node out of range", &node)) return NULL;
  // A node asked about before its first packet (a live agent's own node) gets its matcher now.
  pw_matcher *m = pw_pipeline_matcher(p, (uint32_t)node);
  if (m == NULL) pp_throw_range(env, "out of memory for a node's matcher");
  return m;
}

static napi_value expire(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  double w;
  pw_pipeline *p = args(env, info, 3, 3, argv, "pipelineExpire(p, node, watermark)");
  pw_matcher *m = p == NULL ? NULL : node_matcher(env, p, argv[1]);
  if (m == NULL || !pp_number(env, argv[2], "watermark must be a number", &w)) return NULL;
  pw_matcher_expire(m, w);
  return undefined(env);
}

static napi_value expire_all(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  double end;
  pw_pipeline *p = args(env, info, 3, 3, argv, "pipelineExpireAll(p, node, endTs)");
  pw_matcher *m = p == NULL ? NULL : node_matcher(env, p, argv[1]);
  if (m == NULL || !pp_number(env, argv[2], "endTs must be a number", &end)) return NULL;
  pw_matcher_expire_all(m, end);
  return undefined(env);
}

/*
 * pipelineKernelDrops(p, node, events: Uint8Array, count, eventBytes, nowMs): the node's kernel drop
 * events as NativeDropMonitor read them (struct pw_drop_event each), kept by fingerprint for its
 * vanish candidates; returns how many had a fingerprint.
 */
static napi_value kernel_drops(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  void *data;
  size_t nd;
  double count, event_bytes, now;
  pw_pipeline *p = args(env, info, 6, 6, argv, "pipelineKernelDrops(p, node, events, count, eventBytes, nowMs)");
  pw_matcher *m = p == NULL ? NULL : node_matcher(env, p, argv[1]);
  if (m == NULL || !pp_typed(env, argv[2], napi_uint8_array, "events must be a Uint8Array", &data, &nd) ||
      !pp_integer(env, argv[3], 0, 4294967295.0, "count must be an index", &count) ||
      !pp_integer(env, argv[4], (double)sizeof(struct pw_drop_event), 65536, "eventBytes must be at least a pw_drop_event", &event_bytes) ||
      !pp_number(env, argv[5], "nowMs must be a number", &now))
    return NULL;
  if (count * event_bytes > (double)nd) {
    pp_throw_range(env, "events holds fewer than count events");
    return NULL;
  }
  size_t n = pw_pipeline_kernel_drops(p, m, data, (size_t)count, (size_t)event_bytes, now);
  napi_value out;
  if (napi_create_double(env, (double)n, &out) != napi_ok) return NULL;
  return out;
}

static napi_value matchers(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  pw_pipeline *p = args(env, info, 1, 1, argv, "pipelineMatchers(p)");
  if (p == NULL) return NULL;
  size_t n = 0;
  for (uint32_t i = 0; i < PW_MAX_NODES; i++) n += p->matchers[i] != NULL;
  uint32_t *out = NULL;
  napi_value array = pp_new_u32(env, n, &out);
  if (array == NULL) return NULL;
  for (uint32_t i = 0, k = 0; i < PW_MAX_NODES; i++)
    if (p->matchers[i] != NULL) out[k++] = i;
  return array;
}

static napi_value flush(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  pw_pipeline *p = args(env, info, 1, 1, argv, "pipelineFlush(p)");
  return p == NULL ? NULL : pw_napi_flush_records(env, &p->flows);
}

static napi_value chain(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  double id;
  pw_pipeline *p = args(env, info, 2, 2, argv, "pipelineChain(p, id)");
  if (p == NULL || !pp_integer(env, argv[1], 0, 4294967295.0, "id must be a 32-bit unsigned integer", &id)) return NULL;
  return pw_napi_chain_row(env, &p->flows.chains, (uint32_t)id);
}

static napi_value take(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  pw_pipeline *p = args(env, info, 2, 2, argv, "pipelineTake(p, node)");
  pw_matcher *m = p == NULL ? NULL : node_matcher(env, p, argv[1]);
  if (m == NULL) return NULL;
  const pw_candidate_groups *g = &m->groups;
  size_t n = TAKE_HEAD + m->departures.len + m->arrivals.len;
  size_t sample_bytes = 0;
  for (uint32_t i = 0; i < g->count; i++) {
    n += GROUP_HEAD + (size_t)g->groups[i].path_hops * PW_HOP_WORDS;
    if (g->groups[i].has_sample) sample_bytes += g->groups[i].sample_length;
  }
  double *o = NULL;
  napi_value numbers = pp_new_f64(env, n, &o);
  if (numbers == NULL) return NULL;
  void *bytes_mem = NULL;
  napi_value bytes_buffer, bytes;
  if (napi_create_arraybuffer(env, sample_bytes, &bytes_mem, &bytes_buffer) != napi_ok ||
      napi_create_typedarray(env, napi_uint8_array, sample_bytes, bytes_buffer, 0, &bytes) != napi_ok)
    return NULL;
  uint8_t *b = bytes_mem;
  for (int i = 0; i < PW_COUNTERS; i++) o[i] = m->counters[i];
  o[PW_C_VANISHED_GROUPS_OVERFLOW] += g->overflow;
  o[PW_COUNTERS] = g->count;
  o[PW_COUNTERS + 1] = m->departures.len;
  o[PW_COUNTERS + 2] = m->arrivals.len;
  size_t at = TAKE_HEAD, bat = 0;
  for (uint32_t i = 0; i < g->count; i++) {
    const pw_group *x = &g->groups[i];
    double *w = o + at;
    w[0] = x->iface;
    w[1] = x->hash;
    w[2] = x->ip_version;
    for (int k = 0; k < 4; k++) {
      w[3 + k] = x->src[k];
      w[7 + k] = x->dst[k];
    }
    w[11] = x->proto;
    w[12] = x->sport;
    w[13] = x->dport;
    w[14] = x->uncertain;
    w[15] = x->packets;
    w[16] = x->first_seen;
    w[17] = x->last_seen;
    w[18] = x->fingerprint_count;
    for (int k = 0; k < PW_SAMPLE_FINGERPRINTS; k++) w[19 + k] = x->fingerprints[k];
    w[24] = (double)x->mac_src;
    w[25] = (double)x->mac_dst;
    w[26] = x->has_sample;
    w[27] = (double)bat;
    w[28] = x->sample_length;
    w[29] = x->sample_orig_len;
    w[30] = x->sample_link_type;
    w[31] = x->sample_ts;
    w[32] = x->path_hops;
    for (int k = 33; k < GROUP_HEAD; k++) w[k] = 0;
    for (uint32_t k = 0; k < x->kernel_reasons && k < PW_GROUP_KERNEL_REASONS; k++) {
      double *r = w + GROUP_KERNEL + 4 * k;
      r[0] = x->kernel_reason[k];
      r[1] = x->kernel_packets[k];
      r[2] = (double)(uint32_t)(x->kernel_location[k] >> 32);
      r[3] = (double)(uint32_t)x->kernel_location[k];
    }
    w[GROUP_KERNEL + 4 * PW_GROUP_KERNEL_REASONS] = x->kernel_other;
    if (x->has_sample) {
      memcpy(b + bat, g->sample_bytes + (size_t)i * g->sample_slot_bytes, x->sample_length);
      bat += x->sample_length;
    }
    at += GROUP_HEAD;
    size_t hop_words = (size_t)x->path_hops * PW_HOP_WORDS;
    if (hop_words > 0) memcpy(o + at, g->hops.d + (size_t)x->path_at * PW_HOP_WORDS, hop_words * 8);
    at += hop_words;
  }
  if (m->departures.len > 0) memcpy(o + at, m->departures.d, m->departures.len * 8);
  at += m->departures.len;
  if (m->arrivals.len > 0) memcpy(o + at, m->arrivals.d, m->arrivals.len * 8);
  pw_matcher_reset_taken(m);
  napi_value out;
  if (napi_create_object(env, &out) != napi_ok || napi_set_named_property(env, out, "numbers", numbers) != napi_ok ||
      napi_set_named_property(env, out, "bytes", bytes) != napi_ok)
    return NULL;
  return out;
}

/* The answers knowledge.factsFor needs per question (src key, dst key, iface): src's and dst's location, the exits back, the iface's MAC. */
static napi_value knowledge(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  void *qd;
  size_t nq;
  pw_pipeline *p = args(env, info, 3, 3, argv, "pipelineKnowledge(p, node, questions)");
  pw_matcher *m = p == NULL ? NULL : node_matcher(env, p, argv[1]);
  if (m == NULL || !pp_typed(env, argv[2], napi_float64_array, "questions must be a Float64Array", &qd, &nq)) return NULL;
  const double *q = qd;
  size_t count = nq / 3;
  const pw_node_knowledge *k = &m->knowledge;
  double *a = NULL, *own = NULL;
  napi_value answers = pp_new_f64(env, count * 5, &a);
  napi_value owns = answers == NULL ? NULL : pp_new_f64(env, (size_t)k->local_count * 5, &own);
  if (owns == NULL) return NULL;
  for (size_t i = 0; i < count; i++) {
    uint64_t src = (uint64_t)q[3 * i], dst = (uint64_t)q[3 * i + 1];
    double iface = q[3 * i + 2];
    int32_t x, y;
    a[5 * i] = pw_knowledge_location(k, src);
    a[5 * i + 1] = pw_knowledge_location(k, dst);
    pw_knowledge_exits(k, dst, src, &x, &y);
    a[5 * i + 2] = x;
    a[5 * i + 3] = y;
    a[5 * i + 4] = iface >= 0 && iface < PW_MAX_IFACES ? (double)pw_knowledge_own_mac(k, (uint32_t)iface) : -1;
  }
  for (uint32_t i = 0; i < k->local_count; i++) {
    own[5 * i] = k->locals[i].version;
    for (int w = 0; w < 4; w++) own[5 * i + 1 + w] = k->locals[i].words[w];
  }
  napi_value out;
  if (napi_create_object(env, &out) != napi_ok || napi_set_named_property(env, out, "answers", answers) != napi_ok ||
      napi_set_named_property(env, out, "own", owns) != napi_ok)
    return NULL;
  return out;
}

/*
 * pipelineStats: PipelineStats (9), flow table (flows, records, overflow packets), then the bounds'
 * losses summed over matchers (open packets, sightings, hops, knowledge), open packets now, and
 * packet bytes lookups that found their slot overwritten.
 */
static napi_value stats(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  pw_pipeline *p = args(env, info, 1, 1, argv, "pipelineStats(p)");
  if (p == NULL) return NULL;
  double *o = NULL;
  napi_value out = pp_new_f64(env, PW_STATS + 9, &o);
  if (out == NULL) return NULL;
  for (int i = 0; i < PW_STATS; i++) o[i] = p->stats[i];
  o[PW_STATS] = p->flows.stats.flows;
  o[PW_STATS + 1] = p->flows.stats.records;
  o[PW_STATS + 2] = p->flows.stats.overflow_packets;
  double open = 0, sightings = 0, hops = 0, know = 0, live = 0;
  for (uint32_t i = 0; i < PW_MAX_NODES; i++) {
    const pw_matcher *m = p->matchers[i];
    if (m == NULL) continue;
    open += m->overflow.open_packets;
    sightings += m->overflow.sightings;
    hops += m->overflow.hops;
    know += m->knowledge.overflow;
    live += m->open.by_fingerprint.size;
  }
  o[PW_STATS + 3] = open;
  o[PW_STATS + 4] = sightings;
  o[PW_STATS + 5] = hops;
  o[PW_STATS + 6] = know;
  o[PW_STATS + 7] = live;
  o[PW_STATS + 8] = p->has_ring ? p->ring.overwritten : 0;
  return out;
}

static napi_value interface_counts(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  double count;
  pw_pipeline *p = args(env, info, 2, 2, argv, "pipelineInterfaceCounts(p, count)");
  if (p == NULL || !pp_integer(env, argv[1], 0, PW_MAX_IFACES, "count out of range", &count)) return NULL;
  double *o = NULL;
  size_t n = (size_t)count;
  napi_value out = pp_new_f64(env, 2 * n, &o);
  if (out == NULL) return NULL;
  memcpy(o, p->iface_packets, n * 8);
  memcpy(o + n, p->iface_bytes, n * 8);
  return out;
}

static napi_value decode_events(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  pw_pipeline *p = args(env, info, 1, 1, argv, "pipelineDecodeEvents(p)");
  if (p == NULL) return NULL;
  double *o = NULL;
  napi_value out = pp_new_f64(env, PW_DECODE_EVENT_COUNT, &o);
  if (out == NULL) return NULL;
  for (int i = 0; i < PW_DECODE_EVENT_COUNT; i++) o[i] = (double)p->decoder.events[i];
  return out;
}

napi_status register_sighting_pipeline(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"createSightingPipeline", NULL, create_pipeline, NULL, NULL, NULL, napi_default, NULL},
    {"pipelineSyncRegistry", NULL, sync_registry, NULL, NULL, NULL, napi_default, NULL},
    {"pipelineSetIfindex", NULL, set_ifindex, NULL, NULL, NULL, napi_default, NULL},
    {"pipelineClearIfindexes", NULL, clear_ifindexes, NULL, NULL, NULL, napi_default, NULL},
    {"pipelineRun", NULL, run, NULL, NULL, NULL, napi_default, NULL},
    {"pipelineWalk", NULL, walk, NULL, NULL, NULL, napi_default, NULL},
    {"pipelineAddLocal", NULL, add_local, NULL, NULL, NULL, napi_default, NULL},
    {"pipelineExpire", NULL, expire, NULL, NULL, NULL, napi_default, NULL},
    {"pipelineExpireAll", NULL, expire_all, NULL, NULL, NULL, napi_default, NULL},
    {"pipelineMatchers", NULL, matchers, NULL, NULL, NULL, napi_default, NULL},
    {"pipelineKernelDrops", NULL, kernel_drops, NULL, NULL, NULL, napi_default, NULL},
    {"pipelineFlush", NULL, flush, NULL, NULL, NULL, napi_default, NULL},
    {"pipelineChain", NULL, chain, NULL, NULL, NULL, napi_default, NULL},
    {"pipelineTake", NULL, take, NULL, NULL, NULL, napi_default, NULL},
    {"pipelineKnowledge", NULL, knowledge, NULL, NULL, NULL, napi_default, NULL},
    {"pipelineStats", NULL, stats, NULL, NULL, NULL, napi_default, NULL},
    {"pipelineInterfaceCounts", NULL, interface_counts, NULL, NULL, NULL, napi_default, NULL},
    {"pipelineDecodeEvents", NULL, decode_events, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
