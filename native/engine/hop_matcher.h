/*
 * Within-node matching: one packet's sightings on one node's
 * interfaces, gathered by fingerprint for a correlation window, then evaluated: forwarded, sent by
 * the node, for the node, not judgeable, or a vanish candidate (grouped). What the evaluated packets
 * taught waits here until pw_matcher_take copies it out (the JavaScript side builds NodeFindings from
 * it: agent/native/node-findings-native.ts).
 *
 * The same decisions, in the same order, with the same numbers as TypeScript. Bounded where
 * TypeScript is not: open packets and sightings (capacities at init), candidate groups (as
 * TypeScript), tunnel hops and paths between takes; what does not fit is counted in `overflow`
 * (never in the NodeCounters, which stay TypeScript's).
 */
#ifndef PW_HOP_MATCHER_H
#define PW_HOP_MATCHER_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/candidate_groups.h"
#include "engine/f64_list.h"
#include "engine/flow_table.h"
#include "engine/kernel_drops.h"
#include "engine/node_knowledge.h"
#include "engine/node_registry.h"
#include "engine/open_packets.h"
#include "engine/packet_bytes_ring.h"
#include "engine/pw_view.h"
#include "engine/sighting_store.h"

#define PW_MAX_GROUP_SIGHTINGS 64
/* NodeCounters, in the order of emptyCounters(). */
enum {
  PW_C_PACKETS,
  PW_C_SIGHTINGS,
  PW_C_FORWARDED,
  PW_C_ORIGINATED,
  PW_C_DIRECTION_UNKNOWN,
  PW_C_NOT_UNICAST,
  PW_C_TRUNCATED_UNJUDGED,
  PW_C_CAPTURE_ENDED_UNJUDGED,
  PW_C_LOCAL,
  PW_C_VANISH_CANDIDATES,
  PW_C_VANISHED_GROUPS_OVERFLOW,
  PW_COUNTERS
};

/* A departure: fingerprint, outer version, outer dst[4], ts, identity (version, src[4], dst[4], proto, sport, dport), hop count, hops. */
#define PW_DEPARTURE_HEAD 21
/* An arrival: fingerprint, outer version, outer src[4], ts. */
#define PW_ARRIVAL_WORDS 7

typedef struct pw_matcher_config {
  double window_ms;
  uint32_t max_groups;
  /* HopMatcherConfig.tunnelHopSampleOneIn, or -1 when unset. */
  double tunnel_hop_sample;
  uint32_t open_capacity;
  uint32_t sighting_capacity;
} pw_matcher_config;

/*
 * Kernel drops are kept this long at least (kernel_drops.h): a packet is evaluated a window after
 * it was last seen, and the agent hands drops over within a second; generous for a slow tick.
 */
#define PW_KERNEL_DROPS_KEEP_MS 10000.0
#define PW_KERNEL_DROPS_CAPACITY 65536u

/* What the engine lost to its bounds (not in NodeCounters). */
typedef struct pw_matcher_overflow {
  /* Sightings not kept: the open-packet table or the sighting store was full. */
  double open_packets;
  double sightings;
  /* Tunnel hops or candidate paths not kept between takes. */
  double hops;
} pw_matcher_overflow;

typedef struct pw_matcher_env {
  const pw_node_registry *registry;
  pw_flow_table *flows;
  pw_packet_bytes_ring *packet_bytes;
} pw_matcher_env;

typedef struct pw_matcher {
  uint32_t node;
  pw_matcher_config config;
  pw_matcher_env env;
  pw_node_knowledge knowledge;
  double counters[PW_COUNTERS];
  pw_matcher_overflow overflow;
  pw_candidate_groups groups;
  pw_f64_list departures;
  pw_f64_list arrivals;
  pw_sighting_store store;
  pw_open_packets open;
  pw_kernel_drops kernel_drops;
  int32_t order[PW_MAX_GROUP_SIGHTINGS];
} pw_matcher;

/* One sighting as the pipeline hands it over (the view and data valid during the call). */
typedef struct pw_sighting_in {
  const pw_view *view;
  const uint8_t *data;
  uint64_t fingerprint;
  bool weak;
  uint32_t iface;
  uint32_t dir;
  uint32_t dir_source;
  uint32_t length;
  int32_t flow_slot;
  int32_t bytes_seq;
  double ts;
} pw_sighting_in;

bool pw_matcher_init(pw_matcher *m, uint32_t node, const pw_matcher_config *config, const pw_matcher_env *env, uint32_t sample_slot_bytes);
void pw_matcher_destroy(pw_matcher *m);

void pw_matcher_observe(pw_matcher *m, const pw_sighting_in *s);
/* Evaluates every packet whose window closed before watermark (ms). */
void pw_matcher_expire(pw_matcher *m, double watermark);
/* End of input: evaluates all; packets first seen within the last window before end_ts are not judged. */
void pw_matcher_expire_all(pw_matcher *m, double end_ts);

/* Empties the counters, groups, departures and arrivals after the caller copied them. */
void pw_matcher_reset_taken(pw_matcher *m);

#endif
