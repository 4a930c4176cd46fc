/*
 * The dispatch loop (PacketDecoder.decode): the link type names the first layer, then each
 * protocol's decoder returns the next one until a decoder says done, bounded by MAX_LAYERS. The
 * switch keeps the calls direct while the wiring between protocols stays in the dispatch tables.
 */
#include "engine/decoder.h"

#include <string.h>

#include "engine/decoders.h"

/* Upper bound on layers per packet: VLAN tags + tunnels + IP/L4, with room to spare. */
#define MAX_LAYERS 32

void pw_decoder_init(pw_decoder *dec, const pw_tunnel_ports *ports) {
  pw_dispatch_tables_init(&dec->tables, ports);
  memset(dec->events, 0, sizeof dec->events);
}

static pw_layer first_layer(pw_ctx *ctx, uint32_t link_type) {
  switch (link_type) {
    case PW_LINKTYPE_ETHERNET:
      return PW_LAYER_ETHERNET;
    case PW_LINKTYPE_LINUX_SLL2:
      return pw_decode_linux_sll2(ctx);
    case PW_LINKTYPE_LINUX_SLL:
      return pw_decode_linux_sll(ctx);
    case PW_LINKTYPE_IPV4:
      return PW_LAYER_IPV4;
    case PW_LINKTYPE_IPV6:
      return PW_LAYER_IPV6;
    case PW_LINKTYPE_RAW: {
      if (ctx->end <= ctx->offset) {
        ctx->view->truncated = 1;
        return PW_LAYER_DONE;
      }
      uint32_t version = ctx->d[ctx->offset] >> 4;
      if (version == 4) return PW_LAYER_IPV4;
      if (version == 6) return PW_LAYER_IPV6;
      ctx->view->malformed = 1;
      pw_count(ctx, PW_EV_RAW_BAD_VERSION);
      return PW_LAYER_DONE;
    }
    case PW_LINKTYPE_NULL:
      return pw_decode_null_loopback(ctx, false);
    case PW_LINKTYPE_LOOP:
      return pw_decode_null_loopback(ctx, true);
    default:
      pw_count(ctx, PW_EV_LINK_UNSUPPORTED);
      return PW_LAYER_DONE;
  }
}

pw_decode_status pw_decode(pw_decoder *dec, pw_view *view, const uint8_t *data, size_t offset, size_t length, uint32_t link_type) {
  pw_ctx ctx = {
    .d = data,
    .offset = (int64_t)offset,
    .end = (int64_t)offset + (int64_t)length,
    .view = view,
    .events = dec->events,
    .tables = &dec->tables,
  };
  pw_view_reset(view);
  view->link_type = link_type;
  pw_layer layer = first_layer(&ctx, link_type);
  for (int steps = 0; layer != PW_LAYER_DONE && steps < MAX_LAYERS; steps++) {
    switch (layer) {
      case PW_LAYER_ETHERNET:
        layer = pw_decode_ethernet(&ctx);
        break;
      case PW_LAYER_VLAN:
        layer = pw_decode_vlan(&ctx);
        break;
      case PW_LAYER_IPV4:
        layer = pw_decode_ipv4(&ctx);
        break;
      case PW_LAYER_IPV6:
        layer = pw_decode_ipv6(&ctx);
        break;
      case PW_LAYER_TCP:
        layer = pw_decode_tcp(&ctx);
        break;
      case PW_LAYER_UDP:
        layer = pw_decode_udp(&ctx);
        break;
      case PW_LAYER_ICMP:
        layer = pw_decode_icmp(&ctx);
        break;
      case PW_LAYER_ICMPV6:
        layer = pw_decode_icmpv6(&ctx);
        break;
      case PW_LAYER_VXLAN:
        layer = pw_decode_vxlan(&ctx);
        break;
      case PW_LAYER_GENEVE:
        layer = pw_decode_geneve(&ctx);
        break;
      case PW_LAYER_GRE:
        layer = pw_decode_gre(&ctx);
        break;
      case PW_LAYER_ERSPAN:
        layer = pw_decode_erspan(&ctx);
        break;
      case PW_LAYER_PPP:
        layer = pw_decode_ppp(&ctx);
        break;
      default:
        /* NotIp and Unknown end the walk; whatever was decoded before stays in the view. */
        layer = PW_LAYER_DONE;
    }
  }
  if (view->ip_version == 0) {
    if (view->undecoded_tunnel != PW_UNDECODED_NONE) return PW_STATUS_UNDECODED_TUNNEL;
    /* A tunnel packet without an inner IP packet still names its tunnel (never plain traffic). */
    if (view->encap_depth != 0) {
      view->undecoded_tunnel = view->malformed != 0   ? PW_UNDECODED_PAYLOAD_MALFORMED
                               : view->truncated != 0 ? PW_UNDECODED_PAYLOAD_TRUNCATED
                                                      : PW_UNDECODED_PAYLOAD_NOT_IP;
    }
    if (view->malformed != 0) return PW_STATUS_MALFORMED;
    if (view->truncated != 0) return PW_STATUS_TRUNCATED;
    return PW_STATUS_NOT_IP;
  }
  if (view->malformed != 0) return PW_STATUS_MALFORMED;
  return view->truncated != 0 ? PW_STATUS_TRUNCATED : PW_STATUS_OK;
}
