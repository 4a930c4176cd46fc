/*
 * Live capture through libpcap as Node-API exports (the capture itself: native/capture/).
 *
 *   startCapture(options, blocks, onEvent) -> handle { release(i), stop(), counters() }
 *   interfaceAddresses() -> [[name, address], ...]
 *
 * The blocks are ArrayBuffers allocated by JS and kept alive here (a reference each) until the
 * capture thread has ended: the thread writes pcap records straight into them, and JS reads a block
 * where it lies, without a copy, between its BLOCK event and its release. (V8 never moves an
 * ArrayBuffer's memory; JS must not transfer them.)
 *
 * Events reach JS through one thread-safe function, one call per block (never per packet). It is
 * referenced, so the event loop stays alive while the capture runs (as an open socket would): JS
 * awaits the END event after stop(), and an unreferenced function would let the process exit with
 * that await (and whatever follows it) pending. The capture thread releases the function after END,
 * its last event; the function's finalizer then joins the thread, so nothing of the capture keeps
 * the process alive after stop() and a stopped capture lets the process exit. When Node tears the
 * environment down first (a worker terminated), the same finalizer stops and joins the thread
 * before anything it uses goes away.
 */
#include <stdlib.h>
#include <string.h>

#include "addon/napi_util.h"
#include "addon/registrations.h"
#include "capture/device_addresses.h"
#include "capture/live_capture.h"

struct napi_capture {
  struct capture core;
  napi_threadsafe_function tsfn;
  /* Set on the capture thread once the thread-safe function refused a call (the environment is closing). */
  bool closing;
  napi_ref block_refs[CAPTURE_MAX_BLOCKS];
  /* Owners still holding this struct: the JS handle's wrap and the thread-safe function (JS thread only). */
  int owners;
};

static void drop_owner(struct napi_capture *nc) {
  if (--nc->owners > 0) return;
  capture_join(&nc->core);
  capture_destroy(&nc->core);
  free(nc);
}

/* The capture thread's sink: each event becomes one call of the thread-safe function. */
static bool post_event(void *ctx, const struct capture_event *event) {
  struct napi_capture *nc = (struct napi_capture *)ctx;
  if (nc->closing) return false;
  /* Unlimited queue, never blocks: the number of events in flight is bounded by the blocks. */
  napi_status s = napi_call_threadsafe_function(nc->tsfn, (void *)event, napi_tsfn_nonblocking);
  if (s != napi_ok) {
    /* napi_closing: the call gave up this thread's use of the function already. */
    nc->closing = true;
    return false;
  }
  if (event->type == CAPTURE_EVENT_END) {
    /* The last event: the function may be finalized once JS has seen it. */
    napi_release_threadsafe_function(nc->tsfn, napi_tsfn_release);
  }
  return true;
}

static const char *failure_name(enum capture_failure f) {
  switch (f) {
    case CAPTURE_FAILURE_PERMISSION:
      return "permission";
    case CAPTURE_FAILURE_NO_DEVICE:
      return "no-device";
    case CAPTURE_FAILURE_FILTER:
      return "filter";
    case CAPTURE_FAILURE_NETNS:
      return "netns";
    default:
      return "other";
  }
}

/* On the JS thread: an event as an object, to onEvent. */
static void call_js(napi_env env, napi_value js_cb, void *context, void *data) {
  (void)context;
  const struct capture_event *ev = (const struct capture_event *)data;
  if (env == NULL || js_cb == NULL || ev == NULL) return; /* being torn down: nobody to tell */
  napi_value obj, undefined;
  if (napi_create_object(env, &obj) != napi_ok || napi_get_undefined(env, &undefined) != napi_ok) return;
  switch (ev->type) {
    case CAPTURE_EVENT_READY:
      set_string_property(env, obj, "type", "ready");
      set_number_property(env, obj, "linkType", ev->linktype);
      break;
    case CAPTURE_EVENT_BLOCK:
      set_string_property(env, obj, "type", "block");
      set_number_property(env, obj, "index", ev->block);
      set_number_property(env, obj, "length", (double)ev->length);
      break;
    case CAPTURE_EVENT_FAILED:
      set_string_property(env, obj, "type", "failed");
      set_string_property(env, obj, "failure", failure_name(ev->failure));
      set_string_property(env, obj, "message", ev->message != NULL ? ev->message : "");
      break;
    case CAPTURE_EVENT_END:
      set_string_property(env, obj, "type", "end");
      break;
  }
  napi_call_function(env, undefined, js_cb, 1, &obj, NULL);
}

/* The thread-safe function is gone (after END, or at the environment's teardown). */
static void on_tsfn_finalize(napi_env env, void *finalize_data, void *hint) {
  (void)hint;
  struct napi_capture *nc = (struct napi_capture *)finalize_data;
  capture_request_stop(&nc->core);
  capture_join(&nc->core);
  for (unsigned i = 0; i < nc->core.nblocks; i++) {
    if (nc->block_refs[i] != NULL) napi_delete_reference(env, nc->block_refs[i]);
    nc->block_refs[i] = NULL;
  }
  drop_owner(nc);
}

