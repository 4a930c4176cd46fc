/*
 * TCP, RFC 9293.
 *
 *   |          Source Port          |       Destination Port        |
 *   |                        Sequence Number                        |
 *   |                    Acknowledgment Number                      |
 *   | DOff  | Rsrvd |     Flags     |            Window             |
 *   |           Checksum            |        Urgent Pointer         |
 *
 * When the snap length cuts the header, the fields that were captured are still filled (ports, then
 * sequence and acknowledgment numbers): flows and fingerprints use what is there. Flags are 9 bits
 * (NS, the low bit of byte 12, above the 8 classic ones).
 */
#include "engine/decoders.h"

static uint32_t tcp_flags(const uint8_t *d, int64_t o) {
  return (((uint32_t)d[o + 12] & 1) << 8) | d[o + 13];
}

pw_layer pw_decode_tcp(pw_ctx *ctx) {
  const uint8_t *d = ctx->d;
  int64_t o = ctx->offset;
  pw_view *v = ctx->view;
  int64_t avail = ctx->end - o;
  v->l4_offset = o;
  if (avail < 20) {
    if (avail >= 4) {
      v->sport = pw_be16(d, o);
      v->dport = pw_be16(d, o + 2);
    }
    if (avail >= 8) v->tcp_seq = pw_be32(d, o + 4);
    if (avail >= 12) v->tcp_ack = pw_be32(d, o + 8);
    if (avail >= 14) v->tcp_flags = tcp_flags(d, o);
    v->truncated = 1;
    pw_count(ctx, PW_EV_TCP_TRUNCATED);
    return PW_LAYER_DONE;
  }
  v->sport = pw_be16(d, o);
  v->dport = pw_be16(d, o + 2);
  v->tcp_seq = pw_be32(d, o + 4);
  v->tcp_ack = pw_be32(d, o + 8);
  v->tcp_flags = tcp_flags(d, o);
  int64_t data_offset = (int64_t)(d[o + 12] >> 4) * 4;
  if (data_offset < 20) {
    v->malformed = 1;
    pw_count(ctx, PW_EV_TCP_BAD_HEADER_LENGTH);
    return PW_LAYER_DONE;
  }
  if (avail < data_offset) {
    v->truncated = 1;
    pw_count(ctx, PW_EV_TCP_TRUNCATED);
    return PW_LAYER_DONE;
  }
  v->l4_valid = 1;
  v->payload_offset = o + data_offset;
  v->payload_end = ctx->end;
  return PW_LAYER_DONE;
}
