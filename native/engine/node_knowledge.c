/* A node's knowledge: see node_knowledge.h. */
#include "engine/node_knowledge.h"

#include <stdlib.h>

bool pw_knowledge_init(pw_node_knowledge *k, uint32_t max_ifaces) {
  k->locals = calloc(PW_KNOWLEDGE_MAX_LOCAL, sizeof *k->locals);
  k->best_mac = malloc((size_t)max_ifaces * sizeof *k->best_mac);
  k->best_votes = calloc(max_ifaces, sizeof *k->best_votes);
  k->max_ifaces = max_ifaces;
  k->local_count = 0;
  k->overflow = 0;
  bool ok = k->locals != NULL && k->best_mac != NULL && k->best_votes != NULL;
  ok = pw_hash_index_init(&k->local, 64, PW_KNOWLEDGE_MAX_LOCAL * 2) && ok;
  ok = pw_hash_index_init(&k->location, 1024, PW_KNOWLEDGE_MAX_KEYS * 2) && ok;
  ok = pw_hash_index_init(&k->out_pairs, 1024, PW_KNOWLEDGE_MAX_KEYS * 2) && ok;
  ok = pw_hash_index_init(&k->mac_votes, 64, PW_KNOWLEDGE_MAX_KEYS * 2) && ok;
  if (k->best_mac != NULL)
    for (uint32_t i = 0; i < max_ifaces; i++) k->best_mac[i] = -1;
  if (!ok) pw_knowledge_destroy(k);
  return ok;
}

void pw_knowledge_destroy(pw_node_knowledge *k) {
  free(k->locals);
  free(k->best_mac);
  free(k->best_votes);
  k->locals = NULL;
  k->best_mac = NULL;
  k->best_votes = NULL;
  pw_hash_index_destroy(&k->local);
  pw_hash_index_destroy(&k->location);
  pw_hash_index_destroy(&k->out_pairs);
  pw_hash_index_destroy(&k->mac_votes);
}

uint64_t pw_address_key(uint32_t version, const uint32_t *words) {
  if (version == 4) return words[0];
  uint32_t h = 0x811c9dc5u, l = 0x01000193u;
  for (int i = 0; i < 4; i++) {
    uint32_t w = words[i];
    h = (h ^ w) * 0x01000193u;
    l = ((l ^ (w >> 7)) * 0x5bd1e995u) ^ (l >> 15);
  }
  return ((uint64_t)(h & 0xfffffu) + 1) * 4294967296ull + l;
}

/* pairKey: JavaScript's `(key % m) | 0` on keys below 2^53 is the remainder's low 32 bits. */
static uint64_t pair_key(uint64_t src, uint64_t dst) {
  uint32_t a = ((uint32_t)(src % 4294967291ull) * 0x9e3779b1u) ^ (uint32_t)(dst % 4294967279ull);
  uint32_t b = (((uint32_t)(dst % 4294967291ull) ^ 0x5bd1e995u) * 0x85ebca6bu) ^ (uint32_t)(src % 2147483647ull);
  return (uint64_t)(a & 0x1fffffu) * 4294967296ull + b;
}

static void set_or_count(pw_node_knowledge *k, pw_hash_index *x, uint64_t key, int32_t value) {
  if (!pw_hash_index_set(x, key, value)) k->overflow++;
}

void pw_knowledge_add_local(pw_node_knowledge *k, uint32_t version, const uint32_t *words) {
  uint64_t key = pw_address_key(version, words);
  if (pw_hash_index_get(&k->local, key) >= 0) return;
  if (k->local_count >= PW_KNOWLEDGE_MAX_LOCAL || !pw_hash_index_set(&k->local, key, (int32_t)k->local_count)) {
    k->overflow++;
    return;
  }
  pw_local_address *a = &k->locals[k->local_count++];
  a->version = version;
  for (int i = 0; i < 4; i++) a->words[i] = words[i];
}

