/*
 * pw_view: the result of decoding one packet, field for field what the TypeScript PacketView held
 * (the names JavaScript sees in NativePacketView), read by the engine's later stages (flow table,
 * hop matcher).
 *
 * One view per pipeline is overwritten per packet: decoding allocates nothing. Offsets point into
 * the buffer the packet was decoded from and are valid only while that buffer is. Addresses are four
 * 32-bit words in network order (IPv4 uses word 0, words 1-3 are 0).
 *
 * Offsets and the IP length are int64_t: -1 means "none", and an IPv6 jumbogram's length is
 * 40 + a 32-bit value, past what 32 bits hold (the TypeScript numbers hold both).
 */
#ifndef PW_VIEW_H
#define PW_VIEW_H

#include <stdint.h>
#include <string.h>

/* Encapsulation layers followed before the innermost packet; deeper nesting is a decode event. */
#define PW_MAX_ENCAP_DEPTH 4

/* EncapKind: the values replay's flows and the wire use. */
typedef enum pw_encap_kind {
  PW_ENCAP_NONE = 0,
  PW_ENCAP_IPINIP = 1, /* IPIP, 6in4, 4in6, 6in6 */
  PW_ENCAP_GRE = 2,
  PW_ENCAP_VXLAN = 3,
  PW_ENCAP_GENEVE = 4,
  PW_ENCAP_ERSPAN = 5, /* types I-III; the layer's VNI is the session id */
} pw_encap_kind;

/* UndecodedTunnel: why a tunnel's payload was not decoded (the view's undecoded_value says more). */
typedef enum pw_undecoded_tunnel {
  PW_UNDECODED_NONE = 0,
  PW_UNDECODED_GRE_VERSION,
  PW_UNDECODED_GRE_ROUTING,
  PW_UNDECODED_GRE_PROTOCOL,
  PW_UNDECODED_PPP_PROTOCOL,
  PW_UNDECODED_PPTP_NO_PAYLOAD,
  PW_UNDECODED_ERSPAN_VERSION,
  PW_UNDECODED_ERSPAN_FRAME_TYPE,
  PW_UNDECODED_PAYLOAD_NOT_IP,
  PW_UNDECODED_PAYLOAD_TRUNCATED,
  PW_UNDECODED_PAYLOAD_MALFORMED,
} pw_undecoded_tunnel;

typedef struct pw_view {
  /* ---- link layer ---- */
  uint32_t link_type;
  /* Ethernet source/destination MAC offsets in the buffer; -1 when the link has none. */
  int64_t mac_src_offset;
  int64_t mac_dst_offset;
  /* Destination MAC is multicast or broadcast (group bit). */
  uint8_t mac_dst_group;
  /* Linux SLL/SLL2: interface index (SLL2 only), packet type, ARPHRD type; -1 when absent. */
  int64_t linux_ifindex;
  int32_t linux_packet_type;
  int32_t linux_hatype;
  /* 802.1Q/802.1ad tags seen and the outermost VLAN id. */
  uint32_t vlan_depth;
  uint32_t vlan_id;

  /* ---- encapsulation layers, outermost first ---- */
  uint32_t encap_depth;
  uint8_t encap_kind[PW_MAX_ENCAP_DEPTH];
  /* IP version of the outer header carrying each layer. */
  uint8_t encap_outer_version[PW_MAX_ENCAP_DEPTH];
  /* Outer source/destination of each layer, 4 words per layer: the node addresses. */
  uint32_t encap_outer_src[PW_MAX_ENCAP_DEPTH * 4];
  uint32_t encap_outer_dst[PW_MAX_ENCAP_DEPTH * 4];
  /* VXLAN/Geneve VNI, GRE key (signed 32 bits, as the TypeScript Int32Array holds it); -1 for none. */
  int32_t encap_vni[PW_MAX_ENCAP_DEPTH];

  /* ---- innermost IP packet ---- */
  /* 4, 6, or 0 when no IP packet was found. */
  uint32_t ip_version;
  uint32_t src[4];
  uint32_t dst[4];
  /* Upper-layer protocol after IPv6 extension headers; -1 when unknown. */
  int32_t proto;
  uint32_t ttl;
  /* IPv4 identification; IPv6: the fragment header's identification, else 0. */
  uint32_t ip_id;
  uint32_t flow_label;
  int64_t ip_offset;
  /* IPv4 total length, IPv6 40 + payload length (jumbo aware). */
  int64_t ip_length;
  uint32_t frag_offset;
  uint8_t more_fragments;
  uint8_t is_fragment;

  /* ---- transport ---- */
  uint8_t l4_valid;
  int64_t l4_offset;
  uint32_t sport;
  uint32_t dport;
  uint32_t tcp_flags;
  uint32_t tcp_seq;
  uint32_t tcp_ack;
  uint32_t udp_length;
  int32_t icmp_type;
  int32_t icmp_code;
  int32_t icmp_id;
  int32_t icmp_seq;
  /* Transport payload present in the buffer: [payload_offset, payload_end). */
  int64_t payload_offset;
  int64_t payload_end;

  /* ---- the packet quoted inside an ICMP/ICMPv6 error ---- */
  uint8_t quoted_valid;
  uint8_t quoted_version;
  uint32_t quoted_src[4];
  uint32_t quoted_dst[4];
  int32_t quoted_proto;
  uint32_t quoted_sport;
  uint32_t quoted_dport;
  uint32_t quoted_ip_id;

  /* The capture cut the packet before the decoder finished. */
  uint8_t truncated;
  /* A header contradicted itself. */
  uint8_t malformed;
  /* A tunnel whose payload was not decoded (pw_undecoded_tunnel) and its detail. */
  uint8_t undecoded_tunnel;
  uint32_t undecoded_value;
} pw_view;