/* The JS handle was collected: a capture nobody can stop any more is stopped. */
static void on_handle_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  struct napi_capture *nc = (struct napi_capture *)data;
  capture_request_stop(&nc->core);
  drop_owner(nc);
}

static struct napi_capture *this_capture(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) return NULL;
  void *data = NULL;
  if (napi_unwrap(env, self, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, NULL, "not a live capture handle");
    return NULL;
  }
  return (struct napi_capture *)data;
}

/* handle.release(index): JS is done with the block of that BLOCK event. */
static napi_value handle_release(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  struct napi_capture *nc = this_capture(env, info, &argc, argv);
  if (nc == NULL) return NULL;
  uint32_t index = 0;
  if (argc < 1 || napi_get_value_uint32(env, argv[0], &index) != napi_ok || !capture_release(&nc->core, index)) {
    napi_throw_range_error(env, NULL, "release: not a block handed over");
    return NULL;
  }
  return NULL;
}

/* handle.stop(): ends the capture; END follows (once the last block, and the final counters, are in). */
static napi_value handle_stop(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  struct napi_capture *nc = this_capture(env, info, &argc, NULL);
  if (nc == NULL) return NULL;
  capture_request_stop(&nc->core);
  return NULL;
}

/* handle.counters() -> { received, dropped }: the kernel's counters at the capture thread's last look. */
static napi_value handle_counters(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  struct napi_capture *nc = this_capture(env, info, &argc, NULL);
  if (nc == NULL) return NULL;
  struct capture_counters k = capture_counters(&nc->core);
  napi_value out;
  NAPI_CALL(env, napi_create_object(env, &out));
  NAPI_CALL(env, set_number_property(env, out, "received", (double)k.received));
  NAPI_CALL(env, set_number_property(env, out, "dropped", (double)k.dropped));
  return out;
}

