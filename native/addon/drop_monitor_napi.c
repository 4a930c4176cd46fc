/*
 * The kernel drop monitor (native/kernel/drop_monitor.h) as Node-API exports; types in
 * agent/native/drop-monitor-native.ts.
 *
 *   startDropMonitor(objectPath, onlyNetns, minReason, countedOnly: Uint8Array)   a handle; throws one line when it cannot
 *                                                          (countedOnly: a bit per reason only counted, not sent)
 *   dropMonitorPoll(handle, out: Uint8Array)               events copied into `out` (DROP_EVENT_BYTES each), their count
 *   dropMonitorStop(handle)                                detaches (also when the handle is collected)
 *   dropMonitorLost(handle)                                events the ring buffer had no room for, since the start
 *   dropMonitorCounts(handle)                              counted-only drops: (reason, ifindex, count) triples
 */
#include <stdlib.h>
#include <string.h>

#include "addon/pipeline_parts.h"
#include "addon/registrations.h"
#include "kernel/drop_monitor.h"

typedef struct monitor_handle {
  pw_drop_monitor *m;
} monitor_handle;

static const napi_type_tag MONITOR_TAG = {0x7077647270706d6full, 0x6e69746f72000001ull};

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  monitor_handle *h = data;
  pw_drop_monitor_close(h->m);
  free(h);
}

static napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

static napi_value start_monitor(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 4) return pp_throw_type(env, "startDropMonitor(objectPath, onlyNetns, minReason, countedOnly)");
  char path[4096];
  size_t n = 0;
  if (napi_get_value_string_utf8(env, argv[0], path, sizeof path, &n) != napi_ok || n == 0 || n >= sizeof path - 1)
    return pp_throw_type(env, "objectPath must be a path");
  double netns, min_reason;
  if (!pp_integer(env, argv[1], 0, 4294967295.0, "onlyNetns must be an inode number", &netns) ||
      !pp_integer(env, argv[2], 0, 65535, "minReason must be a reason number", &min_reason))
    return NULL;
  void *bits;
  size_t nbits;
  if (!pp_typed(env, argv[3], napi_uint8_array, "countedOnly must be a Uint8Array", &bits, &nbits)) return NULL;
  // A bit per reason, little-endian words as the program reads them.
  uint64_t counted_only[PW_DROP_COUNTED_REASONS / 64] = {0};
  for (size_t i = 0; i < nbits && i < sizeof counted_only; i++) counted_only[i / 8] |= (uint64_t)((uint8_t *)bits)[i] << (8 * (i % 8));
  char err[256] = "";
  pw_drop_monitor *m = pw_drop_monitor_open(path, (uint32_t)netns, (uint32_t)min_reason, counted_only, err, sizeof err);
  if (m == NULL) {
    napi_throw_error(env, "PW_DROP_MONITOR", err[0] != '\0' ? err : "the drop monitor could not start");
    return NULL;
  }
  monitor_handle *h = malloc(sizeof *h);
  if (h == NULL) {
    pw_drop_monitor_close(m);
    return pp_throw_range(env, "out of memory for a drop monitor");
  }
  h->m = m;
  napi_value handle;
  if (napi_create_external(env, h, finalize, NULL, &handle) != napi_ok) {
    finalize(env, h, NULL);
    return NULL;
  }
  if (napi_type_tag_object(env, handle, &MONITOR_TAG) != napi_ok) return NULL;
  return handle;
}

static monitor_handle *this_monitor(napi_env env, napi_value value) {
  return pp_external(env, value, &MONITOR_TAG, "expected a handle from startDropMonitor()");
}

static napi_value poll_monitor(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  void *out;
  size_t n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 2) return pp_throw_type(env, "dropMonitorPoll(handle, out)");
  monitor_handle *h = this_monitor(env, argv[0]);
  if (h == NULL || !pp_typed(env, argv[1], napi_uint8_array, "out must be a Uint8Array", &out, &n)) return NULL;
  size_t count = 0;
  if (h->m != NULL) {
    // Copied through an aligned batch: `out` is any byte array.
    struct pw_drop_event batch[64];
    size_t max = n / sizeof(struct pw_drop_event);
    while (count < max) {
      size_t want = max - count < 64 ? max - count : 64;
      size_t got = pw_drop_monitor_poll(h->m, batch, want);
      memcpy((unsigned char *)out + count * sizeof(struct pw_drop_event), batch, got * sizeof(struct pw_drop_event));
      count += got;
      if (got < want) break;
    }
  }
  napi_value v;
  if (napi_create_uint32(env, (uint32_t)count, &v) != napi_ok) return NULL;
  return v;
}

/* The handle of a call that takes only that (`usage` names the call in the error). */
static monitor_handle *handle_argument(napi_env env, napi_callback_info info, const char *usage) {
  return pp_only_external(env, info, &MONITOR_TAG, "expected a handle from startDropMonitor()", usage);
}

static napi_value lost_events(napi_env env, napi_callback_info info) {
  monitor_handle *h = handle_argument(env, info, "dropMonitorLost(handle)");
  if (h == NULL) return NULL;
  napi_value v;
  if (napi_create_double(env, (double)pw_drop_monitor_lost(h->m), &v) != napi_ok) return NULL;
  return v;
}

/* dropMonitorCounts(handle): Float64Array of (reason, ifindex, count) per counted-only pair so far. */
static napi_value counts(napi_env env, napi_callback_info info) {
  monitor_handle *h = handle_argument(env, info, "dropMonitorCounts(handle)");
  if (h == NULL) return NULL;
  // The map holds at most 4,096 pairs: read into a scratch buffer, then copied at their number.
  double *triples = malloc(3 * 4096 * sizeof *triples);
  if (triples == NULL) return pp_throw_range(env, "out of memory for the drop counts");
  size_t n = h->m == NULL ? 0 : pw_drop_monitor_counts(h->m, triples, 4096);
  if (n > 4096) n = 4096;
  double *data = NULL;
  napi_value out = pp_new_f64(env, n * 3, &data);
  if (out != NULL && n > 0) memcpy(data, triples, n * 3 * sizeof *triples);
  free(triples);
  return out;
}

static napi_value stop_monitor(napi_env env, napi_callback_info info) {
  monitor_handle *h = handle_argument(env, info, "dropMonitorStop(handle)");
  if (h == NULL) return NULL;
  pw_drop_monitor_close(h->m);
  h->m = NULL;
  return undefined(env);
}

napi_status register_drop_monitor(napi_env env, napi_value exports) {
  napi_value size;
  napi_status s = napi_create_uint32(env, (uint32_t)sizeof(struct pw_drop_event), &size);
  if (s != napi_ok) return s;
  napi_property_descriptor props[] = {
    {"startDropMonitor", NULL, start_monitor, NULL, NULL, NULL, napi_default, NULL},
    {"dropMonitorPoll", NULL, poll_monitor, NULL, NULL, NULL, napi_default, NULL},
    {"dropMonitorStop", NULL, stop_monitor, NULL, NULL, NULL, napi_default, NULL},
    {"dropMonitorLost", NULL, lost_events, NULL, NULL, NULL, napi_default, NULL},
    {"dropMonitorCounts", NULL, counts, NULL, NULL, NULL, napi_default, NULL},
    {"DROP_EVENT_BYTES", NULL, NULL, NULL, NULL, size, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
