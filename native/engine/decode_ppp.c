/*
 * PPP inside GRE (PPTP's enhanced GRE, or PPP over plain GRE): the frame as
 * RFC 1662 carries it, address and control bytes (0xFF 0x03) optional, the protocol field one byte
 * when compressed (an odd first byte, RFC 1661 section 6.5).
 *
 *   | 0xFF | 0x03 | Protocol (1 or 2 bytes) | payload ...
 *
 * 0x0021 is IPv4 and 0x0057 IPv6; anything else (LCP, IPCP, compressed or encrypted datagrams) is
 * an undecoded tunnel payload. The GRE layer is already pushed.
 */
#include "engine/decoders.h"

#define PPP_IPV4 0x0021u
#define PPP_IPV6 0x0057u

static pw_layer truncated(pw_ctx *ctx) {
  ctx->view->truncated = 1;
  pw_count(ctx, PW_EV_PPP_TRUNCATED);
  return PW_LAYER_DONE;
}

pw_layer pw_decode_ppp(pw_ctx *ctx) {
  const uint8_t *d = ctx->d;
  int64_t o = ctx->offset;
  int64_t end = ctx->end;
  if (end - o >= 2 && d[o] == 0xff && d[o + 1] == 0x03) o += 2;
  if (o >= end) return truncated(ctx);
  uint32_t protocol;
  if ((d[o] & 1) != 0) {
    protocol = d[o];
    o += 1;
  } else {
    if (end - o < 2) return truncated(ctx);
    protocol = pw_be16(d, o);
    o += 2;
  }
  ctx->offset = o;
  if (protocol == PPP_IPV4) return PW_LAYER_IPV4;
  if (protocol == PPP_IPV6) return PW_LAYER_IPV6;
  pw_count(ctx, PW_EV_PPP_UNSUPPORTED_PROTOCOL);
  pw_mark_undecoded_tunnel(ctx, PW_UNDECODED_PPP_PROTOCOL, protocol);
  return PW_LAYER_DONE;
}
