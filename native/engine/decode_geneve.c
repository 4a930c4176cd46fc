/*
 * Geneve, RFC 8926 (OVN, Cilium, AWS GWLB, GCP) on the configured UDP ports.
 *
 *   |Ver| Opt Len   |O|C|  Rsvd.    |         Protocol Type         |
 *   |        Virtual Network Identifier (VNI)       |    Reserved   |
 *   |                 Options (Opt Len x 4 bytes, skipped)          |
 *
 * Protocol Type 0x6558 is an Ethernet frame; 0x0800 / 0x86dd an IP packet with no Ethernet.
 */
#include "engine/decoders.h"

pw_layer pw_decode_geneve(pw_ctx *ctx) {
  const uint8_t *d = ctx->d;
  int64_t o = ctx->offset;
  int64_t avail = ctx->end - o;
  if (avail < 8) {
    ctx->view->truncated = 1;
    pw_count(ctx, PW_EV_GENEVE_TRUNCATED);
    return PW_LAYER_DONE;
  }
  if (d[o] >> 6 != 0) {
    pw_count(ctx, PW_EV_GENEVE_BAD_VERSION);
    return PW_LAYER_DONE;
  }
  int64_t header_length = 8 + (int64_t)(d[o] & 0x3f) * 4;
  uint32_t protocol = pw_be16(d, o + 2);
  if (protocol != PW_ETHERTYPE_TEB && protocol != PW_ETHERTYPE_IPV4 && protocol != PW_ETHERTYPE_IPV6) {
    pw_count(ctx, PW_EV_GENEVE_UNSUPPORTED_PROTOCOL);
    return PW_LAYER_DONE;
  }
  if (avail < header_length) {
    ctx->view->truncated = 1;
    pw_count(ctx, PW_EV_GENEVE_TRUNCATED);
    return PW_LAYER_DONE;
  }
  if (!pw_push_encap_layer(ctx, PW_ENCAP_GENEVE, (int32_t)(pw_be32(d, o + 4) >> 8))) return PW_LAYER_DONE;
  ctx->offset = o + header_length;
  return (pw_layer)ctx->tables->by_ether_type[protocol];
}
