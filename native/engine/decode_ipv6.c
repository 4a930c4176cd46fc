/*
 * IPv6, RFC 8200, with the extension-header walk.
 *
 *   |Version| Traffic Class |              Flow Label               |
 *   |         Payload Length        |  Next Header  |   Hop Limit   |
 *   |                  Source Address (128 bits)                    |
 *   |               Destination Address (128 bits)                  |
 *
 * Extension headers walked (at most MAX_EXTENSION_HEADERS): Hop-by-Hop (0), Routing (43), Fragment
 * (44), Destination Options (60), AH (51, length in 4-byte units), Mobility (135), HIP (139), Shim6
 * (140). A payload length of 0 with a Hop-by-Hop Jumbo Payload option is a jumbogram (RFC 2675, BIG
 * TCP); without the option it is a GSO super-packet and the captured length stands in.
 *
 * A jumbo length may end the packet before the headers already walked: end - p then goes negative
 * and every later "at least N bytes" check fails, so nothing past end is read.
 */
#include "engine/decoders.h"

#define MAX_EXTENSION_HEADERS 8
#define JUMBO_OPTION 0xc2

bool pw_is_ipv6_extension_header(uint32_t nh) {
  return nh == 0 || nh == 43 || nh == 44 || nh == 60 || nh == 51 || nh == 135 || nh == 139 || nh == 140;
}

/* Jumbo Payload length from a Hop-by-Hop header at d[o, o + len), or 0. */
static uint32_t jumbo_length(const uint8_t *d, int64_t o, int64_t len) {
  int64_t p = o + 2;
  int64_t end = o + len;
  while (p < end) {
    uint32_t type = d[p];
    if (type == 0) {
      p++; /* Pad1 */
      continue;
    }
    if (p + 2 > end) return 0;
    uint32_t opt_len = d[p + 1];
    if (type == JUMBO_OPTION && opt_len == 4 && p + 6 <= end) return pw_be32(d, p + 2);
    p += 2 + (int64_t)opt_len;
  }
  return 0;
}

/* The IPv6 length (40 + payload) bounds the packet: shorter than captured cuts the padding off. */
static void apply_ip_length(pw_ctx *ctx, int64_t o) {
  pw_view *v = ctx->view;
  if (v->ip_length > ctx->end - o) {
    v->truncated = 1;
    pw_count(ctx, PW_EV_IPV6_TRUNCATED);
  } else {
    ctx->end = o + v->ip_length;
  }
}

pw_layer pw_decode_ipv6(pw_ctx *ctx) {
  const uint8_t *d = ctx->d;
  int64_t o = ctx->offset;
  pw_view *v = ctx->view;
  if (ctx->end - o < 40) {
    v->truncated = 1;
    pw_count(ctx, PW_EV_IPV6_TRUNCATED);
    return PW_LAYER_DONE;
  }
  uint32_t first = pw_be32(d, o);
  if (first >> 28 != 6) {
    v->malformed = 1;
    pw_count(ctx, PW_EV_IPV6_BAD_VERSION);
    return PW_LAYER_DONE;
  }
  v->ip_version = 6;
  v->flow_label = first & 0xfffff;
  for (int i = 0; i < 4; i++) {
    v->src[i] = pw_be32(d, o + 8 + i * 4);
    v->dst[i] = pw_be32(d, o + 24 + i * 4);
  }
  v->ttl = d[o + 7];
  v->ip_id = 0;
  v->ip_offset = o;
  uint32_t payload_length = pw_be16(d, o + 4);
  if (payload_length != 0) {
    v->ip_length = 40 + (int64_t)payload_length;
    apply_ip_length(ctx, o);
  } else {
    v->ip_length = ctx->end - o;
  }

  uint32_t next = d[o + 6];
  int64_t p = o + 40;
  int count = 0;
  while (pw_is_ipv6_extension_header(next)) {
    if (++count > MAX_EXTENSION_HEADERS) {
      pw_count(ctx, PW_EV_IPV6_TOO_MANY_EXT);
      v->proto = (int32_t)next;
      return PW_LAYER_DONE;
    }
    if (ctx->end - p < 8) {
      v->truncated = 1;
      v->proto = (int32_t)next;
      pw_count(ctx, PW_EV_IPV6_EXT_TRUNCATED);
      return PW_LAYER_DONE;
    }
    if (next == 44) {
      uint32_t frag = pw_be16(d, p + 2);
      v->frag_offset = frag & 0xfff8;
      v->more_fragments = frag & 1;
      v->is_fragment = 1;
      v->ip_id = pw_be32(d, p + 4);
      next = d[p];
      p += 8;
      pw_count(ctx, PW_EV_IPV6_FRAGMENT);
      if (v->frag_offset != 0) {
        v->proto = (int32_t)next;
        ctx->offset = p;
        return PW_LAYER_DONE;
      }
      continue;
    }
    int64_t len = next == 51 ? ((int64_t)d[p + 1] + 2) * 4 : ((int64_t)d[p + 1] + 1) * 8;
    if (ctx->end - p < len) {
      v->truncated = 1;
      v->proto = (int32_t)next;
      pw_count(ctx, PW_EV_IPV6_EXT_TRUNCATED);
      return PW_LAYER_DONE;
    }
    if (next == 0 && payload_length == 0) {
      uint32_t jumbo = jumbo_length(d, p, len);
      if (jumbo != 0) {
        if (jumbo < 65536) pw_count(ctx, PW_EV_IPV6_BAD_JUMBO);
        v->ip_length = 40 + (int64_t)jumbo;
        apply_ip_length(ctx, o);
      }
    }
    next = d[p];
    p += len;
  }
  v->proto = (int32_t)next;
  ctx->offset = p;
  return pw_next_after_ip(ctx, next);
}
