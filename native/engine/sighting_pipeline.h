/*
 * The stages every captured packet goes through: decode ->
 * fingerprint -> sampling -> flow table -> the node's hop matcher, for a block of capture records
 * at once. JavaScript keeps the interface registry (names, roles) and mirrors it into `registry`;
 * a record of a Linux `any` capture whose interface index the engine has not been told of stops the
 * block there (pw_pipeline_run returns its index) so JavaScript registers it as
 * SightingPipeline.ifaceForIfindex does and resubmits from that record: no callbacks, the same ids.
 *
 * Memory: everything is reserved at init (flow table, matchers' tables when a node is first seen,
 * the packet bytes ring); the per-record loop allocates nothing.
 */
#ifndef PW_SIGHTING_PIPELINE_H
#define PW_SIGHTING_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/decoder.h"
#include "engine/flow_table.h"
#include "engine/hop_matcher.h"
#include "engine/node_registry.h"
#include "engine/packet_bytes_ring.h"

/* Records decoded ahead of the stages in pw_pipeline_run, so that their cache misses overlap. */
#define PW_RUN_GROUP 16u

/* Capture bindings (inputs) whose `any` interface indexes the engine maps; indexes below 65536, as TypeScript caches. */
#define PW_MAX_BINDINGS 256u
#define PW_MAX_IFINDEX 65536u

/* PipelineStats, in its order. */
enum {
  PW_S_RECORDS,
  PW_S_BYTES,
  PW_S_DECODED,
  PW_S_TRUNCATED,
  PW_S_NOT_IP,
  PW_S_MALFORMED,
  PW_S_SAMPLED_OUT,
  PW_S_NOT_ANALYSED,
  PW_S_UNDECODED_TUNNEL,
  PW_STATS
};

/* Per record of a block: PW_REC_WORDS words of meta (uint32) and its time in ms (double). */
enum {
  PW_REC_OFFSET,
  PW_REC_CAPLEN,
  PW_REC_ORIGLEN,
  PW_REC_LINK_TYPE,
  /* Interface id, or 0xffffffff: per packet, from its Linux interface index (SLL2). */
  PW_REC_IFACE,
  PW_REC_DIRECTION,
  PW_REC_BINDING,
  PW_REC_WORDS
};

typedef struct pw_pipeline_config {
  pw_matcher_config matcher;
  /* Keep one packet in N by fingerprint (0 or 1: all). */
  double sample_one_in;
  /* Packet bytes ring: slots (0: none) and bytes per slot. */
  uint32_t packet_bytes_slots;
  uint32_t packet_bytes_slot_bytes;
} pw_pipeline_config;

typedef struct pw_pipeline {
  pw_pipeline_config config;
  pw_decoder decoder;
  pw_view view;
  /* One view per record of a group run together (pw_pipeline_run), set up on first use. */
  pw_view views[PW_RUN_GROUP];
  bool views_ready;
  pw_flow_table flows;
  pw_packet_bytes_ring ring;
  bool has_ring;
  pw_node_registry registry;
  pw_matcher *matchers[PW_MAX_NODES];
  double stats[PW_STATS];
  double *iface_packets;
  double *iface_bytes;
  /* Per binding, ifindex -> interface id + 1 (0: not told yet); allocated when a binding is first told. */
  int32_t *ifindex_maps[PW_MAX_BINDINGS];
  /* Records (block indexes) whose tunnel payload was not decoded, for JavaScript to list; and their interface ids. */
  uint32_t *undecoded;
  uint32_t *undecoded_iface;
  uint32_t undecoded_count;
  uint32_t undecoded_max;
  /* Matchers that could not be created (memory): their packets are counted here. */
  double matcher_failures;
} pw_pipeline;

/* A pipeline, or NULL (memory, or a bad configuration). */
pw_pipeline *pw_pipeline_create(const pw_pipeline_config *config);
/*
 * The same with a flow table of initial_flows growing to max_flows slots (powers of two, at most
 * PW_FLOW_MAX_FLOWS): the fuzz targets' tiny tables, which the full-size reservation would dwarf.
 */
pw_pipeline *pw_pipeline_create_sized(const pw_pipeline_config *config, uint32_t initial_flows, uint32_t max_flows);
void pw_pipeline_destroy(pw_pipeline *p);

/* Tells the engine that interface index ifindex of binding b is interface id iface; false when out of bounds. */
bool pw_pipeline_set_ifindex(pw_pipeline *p, uint32_t binding, uint32_t ifindex, uint32_t iface);

/*
 * Processes records [start, count) of a block: data holds the bytes, meta PW_REC_WORDS words per
 * record, ts_ms the times. Returns the index of the first record not processed: count when all
 * were, else a record whose interface must be registered first (*need_ifindex, *need_hatype say
 * which). At most undecoded_max undecoded tunnel records are listed per call (then it stops early
 * too, returning the next record).
 */
size_t pw_pipeline_run(pw_pipeline *p, const uint8_t *data, size_t data_length, const uint32_t *meta, const double *ts_ms, size_t start, size_t count,
                       int64_t *need_ifindex, int32_t *need_hatype);

/* The node's matcher, created on first use; NULL when memory is short. */
pw_matcher *pw_pipeline_matcher(pw_pipeline *p, uint32_t node);

/*
 * Hands the node's kernel drop events over (count events of event_bytes bytes each, struct
 * pw_drop_event, as the drop monitor read them at now_ms): each dropped IP packet is decoded from
 * the bytes the BPF program copied (from its network header) and kept by its fingerprint for the
 * vanish candidates to match (kernel_drops.h). Returns how many had a fingerprint (events without
 * an IP packet, or cut too short to fingerprint as a capture would, are skipped). Any call, even
 * with no events, marks the node as matched: its packets carry their headers' fingerprint from then
 * on, for the drops whose payload the BPF program could not copy.
 */
size_t pw_pipeline_kernel_drops(pw_pipeline *p, pw_matcher *m, const uint8_t *events, size_t count, size_t event_bytes, double now_ms);

#endif
