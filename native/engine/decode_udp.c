/*
 * UDP, RFC 768.
 *
 *   |          Source Port          |       Destination Port        |
 *   |            Length             |           Checksum            |
 *
 * Tunnels on UDP (VXLAN, Geneve) are found by destination port through the dispatch table, never in
 * a fragment (the tunnel header may not be all there). A tunnel's payload ends where UDP's does.
 */
#include "engine/decoders.h"

pw_layer pw_decode_udp(pw_ctx *ctx) {
  const uint8_t *d = ctx->d;
  int64_t o = ctx->offset;
  pw_view *v = ctx->view;
  int64_t avail = ctx->end - o;
  v->l4_offset = o;
  if (avail < 8) {
    if (avail >= 4) {
      v->sport = pw_be16(d, o);
      v->dport = pw_be16(d, o + 2);
    }
    v->truncated = 1;
    pw_count(ctx, PW_EV_UDP_TRUNCATED);
    return PW_LAYER_DONE;
  }
  v->sport = pw_be16(d, o);
  v->dport = pw_be16(d, o + 2);
  uint32_t length = pw_be16(d, o + 4);
  v->udp_length = length;
  v->l4_valid = 1;
  v->payload_offset = o + 8;
  /* Length 0 is legal for UDP over IPv6 jumbograms; a length shorter than the header is not. */
  if (length != 0 && length < 8) {
    v->malformed = 1;
    pw_count(ctx, PW_EV_UDP_BAD_LENGTH);
    v->payload_end = v->payload_offset;
    return PW_LAYER_DONE;
  }
  v->payload_end = length != 0 && o + (int64_t)length < ctx->end ? o + (int64_t)length : ctx->end;
  ctx->offset = o + 8;
  if (v->is_fragment != 0) return PW_LAYER_DONE;
  pw_layer tunnel = (pw_layer)ctx->tables->by_udp_port[v->dport];
  if (tunnel != PW_LAYER_DONE) ctx->end = v->payload_end;
  return tunnel;
}
