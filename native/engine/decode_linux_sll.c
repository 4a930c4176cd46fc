/*
 * Linux "cooked" capture headers, what `tcpdump -i any` writes:
 * SLL (LINKTYPE_LINUX_SLL, 113, 16 bytes) and SLL2 (LINKTYPE_LINUX_SLL2, 276, 20 bytes).
 *
 * SLL:  0 packet type (2) | 2 ARPHRD (2) | 4 address length (2) | 6 address (8) | 14 protocol (2)
 * SLL2: 0 protocol (2) | 2 reserved (2) | 4 ifindex (4) | 8 ARPHRD (2) | 10 packet type (1) |
 *       11 address length (1) | 12 address (8)
 *
 * The source MAC is recorded only when the address length says 6 (an Ethernet address).
 */
#include "engine/decoders.h"

/* Protocol values below 0x0600 are not EtherTypes (802.3 without a type, CAN, ...): not IP. */
static pw_layer cooked_protocol_layer(const pw_ctx *ctx, uint32_t protocol) {
  if (protocol < 0x0600) return PW_LAYER_NOT_IP;
  return (pw_layer)ctx->tables->by_ether_type[protocol];
}

pw_layer pw_decode_linux_sll(pw_ctx *ctx) {
  const uint8_t *d = ctx->d;
  int64_t o = ctx->offset;
  pw_view *v = ctx->view;
  if (ctx->end - o < 16) {
    v->truncated = 1;
    pw_count(ctx, PW_EV_SLL_TRUNCATED);
    return PW_LAYER_DONE;
  }
  v->linux_packet_type = (int32_t)pw_be16(d, o);
  v->linux_hatype = (int32_t)pw_be16(d, o + 2);
  if (pw_be16(d, o + 4) == 6) v->mac_src_offset = o + 6;
  ctx->offset = o + 16;
  return cooked_protocol_layer(ctx, pw_be16(d, o + 14));
}

pw_layer pw_decode_linux_sll2(pw_ctx *ctx) {
  const uint8_t *d = ctx->d;
  int64_t o = ctx->offset;
  pw_view *v = ctx->view;
  if (ctx->end - o < 20) {
    v->truncated = 1;
    pw_count(ctx, PW_EV_SLL2_TRUNCATED);
    return PW_LAYER_DONE;
  }
  v->linux_ifindex = (int64_t)pw_be32(d, o + 4);
  v->linux_packet_type = d[o + 10];
  v->linux_hatype = (int32_t)pw_be16(d, o + 8);
  if (d[o + 11] == 6) v->mac_src_offset = o + 12;
  ctx->offset = o + 20;
  return cooked_protocol_layer(ctx, pw_be16(d, o));
}
