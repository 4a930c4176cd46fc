/* Each concern of the addon registers its own exports; addon.c calls them in turn. */
#ifndef PATHWATCH_REGISTRATIONS_H
#define PATHWATCH_REGISTRATIONS_H

#include <node_api.h>

/* native/addon/engine_napi.c: decode, fingerprint and the capture-file walker. */
napi_status register_engine(napi_env env, napi_value exports);
/* native/addon/pipeline_napi.c: the sighting pipeline (flow table, hop matcher) over blocks of records. */
napi_status register_pipeline(napi_env env, napi_value exports);
/* native/addon/live_capture_napi.c: live capture through libpcap. */
napi_status register_live_capture(napi_env env, napi_value exports);
/* native/addon/drop_monitor_napi.c: the kernel drop monitor (eBPF through libbpf). */
napi_status register_drop_monitor(napi_env env, napi_value exports);

#endif
