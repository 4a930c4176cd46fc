/*
 * ERSPAN types II and III (Cisco's encapsulated remote SPAN), after GRE protocol 0x88BE (with a
 * sequence number) or 0x22EB (draft-foschiano-erspan-03).
 *
 *   Type II (version 1), 8 bytes:
 *   |  Ver  |          VLAN         | COS | En|T|     Session ID    |
 *   |      Reserved         |                 Index                 |
 *
 *   Type III (version 2), 12 bytes, then 8 more when O is set (platform-specific subheader):
 *   |  Ver  |          VLAN         | COS |BSO|T|     Session ID    |
 *   |                          Timestamp                            |
 *   |             SGT               |P|    FT   |   Hw ID   |D|Gra|O|
 *
 * The payload is the mirrored frame: Ethernet, or for type III with frame type 2 an IP packet. The
 * layer's VNI is the session id. (Type I has no header: GRE handles it.)
 */
#include "engine/decoders.h"

#define ERSPAN_II 1u
#define ERSPAN_III 2u
#define FRAME_ETHERNET 0u
#define FRAME_IP 2u

static pw_layer truncated(pw_ctx *ctx) {
  ctx->view->truncated = 1;
  pw_count(ctx, PW_EV_ERSPAN_TRUNCATED);
  return PW_LAYER_DONE;
}

pw_layer pw_decode_erspan(pw_ctx *ctx) {
  const uint8_t *d = ctx->d;
  int64_t o = ctx->offset;
  int64_t avail = ctx->end - o;
  if (avail < 2) return truncated(ctx);
  uint32_t version = d[o] >> 4;
  if (version != ERSPAN_II && version != ERSPAN_III) {
    pw_count(ctx, PW_EV_ERSPAN_UNSUPPORTED);
    pw_push_undecoded_tunnel(ctx, PW_ENCAP_ERSPAN, -1, PW_UNDECODED_ERSPAN_VERSION, version);
    return PW_LAYER_DONE;
  }
  int64_t fixed_length = version == ERSPAN_II ? 8 : 12;
  if (avail < fixed_length) return truncated(ctx);
  int32_t session = (int32_t)(pw_be16(d, o + 2) & 0x3ff);
  if (version == ERSPAN_II) {
    if (!pw_push_encap_layer(ctx, PW_ENCAP_ERSPAN, session)) return PW_LAYER_DONE;
    ctx->offset = o + fixed_length;
    return PW_LAYER_ETHERNET;
  }
  uint32_t word = pw_be16(d, o + 10);
  uint32_t frame_type = (word >> 10) & 0x1f;
  int64_t header_length = fixed_length + ((word & 1) != 0 ? 8 : 0);
  if (avail < header_length) return truncated(ctx);
  if (!pw_push_encap_layer(ctx, PW_ENCAP_ERSPAN, session)) return PW_LAYER_DONE;
  ctx->offset = o + header_length;
  if (frame_type == FRAME_ETHERNET) return PW_LAYER_ETHERNET;
  if (frame_type == FRAME_IP && ctx->offset < ctx->end) {
    uint32_t ip_version = d[ctx->offset] >> 4;
    if (ip_version == 4) return PW_LAYER_IPV4;
    if (ip_version == 6) return PW_LAYER_IPV6;
  }
  pw_count(ctx, PW_EV_ERSPAN_UNSUPPORTED);
  pw_mark_undecoded_tunnel(ctx, PW_UNDECODED_ERSPAN_FRAME_TYPE, frame_type);
  return PW_LAYER_DONE;
}
