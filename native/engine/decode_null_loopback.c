/*
 * BSD loopback encapsulation: LINKTYPE_NULL (0, the address family
 * in the capturing host's byte order) and LINKTYPE_LOOP (108, network byte order).
 *
 *   | AF (32 bits) | IP packet
 *
 * AF_INET is 2 everywhere; AF_INET6 is 24, 28 or 30 depending on the BSD. LINKTYPE_NULL's byte
 * order is the writer's, so there a value is recognised in either order.
 */
#include "engine/decoders.h"

static pw_layer family_layer(uint32_t af) {
  if (af == 2) return PW_LAYER_IPV4;
  if (af == 24 || af == 28 || af == 30) return PW_LAYER_IPV6;
  return PW_LAYER_UNKNOWN;
}

pw_layer pw_decode_null_loopback(pw_ctx *ctx, bool network_order_only) {
  const uint8_t *d = ctx->d;
  int64_t o = ctx->offset;
  if (ctx->end - o < 4) {
    ctx->view->truncated = 1;
    pw_count(ctx, PW_EV_NULL_TRUNCATED);
    return PW_LAYER_DONE;
  }
  pw_layer layer = family_layer(pw_be32(d, o));
  if (layer == PW_LAYER_UNKNOWN && !network_order_only) {
    uint32_t little = (uint32_t)d[o] | ((uint32_t)d[o + 1] << 8) | ((uint32_t)d[o + 2] << 16) | ((uint32_t)d[o + 3] << 24);
    layer = family_layer(little);
  }
  ctx->offset = o + 4;
  if (layer == PW_LAYER_UNKNOWN) {
    pw_count(ctx, PW_EV_NULL_UNKNOWN_FAMILY);
    return PW_LAYER_DONE;
  }
  return layer;
}
