/*
 * The sighting pipeline's stages after decode (flow table, hop matcher) as Node-API exports, one
 * file per stage (pipeline_parts.h). Types: agent/native/pipeline-native.ts.
 */
#include "addon/pipeline_parts.h"
#include "addon/registrations.h"

napi_status register_pipeline(napi_env env, napi_value exports) {
  napi_status s = register_flow_table(env, exports);
  if (s != napi_ok) return s;
  s = register_matcher_parts(env, exports);
  if (s != napi_ok) return s;
  return register_sighting_pipeline(env, exports);
}
