/*
 * IPv4, RFC 791.
 *
 *   |Version|  IHL  |    DSCP/ECN   |          Total Length         |
 *   |         Identification        |Flags|     Fragment Offset     |
 *   |      TTL      |    Protocol   |        Header Checksum        |
 *   |                        Source Address                         |
 *   |                      Destination Address                      |
 *   |                    Options (IHL > 5)  ...                     |
 *
 * Only the first fragment carries the transport header. A total length of 0 is what Linux records
 * for GSO super-packets beyond 64 KiB: the captured length stands in for it. Bytes past the total
 * length (Ethernet padding) are cut off so they never reach the payload.
 */
#include "engine/decoders.h"

pw_layer pw_decode_ipv4(pw_ctx *ctx) {
  const uint8_t *d = ctx->d;
  int64_t o = ctx->offset;
  pw_view *v = ctx->view;
  int64_t avail = ctx->end - o;
  if (avail < 20) {
    v->truncated = 1;
    pw_count(ctx, PW_EV_IPV4_TRUNCATED);
    return PW_LAYER_DONE;
  }
  uint32_t vihl = d[o];
  if (vihl >> 4 != 4) {
    v->malformed = 1;
    pw_count(ctx, PW_EV_IPV4_BAD_VERSION);
    return PW_LAYER_DONE;
  }
  int64_t header_length = (int64_t)(vihl & 0x0f) * 4;
  if (header_length < 20) {
    v->malformed = 1;
    pw_count(ctx, PW_EV_IPV4_BAD_HEADER_LENGTH);
    return PW_LAYER_DONE;
  }
  int64_t total_length = pw_be16(d, o + 2);
  /*
   * Checked before the header is known to be all there: a total length shorter than the header
   * contradicts itself however many bytes were captured (it is not a snap-length cut).
   */
  if (total_length != 0 && total_length < header_length) {
    v->malformed = 1;
    pw_count(ctx, PW_EV_IPV4_BAD_TOTAL_LENGTH);
    return PW_LAYER_DONE;
  }
  if (avail < header_length) {
    v->truncated = 1;
    pw_count(ctx, PW_EV_IPV4_TRUNCATED);
    return PW_LAYER_DONE;
  }
  if (total_length == 0) total_length = avail;
  if (total_length > avail) {
    v->truncated = 1;
    pw_count(ctx, PW_EV_IPV4_TRUNCATED);
  } else {
    ctx->end = o + total_length;
  }

  v->ip_version = 4;
  v->src[0] = pw_be32(d, o + 12);
  v->src[1] = 0;
  v->src[2] = 0;
  v->src[3] = 0;
  v->dst[0] = pw_be32(d, o + 16);
  v->dst[1] = 0;
  v->dst[2] = 0;
  v->dst[3] = 0;
  v->ttl = d[o + 8];
  uint32_t proto = d[o + 9];
  v->proto = (int32_t)proto;
  v->ip_id = pw_be16(d, o + 4);
  v->flow_label = 0;
  v->ip_offset = o;
  v->ip_length = total_length;
  uint32_t frag = pw_be16(d, o + 6);
  v->more_fragments = (frag >> 13) & 1;
  v->frag_offset = (frag & 0x1fff) * 8;
  ctx->offset = o + header_length;
  if (v->frag_offset != 0 || v->more_fragments != 0) {
    v->is_fragment = 1;
    pw_count(ctx, PW_EV_IPV4_FRAGMENT);
    if (v->frag_offset != 0) return PW_LAYER_DONE;
  }
  return pw_next_after_ip(ctx, proto);
}

pw_layer pw_next_after_ip(pw_ctx *ctx, uint32_t proto) {
  pw_layer next = (pw_layer)ctx->tables->by_ip_proto[proto & 0xff];
  if (next == PW_LAYER_IPV4 || next == PW_LAYER_IPV6) {
    /* A fragment of a tunnelled packet cannot be decapsulated without reassembly. */
    if (ctx->view->is_fragment != 0) return PW_LAYER_DONE;
    return pw_push_encap_layer(ctx, PW_ENCAP_IPINIP, -1) ? next : PW_LAYER_DONE;
  }
  if (next == PW_LAYER_UNKNOWN) {
    /* 59 is IPv6 "no next header": nothing to decode, nothing anomalous. */
    if (proto != 59) pw_count(ctx, PW_EV_IP_UNKNOWN_PROTOCOL);
    return PW_LAYER_DONE;
  }
  return next;
}
