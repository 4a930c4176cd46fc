/* The dispatch tables' contents: which layer each EtherType, IP protocol and UDP port leads to. */
#include "engine/dispatch_tables.h"

#include <string.h>

#include "engine/decode_context.h"

static const uint16_t default_vxlan_ports[] = {4789, 8472};
static const uint16_t default_geneve_ports[] = {6081};

const pw_tunnel_ports pw_default_tunnel_ports = {
  .vxlan = default_vxlan_ports,
  .vxlan_count = sizeof default_vxlan_ports / sizeof default_vxlan_ports[0],
  .geneve = default_geneve_ports,
  .geneve_count = sizeof default_geneve_ports / sizeof default_geneve_ports[0],
};

void pw_dispatch_tables_init(pw_dispatch_tables *t, const pw_tunnel_ports *ports) {
  if (ports == NULL) ports = &pw_default_tunnel_ports;

  memset(t->by_ether_type, PW_LAYER_NOT_IP, sizeof t->by_ether_type);
  t->by_ether_type[PW_ETHERTYPE_IPV4] = PW_LAYER_IPV4;
  t->by_ether_type[PW_ETHERTYPE_IPV6] = PW_LAYER_IPV6;
  t->by_ether_type[PW_ETHERTYPE_VLAN] = PW_LAYER_VLAN;
  t->by_ether_type[PW_ETHERTYPE_QINQ] = PW_LAYER_VLAN;
  t->by_ether_type[PW_ETHERTYPE_QINQ_OLD] = PW_LAYER_VLAN;
  t->by_ether_type[PW_ETHERTYPE_TEB] = PW_LAYER_ETHERNET;

  memset(t->by_ip_proto, PW_LAYER_UNKNOWN, sizeof t->by_ip_proto);
  t->by_ip_proto[1] = PW_LAYER_ICMP;
  t->by_ip_proto[4] = PW_LAYER_IPV4;
  t->by_ip_proto[6] = PW_LAYER_TCP;
  t->by_ip_proto[17] = PW_LAYER_UDP;
  t->by_ip_proto[41] = PW_LAYER_IPV6;
  t->by_ip_proto[47] = PW_LAYER_GRE;
  t->by_ip_proto[58] = PW_LAYER_ICMPV6;

  memset(t->by_udp_port, PW_LAYER_DONE, sizeof t->by_udp_port);
  for (size_t i = 0; i < ports->vxlan_count; i++) t->by_udp_port[ports->vxlan[i]] = PW_LAYER_VXLAN;
  for (size_t i = 0; i < ports->geneve_count; i++) t->by_udp_port[ports->geneve[i]] = PW_LAYER_GENEVE;
}
