/*
 * What one node's traffic taught: its own addresses, where addresses
 * live, by which interfaces traffic of an address pair left, and each interface's own MAC. The same
 * keys (addressKey, pairKey) and the same rules as TypeScript, so the engine asks and answers alike.
 *
 * Memory: TypeScript's Maps grow without bound; here every map is a pw_hash_index that doubles up to
 * a bound given at init, and what does not fit is counted in `overflow` (an answer then stays
 * "unknown", as for an address never seen). Own addresses keep their words so JavaScript formats
 * them only when findings are taken.
 */
#ifndef PW_NODE_KNOWLEDGE_H
#define PW_NODE_KNOWLEDGE_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/flow_table.h"
#include "engine/hash_index.h"

/* Bounds (keys per map): generous for a node, small next to the open-packet window. */
#define PW_KNOWLEDGE_MAX_LOCAL (1u << 16)
#define PW_KNOWLEDGE_MAX_KEYS (1u << 20)

typedef struct pw_local_address {
  uint32_t version;
  uint32_t words[4];
} pw_local_address;

typedef struct pw_node_knowledge {
  /* key -> index in `locals` */
  pw_hash_index local;
  pw_local_address *locals;
  uint32_t local_count;
  /* address key -> interface id */
  pw_hash_index location;
  /* pair key -> (a + 1) + (b + 1) * 65536 */
  pw_hash_index out_pairs;
  /* iface << 48 | mac -> votes */
  pw_hash_index mac_votes;
  /* Per interface id: the MAC with most votes (fewest on a tie: the smaller), -1 none, and its votes. */
  int64_t *best_mac;
  int32_t *best_votes;
  uint32_t max_ifaces;
  /* Facts that found no room under the bounds. */
  double overflow;
} pw_node_knowledge;

bool pw_knowledge_init(pw_node_knowledge *k, uint32_t max_ifaces);
void pw_knowledge_destroy(pw_node_knowledge *k);

/* addressKey (core/net/address.ts): the IPv4 word, or a 52-bit hash above 2^32 for anything else. */
uint64_t pw_address_key(uint32_t version, const uint32_t *words);

static inline bool pw_knowledge_is_local(const pw_node_knowledge *k, uint64_t key) { return pw_hash_index_get(&k->local, key) >= 0; }
static inline int32_t pw_knowledge_location(const pw_node_knowledge *k, uint64_t key) { return pw_hash_index_get(&k->location, key); }
/* The interface's own MAC as learned so far, or -1. */
static inline int64_t pw_knowledge_own_mac(const pw_node_knowledge *k, uint32_t iface) { return iface < k->max_ifaces ? k->best_mac[iface] : -1; }

void pw_knowledge_add_local(pw_node_knowledge *k, uint32_t version, const uint32_t *words);
void pw_knowledge_vote_own_mac(pw_node_knowledge *k, uint32_t iface, int64_t mac);
/* Exits of traffic from src to dst: *a and *b (-1 when not known), as exitsFor. */
void pw_knowledge_exits(const pw_node_knowledge *k, uint64_t src_key, uint64_t dst_key, int32_t *a, int32_t *b);

/* learnFromFlow: a flow slot whose direction is now known. */
void pw_knowledge_learn_from_flow(pw_node_knowledge *k, const pw_flow_table *t, uint32_t slot, bool iface_is_pod_or_tunnel);
/* learnOriginated: with every interface captured, the source of a flow sent by the node is its own. */
void pw_knowledge_learn_originated(pw_node_knowledge *k, const pw_flow_table *t, uint32_t slot, bool covers_all_interfaces);

#endif
