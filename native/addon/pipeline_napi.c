/* The sighting pipeline (flow table, hop matcher) as Node-API exports. */
#include "addon/registrations.h"

napi_status register_pipeline(napi_env env, napi_value exports) {
  (void)env;
  (void)exports;
  return napi_ok;
}
