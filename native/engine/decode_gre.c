/*
 * GRE, RFC 2784 with RFC 2890's key and sequence, and PPTP's enhanced GRE (version 1, RFC 2637)
 *.
 *
 *   |C|R|K|S|  Reserved0        | Ver |         Protocol Type         |
 *   |      Checksum (if C)      |        Reserved1 (if C)             |
 *   |                          Key (if K)                             |
 *   |                    Sequence Number (if S)                       |
 *
 * Version 1 (PPTP): K is set and the key is the payload length and the call id; an acknowledgement
 * number follows the sequence number when the A flag (0x0080) is set; the payload is PPP.
 *
 * Payloads: 0x0800/0x86dd IP; 0x6558 Ethernet; 0x880B PPP; 0x88BE ERSPAN type I (no sequence
 * number: a bare Ethernet frame) or II; 0x22EB ERSPAN type III; 0x8909 Cisco MetaData (an SGT tag
 * carrying the payload's own EtherType). Anything else is an undecoded tunnel: shown as GRE with its
 * key, never as plain traffic.
 */
#include "engine/decoders.h"

#define GRE_CHECKSUM 0x8000u
#define GRE_ROUTING 0x4000u
#define GRE_KEY 0x2000u
#define GRE_SEQUENCE 0x1000u
/* Version 1 only: an acknowledgement number is present. */
#define GRE_ACK 0x0080u

#define GRE_PROTO_PPP 0x880bu
#define GRE_PROTO_CISCO_METADATA 0x8909u
#define CISCO_METADATA_LENGTH 8
#define GRE_PROTO_ERSPAN_I_II 0x88beu
#define GRE_PROTO_ERSPAN_III 0x22ebu

static pw_layer truncated(pw_ctx *ctx) {
  ctx->view->truncated = 1;
  pw_count(ctx, PW_EV_GRE_TRUNCATED);
  return PW_LAYER_DONE;
}

/* The GRE layer with its key, then the payload its EtherType names (IP or Ethernet), else an undecoded tunnel. */
static pw_layer enter_payload(pw_ctx *ctx, uint32_t protocol, int32_t key, int64_t at) {
  pw_layer next = (pw_layer)ctx->tables->by_ether_type[protocol];
  if (next != PW_LAYER_IPV4 && next != PW_LAYER_IPV6 && next != PW_LAYER_ETHERNET) {
    pw_count(ctx, PW_EV_GRE_UNSUPPORTED_PROTOCOL);
    pw_push_undecoded_tunnel(ctx, PW_ENCAP_GRE, key, PW_UNDECODED_GRE_PROTOCOL, protocol);
    return PW_LAYER_DONE;
  }
  if (!pw_push_encap_layer(ctx, PW_ENCAP_GRE, key)) return PW_LAYER_DONE;
  ctx->offset = at;
  return next;
}

/* PPTP's version 1: the layer's key is the call id; a packet without payload only acknowledges. */
static pw_layer decode_enhanced_gre(pw_ctx *ctx, uint32_t flags, uint32_t protocol) {
  const uint8_t *d = ctx->d;
  int64_t o = ctx->offset;
  if ((flags & GRE_KEY) == 0 || protocol != GRE_PROTO_PPP) {
    pw_count(ctx, PW_EV_GRE_UNSUPPORTED_VERSION);
    pw_push_undecoded_tunnel(ctx, PW_ENCAP_GRE, -1, PW_UNDECODED_GRE_VERSION, 1);
    return PW_LAYER_DONE;
  }
  int64_t header_length = 8 + ((flags & GRE_SEQUENCE) != 0 ? 4 : 0) + ((flags & GRE_ACK) != 0 ? 4 : 0);
  if (ctx->end - o < header_length) return truncated(ctx);
  uint32_t payload_length = pw_be16(d, o + 4);
  int32_t call_id = (int32_t)pw_be16(d, o + 6);
  if (payload_length == 0) {
    pw_push_undecoded_tunnel(ctx, PW_ENCAP_GRE, call_id, PW_UNDECODED_PPTP_NO_PAYLOAD, 0);
    return PW_LAYER_DONE;
  }
  if (!pw_push_encap_layer(ctx, PW_ENCAP_GRE, call_id)) return PW_LAYER_DONE;
  ctx->offset = o + header_length;
  return PW_LAYER_PPP;
}

