/* The engine's functions as Node-API exports (decode, fingerprint, record walking). */
#include "addon/registrations.h"

napi_status register_engine(napi_env env, napi_value exports) {
  (void)env;
  (void)exports;
  return napi_ok;
}
