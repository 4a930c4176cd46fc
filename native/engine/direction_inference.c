/* Direction inference: see direction_inference.h. Function for function direction-inference.ts. */
#include "engine/direction_inference.h"

#include "engine/flow_table.h"

static uint32_t set(pw_sighting_store *store, int32_t s, uint32_t dir, uint32_t source) {
  store->rec[s].dir = (uint8_t)dir;
  store->rec[s].dir_source = (uint8_t)source;
  return dir;
}

uint32_t pw_infer_from_knowledge(pw_sighting_store *store, int32_t s, const pw_node_knowledge *k, uint64_t src_key, uint64_t dst_key) {
  const pw_sighting_rec *r = &store->rec[s];
  uint32_t iface = r->iface;
  int64_t own = pw_knowledge_own_mac(k, iface);
  if (own >= 0) {
    if (r->mac_src == own) return set(store, s, PW_DIR_OUT, PW_SOURCE_LEARNED_MAC);
    if (r->mac_dst == own) return set(store, s, PW_DIR_IN, PW_SOURCE_LEARNED_MAC);
  }
  if (r->encap_depth != 0) return PW_DIR_UNKNOWN; // inner addresses say nothing about this hop
  if (pw_knowledge_is_local(k, src_key)) return set(store, s, PW_DIR_OUT, PW_SOURCE_ADDRESSES);
  if (pw_knowledge_is_local(k, dst_key)) return set(store, s, PW_DIR_IN, PW_SOURCE_ADDRESSES);
  int64_t dst_at = pw_knowledge_location(k, dst_key);
  int64_t src_at = pw_knowledge_location(k, src_key);
  int64_t here = iface;
  if (dst_at >= 0 && dst_at != here) return set(store, s, PW_DIR_IN, PW_SOURCE_ADDRESSES);
  if (src_at >= 0 && src_at != here) return set(store, s, PW_DIR_OUT, PW_SOURCE_ADDRESSES);
  if (dst_at == here && src_at != here) return set(store, s, PW_DIR_OUT, PW_SOURCE_ADDRESSES);
  if (src_at == here && dst_at != here) return set(store, s, PW_DIR_IN, PW_SOURCE_ADDRESSES);
  return PW_DIR_UNKNOWN;
}

static bool is_tunnel_plain(const pw_sighting_store *store, const pw_node_registry *registry, int32_t s) {
  return store->rec[s].encap_depth == 0 && pw_registry_is_tunnel(registry, store->rec[s].iface);
}

void pw_infer_from_hop_order(pw_sighting_store *store, const int32_t *order, uint32_t n, const pw_node_registry *registry, pw_node_knowledge *k) {
  pw_sighting_rec *rec = store->rec;
  bool distinct = false;
  int32_t first = order[0];
  for (uint32_t i = 1; i < n; i++)
    if (rec[order[i]].iface != rec[first].iface) distinct = true;
  if (!distinct) return;
  for (uint32_t i = 0; i + 1 < n; i++) {
    int32_t a = order[i], b = order[i + 1];
    if (rec[a].encap_depth != 0 && is_tunnel_plain(store, registry, b)) {
      if (rec[a].dir == PW_DIR_UNKNOWN) set(store, a, PW_DIR_IN, PW_SOURCE_HOP_ORDER);
      if (rec[b].dir == PW_DIR_UNKNOWN) set(store, b, PW_DIR_IN, PW_SOURCE_HOP_ORDER);
    } else if (is_tunnel_plain(store, registry, a) && rec[b].encap_depth != 0) {
      if (rec[a].dir == PW_DIR_UNKNOWN) set(store, a, PW_DIR_OUT, PW_SOURCE_HOP_ORDER);
      if (rec[b].dir == PW_DIR_UNKNOWN) set(store, b, PW_DIR_OUT, PW_SOURCE_HOP_ORDER);
    }
  }
  if (rec[first].dir == PW_DIR_UNKNOWN) set(store, first, PW_DIR_IN, PW_SOURCE_HOP_ORDER);
  int32_t last = order[n - 1];
  if (rec[last].dir == PW_DIR_UNKNOWN) set(store, last, PW_DIR_OUT, PW_SOURCE_HOP_ORDER);
  for (uint32_t i = 0; i < n; i++) {
    const pw_sighting_rec *r = &rec[order[i]];
    if (r->dir_source != PW_SOURCE_HOP_ORDER) continue;
    if (r->dir == PW_DIR_IN) pw_knowledge_vote_own_mac(k, r->iface, r->mac_dst);
    else if (r->dir == PW_DIR_OUT) pw_knowledge_vote_own_mac(k, r->iface, r->mac_src);
  }
}