/* The SGT tag is skipped; what follows is dispatched on the tag's own EtherType, as GRE's would be. */
static pw_layer decode_cisco_metadata(pw_ctx *ctx, int64_t at, int32_t key) {
  if (ctx->end - at < CISCO_METADATA_LENGTH) return truncated(ctx);
  return enter_payload(ctx, pw_be16(ctx->d, at), key, at + CISCO_METADATA_LENGTH);
}

pw_layer pw_decode_gre(pw_ctx *ctx) {
  const uint8_t *d = ctx->d;
  int64_t o = ctx->offset;
  int64_t avail = ctx->end - o;
  if (avail < 4) return truncated(ctx);
  uint32_t flags = pw_be16(d, o);
  uint32_t version = flags & 0x7;
  uint32_t protocol = pw_be16(d, o + 2);
  if (version > 1) {
    pw_count(ctx, PW_EV_GRE_UNSUPPORTED_VERSION);
    pw_push_undecoded_tunnel(ctx, PW_ENCAP_GRE, -1, PW_UNDECODED_GRE_VERSION, version);
    return PW_LAYER_DONE;
  }
  if ((flags & GRE_ROUTING) != 0) {
    /* RFC 1701 source routing: a variable list of routes we do not walk. */
    pw_count(ctx, PW_EV_GRE_UNSUPPORTED_VERSION);
    pw_push_undecoded_tunnel(ctx, PW_ENCAP_GRE, -1, PW_UNDECODED_GRE_ROUTING, 0);
    return PW_LAYER_DONE;
  }
  if (version == 1) return decode_enhanced_gre(ctx, flags, protocol);

  int64_t header_length = 4;
  if ((flags & GRE_CHECKSUM) != 0) header_length += 4;
  int64_t key_offset = o + header_length;
  if ((flags & GRE_KEY) != 0) header_length += 4;
  if ((flags & GRE_SEQUENCE) != 0) header_length += 4;
  if (avail < header_length) return truncated(ctx);
  /* The key as a signed 32-bit value, as TypeScript's `be32(...) | 0` makes it. */
  int32_t key = (flags & GRE_KEY) != 0 ? (int32_t)pw_be32(d, key_offset) : -1;

  if (protocol == GRE_PROTO_ERSPAN_I_II && (flags & GRE_SEQUENCE) == 0) {
    /* ERSPAN type I: no ERSPAN header, the mirrored Ethernet frame follows GRE directly. */
    if (!pw_push_encap_layer(ctx, PW_ENCAP_ERSPAN, -1)) return PW_LAYER_DONE;
    ctx->offset = o + header_length;
    return PW_LAYER_ETHERNET;
  }
  if (protocol == GRE_PROTO_ERSPAN_I_II || protocol == GRE_PROTO_ERSPAN_III) {
    /* The ERSPAN header says its own version; its decoder pushes the layer with the session id. */
    ctx->offset = o + header_length;
    return PW_LAYER_ERSPAN;
  }
  if (protocol == GRE_PROTO_CISCO_METADATA) return decode_cisco_metadata(ctx, o + header_length, key);
  if (protocol == GRE_PROTO_PPP) {
    if (!pw_push_encap_layer(ctx, PW_ENCAP_GRE, key)) return PW_LAYER_DONE;
    ctx->offset = o + header_length;
    return PW_LAYER_PPP;
  }
  return enter_payload(ctx, protocol, key, o + header_length);
}
