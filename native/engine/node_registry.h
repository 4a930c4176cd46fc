/*
 * What the engine needs to know of agent/flow/interface-registry.ts, mirrored from JavaScript (the
 * registry stays there: it names interfaces and nodes). JavaScript tells the engine of every
 * interface and node before a record that could see them is processed, so each record is matched
 * with the registry as it stood when JavaScript handed it over.
 */
#ifndef PW_NODE_REGISTRY_H
#define PW_NODE_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

/* Interface ids and node indexes the engine takes (pairs of ids must fit the knowledge's int32). */
#define PW_MAX_IFACES 16384u
#define PW_MAX_NODES 4096u

#define PW_ROLE_OTHER 0
#define PW_ROLE_POD 1
#define PW_ROLE_TUNNEL 2

typedef struct pw_node_registry {
  uint32_t iface_count;
  uint32_t node_count;
  /* Per interface id: its node's index and role (PW_ROLE_*). */
  uint32_t iface_node[PW_MAX_IFACES];
  uint8_t iface_role[PW_MAX_IFACES];
  /* Per interface id: 1 when its packets are not analysed (the agent's --iface patterns leave it out). */
  uint8_t iface_skipped[PW_MAX_IFACES];
  /* Per node: interfaces registered, and whether its capture covers every interface. */
  uint32_t node_ifaces[PW_MAX_NODES];
  uint8_t node_covers_all[PW_MAX_NODES];
} pw_node_registry;

static inline bool pw_registry_is_tunnel(const pw_node_registry *r, uint32_t iface) {
  return iface < r->iface_count && r->iface_role[iface] == PW_ROLE_TUNNEL;
}

static inline bool pw_registry_is_pod_or_tunnel(const pw_node_registry *r, uint32_t iface) {
  return iface < r->iface_count && r->iface_role[iface] != PW_ROLE_OTHER;
}

#endif