void pw_knowledge_vote_own_mac(pw_node_knowledge *k, uint32_t iface, int64_t mac) {
  // Group addresses (the I/G bit of the first octet) are never an interface's own.
  if (mac < 0 || ((mac >> 40) & 1) == 1 || iface >= k->max_ifaces || iface > 0xffff) return;
  uint64_t key = ((uint64_t)iface << 48) | (uint64_t)mac;
  int32_t votes = pw_hash_index_get(&k->mac_votes, key);
  votes = votes < 0 ? 1 : votes + 1;
  if (!pw_hash_index_set(&k->mac_votes, key, votes)) {
    k->overflow++;
    return;
  }
  // Votes only grow, so the leader can be kept as they come: most votes, the smaller MAC on a tie
  // (what ownMac's scan over all votes picks).
  if (votes > k->best_votes[iface] || (votes == k->best_votes[iface] && mac < k->best_mac[iface])) {
    k->best_votes[iface] = votes;
    k->best_mac[iface] = mac;
  }
}

void pw_knowledge_exits(const pw_node_knowledge *k, uint64_t src_key, uint64_t dst_key, int32_t *a, int32_t *b) {
  int32_t packed = pw_hash_index_get(&k->out_pairs, pair_key(src_key, dst_key));
  *a = -1;
  *b = -1;
  if (packed < 0) return;
  *a = (packed % 65536) - 1;
  *b = (packed / 65536) - 1;
}

void pw_knowledge_learn_from_flow(pw_node_knowledge *k, const pw_flow_table *t, uint32_t slot, bool iface_is_pod_or_tunnel) {
  uint32_t dir = pw_flow_dir(t, slot);
  if (dir == PW_DIR_UNKNOWN) return;
  const pw_flow_slot *s = &t->slots[slot];
  uint32_t iface = s->iface;
  if (pw_flow_encap_kind(t, slot) != 0) {
    // The outer address on our side is ours: the tunnel endpoint.
    pw_knowledge_add_local(k, pw_flow_outer_version(t, slot), dir == PW_DIR_IN ? s->outer_dst : s->outer_src);
    return; // inner addresses of an encapsulated sighting say nothing about this node's interfaces
  }
  uint32_t v = pw_flow_ip_version(t, slot);
  uint64_t src_key = pw_address_key(v, s->src);
  uint64_t dst_key = pw_address_key(v, s->dst);
  if (dir == PW_DIR_IN) {
    // An address sending in by a pod or tunnel interface lives behind it; on the uplink everything
    // outside the node would "live" there, which says nothing.
    if (iface_is_pod_or_tunnel || pw_hash_index_get(&k->location, src_key) < 0) set_or_count(k, &k->location, src_key, (int32_t)iface);
    return;
  }
  // Packets leaving by a pod or tunnel interface go to where their destination lives.
  if (iface_is_pod_or_tunnel && pw_hash_index_get(&k->location, dst_key) < 0) set_or_count(k, &k->location, dst_key, (int32_t)iface);
  uint64_t pk = pair_key(src_key, dst_key);
  int32_t packed = pw_hash_index_get(&k->out_pairs, pk);
  // Interface ids stay below 32767 (the pipeline's bound), so two of them fit an int32 packed.
  if (packed < 0) set_or_count(k, &k->out_pairs, pk, (int32_t)iface + 1);
  else if (packed < 65536 && packed != (int32_t)iface + 1) set_or_count(k, &k->out_pairs, pk, packed + ((int32_t)iface + 1) * 65536);
}

void pw_knowledge_learn_originated(pw_node_knowledge *k, const pw_flow_table *t, uint32_t slot, bool covers_all_interfaces) {
  if (!covers_all_interfaces || pw_flow_encap_kind(t, slot) != 0) return;
  pw_knowledge_add_local(k, pw_flow_ip_version(t, slot), t->slots[slot].src);
}