/* options[key] as a new C string (NULL when undefined); false with an exception pending when invalid. */
static bool optional_string(napi_env env, napi_value options, const char *key, size_t max_len, char **out) {
  *out = NULL;
  napi_value v;
  napi_valuetype t;
  if (napi_get_named_property(env, options, key, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok) return false;
  if (t == napi_undefined || t == napi_null) return true;
  size_t len = 0;
  if (t != napi_string || napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok || len > max_len) {
    napi_throw_type_error(env, NULL, "startCapture: a string option is not a string or too long");
    return false;
  }
  char *s = malloc(len + 1);
  if (s == NULL) {
    napi_throw_error(env, NULL, "startCapture: out of memory");
    return false;
  }
  size_t copied = 0;
  napi_get_value_string_utf8(env, v, s, len + 1, &copied);
  if (strlen(s) != copied) { /* a NUL inside would cut the string short in C */
    free(s);
    napi_throw_type_error(env, NULL, "startCapture: a string option holds a NUL character");
    return false;
  }
  *out = s;
  return true;
}

static bool int_option(napi_env env, napi_value options, const char *key, int min, int max, int *out) {
  napi_value v;
  int32_t n = 0;
  if (napi_get_named_property(env, options, key, &v) != napi_ok || napi_get_value_int32(env, v, &n) != napi_ok || n < min || n > max) {
    napi_throw_range_error(env, NULL, "startCapture: a number option is missing or out of range");
    return false;
  }
  *out = n;
  return true;
}

/* startCapture(options, blocks, onEvent): starts the capture thread; returns its handle at once. */
static napi_value start_capture(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "startCapture(options, blocks, onEvent)");
    return NULL;
  }
  struct capture_config config;
  memset(&config, 0, sizeof config);
  char *iface = NULL;
  if (!optional_string(env, argv[0], "iface", CAPTURE_MAX_IFACE, &iface)) return NULL;
  if (iface == NULL || iface[0] == '\0') {
    free(iface);
    napi_throw_type_error(env, NULL, "startCapture: options.iface is required");
    return NULL;
  }
  memcpy(config.iface, iface, strlen(iface) + 1);
  free(iface);
  if (!int_option(env, argv[0], "snaplen", 1, 262144, &config.snaplen) || !int_option(env, argv[0], "bufferBytes", 65536, 1 << 30, &config.buffer_bytes) ||
      !int_option(env, argv[0], "timeoutMs", 1, 1000, &config.timeout_ms)) {
    return NULL;
  }
  if (!optional_string(env, argv[0], "filter", CAPTURE_MAX_FILTER, &config.filter)) return NULL;
  if (!optional_string(env, argv[0], "netns", CAPTURE_MAX_NETNS, &config.netns)) {
    free(config.filter);
    return NULL;
  }

  uint32_t nblocks = 0;
  bool is_array = false;
  uint8_t *blocks[CAPTURE_MAX_BLOCKS];
  size_t capacity[CAPTURE_MAX_BLOCKS];
  napi_value block_values[CAPTURE_MAX_BLOCKS];
  const char *bad = NULL;
  if (napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[1], &nblocks) != napi_ok || nblocks > CAPTURE_MAX_BLOCKS) {
    bad = "startCapture: blocks must be an array of at most 64 ArrayBuffers";
  }
  for (uint32_t i = 0; bad == NULL && i < nblocks; i++) {
    bool is_ab = false;
    void *data = NULL;
    if (napi_get_element(env, argv[1], i, &block_values[i]) != napi_ok || napi_is_arraybuffer(env, block_values[i], &is_ab) != napi_ok || !is_ab ||
        napi_get_arraybuffer_info(env, block_values[i], &data, &capacity[i]) != napi_ok) {
      bad = "startCapture: blocks must be ArrayBuffers";
    }
    blocks[i] = (uint8_t *)data;
  }
  napi_valuetype cb_type;
  if (bad == NULL && (napi_typeof(env, argv[2], &cb_type) != napi_ok || cb_type != napi_function)) bad = "startCapture: onEvent must be a function";
  if (bad != NULL) {
    free(config.filter);
    free(config.netns);
    napi_throw_type_error(env, NULL, bad);
    return NULL;
  }

  struct napi_capture *nc = calloc(1, sizeof *nc);
  if (nc == NULL) {
    free(config.filter);
    free(config.netns);
    napi_throw_error(env, NULL, "startCapture: out of memory");
    return NULL;
  }
  char why[256];
  struct capture_sink sink = {.ctx = nc, .post = post_event};
  if (capture_init(&nc->core, &config, blocks, capacity, nblocks, sink, why, sizeof why) != 0) {
    free(config.filter);
    free(config.netns);
    free(nc);
    napi_throw_range_error(env, NULL, why);
    return NULL;
  }
  for (uint32_t i = 0; i < nblocks; i++) napi_create_reference(env, block_values[i], 1, &nc->block_refs[i]);

  /* The handle owns nc from here; the thread-safe function becomes its second owner below. */
  napi_value handle;
  napi_property_descriptor methods[] = {
    {"release", NULL, handle_release, NULL, NULL, NULL, napi_default, NULL},
    {"stop", NULL, handle_stop, NULL, NULL, NULL, napi_default, NULL},
    {"counters", NULL, handle_counters, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_create_object(env, &handle) != napi_ok || napi_define_properties(env, handle, sizeof methods / sizeof methods[0], methods) != napi_ok ||
      napi_wrap(env, handle, nc, on_handle_finalize, NULL, NULL) != napi_ok) {
    for (uint32_t i = 0; i < nblocks; i++) napi_delete_reference(env, nc->block_refs[i]);
    capture_destroy(&nc->core);
    free(nc);
    napi_throw_error(env, NULL, "startCapture: cannot make the handle");
    return NULL;
  }
  nc->owners = 1;

  napi_value name;
  NAPI_CALL(env, napi_create_string_utf8(env, "pathwatch live capture", NAPI_AUTO_LENGTH, &name));
  if (napi_create_threadsafe_function(env, argv[2], NULL, name, 0, 1, nc, on_tsfn_finalize, nc, call_js, &nc->tsfn) != napi_ok) {
    for (uint32_t i = 0; i < nblocks; i++) napi_delete_reference(env, nc->block_refs[i]);
    memset(nc->block_refs, 0, sizeof nc->block_refs);
    capture_request_stop(&nc->core); /* nothing started; the handle's finalizer frees nc */
    napi_throw_error(env, NULL, "startCapture: cannot make the thread-safe function");
    return NULL;
  }
  nc->owners = 2;
  int rc = capture_start(&nc->core);
  if (rc != 0) {
    /* No thread: give up its use of the function, whose finalizer then drops its ownership. */
    napi_release_threadsafe_function(nc->tsfn, napi_tsfn_release);
    napi_throw_error(env, NULL, "startCapture: cannot start the capture thread");
    return NULL;
  }
  return handle;
}

struct address_walk {
  napi_env env;
  napi_value out;
  uint32_t n;
};

static int add_address(void *ctx, const char *iface, const char *address) {
  struct address_walk *w = (struct address_walk *)ctx;
  napi_value pair, name, addr;
  if (napi_create_array_with_length(w->env, 2, &pair) != napi_ok || napi_create_string_utf8(w->env, iface, NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_string_utf8(w->env, address, NAPI_AUTO_LENGTH, &addr) != napi_ok || napi_set_element(w->env, pair, 0, name) != napi_ok ||
      napi_set_element(w->env, pair, 1, addr) != napi_ok || napi_set_element(w->env, w->out, w->n, pair) != napi_ok) {
    return -1;
  }
  w->n++;
  return 0;
}

/* interfaceAddresses() -> [[iface, address], ...]: every IPv4 and IPv6 address of every interface. */
static napi_value interface_addresses(napi_env env, napi_callback_info info) {
  (void)info;
  struct address_walk w = {.env = env, .n = 0};
  NAPI_CALL(env, napi_create_array(env, &w.out));
  char errbuf[PCAP_ERRBUF_SIZE];
  if (device_addresses(add_address, &w, errbuf) != 0) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_error(env, NULL, errbuf);
    return NULL;
  }
  return w.out;
}

napi_status register_live_capture(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"startCapture", NULL, start_capture, NULL, NULL, NULL, napi_default, NULL},
    {"interfaceAddresses", NULL, interface_addresses, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
