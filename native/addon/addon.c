/*
 * The addon's entry point: registers the engine's functions with Node-API. Each concern lives in
 * its own file; this one only wires them up and reports the libraries it was built against.
 */
#include <node_api.h>
#include <pcap/pcap.h>
#include <zlib.h>

#include "addon/napi_util.h"
#include "addon/registrations.h"

/* versions() -> { libpcap: string, zlib: string }: what the addon runs with (for `doctor` output). */
static napi_value versions(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  NAPI_CALL(env, napi_create_object(env, &out));
  NAPI_CALL(env, set_string_property(env, out, "libpcap", pcap_lib_version()));
  NAPI_CALL(env, set_string_property(env, out, "zlib", zlibVersion()));
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"versions", NULL, versions, NULL, NULL, NULL, napi_default, NULL},
  };
  NAPI_CALL(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  NAPI_CALL(env, register_engine(env, exports));
  NAPI_CALL(env, register_pipeline(env, exports));
  NAPI_CALL(env, register_live_capture(env, exports));
  NAPI_CALL(env, register_drop_monitor(env, exports));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
