/*
 * Direction of a sighting the capture did not give: from the
 * interface's learned own MAC, then the node's addresses and where addresses live, then, inside one
 * packet's time-ordered sightings, the order of hops.
 */
#ifndef PW_DIRECTION_INFERENCE_H
#define PW_DIRECTION_INFERENCE_H

#include <stdint.h>

#include "engine/node_knowledge.h"
#include "engine/node_registry.h"
#include "engine/sighting_store.h"

/* DirectionSource values beyond the capture's own. */
#define PW_SOURCE_LEARNED_MAC 3
#define PW_SOURCE_ADDRESSES 4
#define PW_SOURCE_HOP_ORDER 5

/* inferFromKnowledge: sets sighting s's direction and source when known; returns it (or unknown). */
uint32_t pw_infer_from_knowledge(pw_sighting_store *store, int32_t s, const pw_node_knowledge *k, uint64_t src_key, uint64_t dst_key);

/* inferFromHopOrder over n time-ordered sightings; learns own MACs from the directions it sets. */
void pw_infer_from_hop_order(pw_sighting_store *store, const int32_t *order, uint32_t n, const pw_node_registry *registry, pw_node_knowledge *k);

#endif
