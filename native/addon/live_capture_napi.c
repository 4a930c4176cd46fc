/* Live capture through libpcap as Node-API exports. */
#include "addon/registrations.h"

napi_status register_live_capture(napi_env env, napi_value exports) {
  (void)env;
  (void)exports;
  return napi_ok;
}
