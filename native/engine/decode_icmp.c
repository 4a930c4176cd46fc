/*
 * ICMP for IPv4 (RFC 792) and ICMPv6 (RFC 4443). Both share the first 8
 * bytes:
 *
 *   |     Type      |     Code      |          Checksum             |
 *   |  Identifier (echo)            |  Sequence Number (echo)       |   or unused / MTU / pointer
 *   | echo data ... | or the quoted invoking packet (errors) ...
 *
 * Echo: IPv4 types 0/8, ICMPv6 128/129. Errors quoting a packet: IPv4 3, 4, 5, 11, 12; ICMPv6 1-4.
 */
#include "engine/decoders.h"

static bool is_icmpv4_error(uint32_t type) {
  return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

static bool is_icmpv6_error(uint32_t type) {
  return type >= 1 && type <= 4;
}

static pw_layer decode_icmp_common(pw_ctx *ctx, bool v6) {
  const uint8_t *d = ctx->d;
  int64_t o = ctx->offset;
  pw_view *v = ctx->view;
  int64_t avail = ctx->end - o;
  v->l4_offset = o;
  if (avail < 8) {
    if (avail >= 2) {
      v->icmp_type = d[o];
      v->icmp_code = d[o + 1];
    }
    v->truncated = 1;
    pw_count(ctx, v6 ? PW_EV_ICMPV6_TRUNCATED : PW_EV_ICMP_TRUNCATED);
    return PW_LAYER_DONE;
  }
  uint32_t type = d[o];
  v->icmp_type = (int32_t)type;
  v->icmp_code = d[o + 1];
  v->l4_valid = 1;
  v->payload_offset = o + 8;
  v->payload_end = ctx->end;
  if (v6 ? type == 128 || type == 129 : type == 0 || type == 8) {
    v->icmp_id = (int32_t)pw_be16(d, o + 4);
    v->icmp_seq = (int32_t)pw_be16(d, o + 6);
  } else if (v6 ? is_icmpv6_error(type) : is_icmpv4_error(type)) {
    if (!pw_decode_quoted_packet(d, o + 8, ctx->end, v)) {
      pw_count(ctx, v6 ? PW_EV_ICMPV6_QUOTED_TRUNCATED : PW_EV_ICMP_QUOTED_TRUNCATED);
    }
  }
  return PW_LAYER_DONE;
}

pw_layer pw_decode_icmp(pw_ctx *ctx) {
  return decode_icmp_common(ctx, false);
}

pw_layer pw_decode_icmpv6(pw_ctx *ctx) {
  return decode_icmp_common(ctx, true);
}
