/*
 * Numeric dispatch tables: the wiring between protocols, filled
 * once from the decoder's configuration, so decoders never call each other and the hot path is an
 * array index. Values are pw_layer (decode_context.h).
 */
#ifndef PW_DISPATCH_TABLES_H
#define PW_DISPATCH_TABLES_H

#include <stddef.h>
#include <stdint.h>

#define PW_ETHERTYPE_IPV4 0x0800u
#define PW_ETHERTYPE_ARP 0x0806u
#define PW_ETHERTYPE_IPV6 0x86ddu
#define PW_ETHERTYPE_VLAN 0x8100u
#define PW_ETHERTYPE_QINQ 0x88a8u
#define PW_ETHERTYPE_QINQ_OLD 0x9100u
/* Transparent Ethernet bridging: Ethernet frames inside GRE and Geneve. */
#define PW_ETHERTYPE_TEB 0x6558u

/* UDP destination ports carrying VXLAN and Geneve (a port in both lists is Geneve's). */
typedef struct pw_tunnel_ports {
  const uint16_t *vxlan;
  size_t vxlan_count;
  const uint16_t *geneve;
  size_t geneve_count;
} pw_tunnel_ports;

/* Linux's VXLAN default 8472 and IANA's 4789; Geneve 6081 (DEFAULT_TUNNEL_PORTS). */
extern const pw_tunnel_ports pw_default_tunnel_ports;

typedef struct pw_dispatch_tables {
  /* EtherType -> layer (Ethernet, VLAN, SLL, SLL2, GRE, Geneve protocol fields). */
  uint8_t by_ether_type[65536];
  /* IP protocol number -> layer (IPv4 protocol, IPv6 next header after extensions). */
  uint8_t by_ip_proto[256];
  /* UDP destination port -> layer (tunnels on UDP); 0 (done) for plain UDP. */
  uint8_t by_udp_port[65536];
} pw_dispatch_tables;

/* Fills the tables; ports NULL means pw_default_tunnel_ports. */
void pw_dispatch_tables_init(pw_dispatch_tables *t, const pw_tunnel_ports *ports);

#endif