/*
 * Forget the innermost packet's protocol, transport and fragment fields: at the start of every
 * packet, and when entering a tunnel (the inner packet is what fingerprints and flows describe).
 */
static inline void pw_view_reset_inner(pw_view *v) {
  v->ip_version = 0;
  v->proto = -1;
  v->l4_valid = 0;
  v->l4_offset = -1;
  v->sport = 0;
  v->dport = 0;
  v->udp_length = 0;
  v->tcp_flags = 0;
  v->tcp_seq = 0;
  v->tcp_ack = 0;
  v->payload_offset = -1;
  v->payload_end = -1;
  v->is_fragment = 0;
  v->frag_offset = 0;
  v->more_fragments = 0;
}

/*
 * "Nothing decoded", at the start of every packet. Exactly what PacketView.reset() clears: the
 * encapsulation arrays past encap_depth and the quoted addresses while quoted_valid is 0 keep what
 * an earlier packet left, as they do in TypeScript (nothing reads them then), so the two views stay
 * identical byte for byte over any sequence of packets.
 */
static inline void pw_view_reset(pw_view *v) {
  pw_view_reset_inner(v);
  v->link_type = 0;
  v->mac_src_offset = -1;
  v->mac_dst_offset = -1;
  v->mac_dst_group = 0;
  v->linux_ifindex = -1;
  v->linux_packet_type = -1;
  v->linux_hatype = -1;
  v->vlan_depth = 0;
  v->vlan_id = 0;
  v->encap_depth = 0;
  memset(v->src, 0, sizeof v->src);
  memset(v->dst, 0, sizeof v->dst);
  v->ttl = 0;
  v->ip_id = 0;
  v->flow_label = 0;
  v->ip_offset = -1;
  v->ip_length = 0;
  v->icmp_type = -1;
  v->icmp_code = -1;
  v->icmp_id = -1;
  v->icmp_seq = -1;
  v->quoted_valid = 0;
  v->quoted_version = 0;
  v->quoted_proto = -1;
  v->quoted_sport = 0;
  v->quoted_dport = 0;
  v->quoted_ip_id = 0;
  v->truncated = 0;
  v->malformed = 0;
  v->undecoded_tunnel = PW_UNDECODED_NONE;
  v->undecoded_value = 0;
}

/* A new view: all zero (as a new PacketView's typed arrays are), then reset. */
static inline void pw_view_init(pw_view *v) {
  memset(v, 0, sizeof *v);
  pw_view_reset(v);
}

#endif
