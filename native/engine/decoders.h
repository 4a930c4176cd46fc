/*
 * The protocol decoders, one file each (decode_<protocol>.c), called only by the dispatch loop in
 * decoder.c. Internal to the engine: the engine's users see decoder.h.
 */
#ifndef PW_DECODERS_H
#define PW_DECODERS_H

#include <stdbool.h>

#include "engine/decode_context.h"

pw_layer pw_decode_ethernet(pw_ctx *ctx);
pw_layer pw_decode_vlan(pw_ctx *ctx);
pw_layer pw_decode_linux_sll(pw_ctx *ctx);
pw_layer pw_decode_linux_sll2(pw_ctx *ctx);
/* network_order_only: LINKTYPE_LOOP (108); LINKTYPE_NULL (0) also reads the family little-endian. */
pw_layer pw_decode_null_loopback(pw_ctx *ctx, bool network_order_only);
pw_layer pw_decode_ipv4(pw_ctx *ctx);
pw_layer pw_decode_ipv6(pw_ctx *ctx);
pw_layer pw_decode_tcp(pw_ctx *ctx);
pw_layer pw_decode_udp(pw_ctx *ctx);
pw_layer pw_decode_icmp(pw_ctx *ctx);
pw_layer pw_decode_icmpv6(pw_ctx *ctx);
pw_layer pw_decode_gre(pw_ctx *ctx);
pw_layer pw_decode_ppp(pw_ctx *ctx);
pw_layer pw_decode_erspan(pw_ctx *ctx);
pw_layer pw_decode_vxlan(pw_ctx *ctx);
pw_layer pw_decode_geneve(pw_ctx *ctx);

/* decode_ipv4.c, shared by IPv4 and IPv6: dispatch on the protocol, entering IP-in-IP tunnels. */
pw_layer pw_next_after_ip(pw_ctx *ctx, uint32_t proto);
/* decode_ipv6.c, shared with the quoted packet: the extension headers the IPv6 walk follows. */
bool pw_is_ipv6_extension_header(uint32_t next_header);
/* decode_quoted_packet.c: the packet an ICMP error quotes in d[o, end); true when its addresses were read. */
bool pw_decode_quoted_packet(const uint8_t *d, int64_t o, int64_t end, pw_view *v);

/* encap_layer.c: entering a tunnel. pw_push_encap_layer returns false at the depth cap. */
bool pw_push_encap_layer(pw_ctx *ctx, pw_encap_kind kind, int32_t vni);
void pw_push_undecoded_tunnel(pw_ctx *ctx, pw_encap_kind kind, int32_t vni, pw_undecoded_tunnel reason, uint32_t value);
void pw_mark_undecoded_tunnel(pw_ctx *ctx, pw_undecoded_tunnel reason, uint32_t value);

#endif
