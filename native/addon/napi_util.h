/* Small helpers shared by the addon's files: error propagation and property setters. */
#ifndef PATHWATCH_NAPI_UTIL_H
#define PATHWATCH_NAPI_UTIL_H

#include <node_api.h>
#include <string.h>

/* Returns NULL from the calling function when a Node-API call fails (the error is pending in JS). */
#define NAPI_CALL(env, call)                                                   \
  do {                                                                         \
    if ((call) != napi_ok) {                                                   \
      const napi_extended_error_info *napi_call_err_ = NULL;                   \
      napi_get_last_error_info((env), &napi_call_err_);                        \
      bool napi_call_pending_ = false;                                         \
      napi_is_exception_pending((env), &napi_call_pending_);                   \
      if (!napi_call_pending_)                                                 \
        napi_throw_error((env), NULL,                                          \
                         napi_call_err_ && napi_call_err_->error_message       \
                             ? napi_call_err_->error_message                   \
                             : "native call failed");                          \
      return NULL;                                                             \
    }                                                                          \
  } while (0)

static inline napi_status set_string_property(napi_env env, napi_value obj, const char *key, const char *value) {
  napi_value v;
  napi_status s = napi_create_string_utf8(env, value, strlen(value), &v);
  if (s != napi_ok) return s;
  return napi_set_named_property(env, obj, key, v);
}

static inline napi_status set_number_property(napi_env env, napi_value obj, const char *key, double value) {
  napi_value v;
  napi_status s = napi_create_double(env, value, &v);
  if (s != napi_ok) return s;
  return napi_set_named_property(env, obj, key, v);
}

#endif
