/*
 * What the pipeline fuzz targets do with the engine's results between records (fuzz_pipeline.c,
 * fuzz_pcap_walk.c): read every byte pipelineTake would copy out, so ASan sees any stale or
 * out-of-bounds one, then reset the take; and read each flushed flow record's words.
 */
#ifndef PW_FUZZ_PIPELINE_READS_H
#define PW_FUZZ_PIPELINE_READS_H

#include <stddef.h>
#include <stdint.h>

#include "engine/sighting_pipeline.h"

static inline void pw_fuzz_take_and_reset(pw_pipeline *p) {
  for (uint32_t n = 0; n < PW_MAX_NODES; n++) {
    pw_matcher *m = p->matchers[n];
    if (m == NULL) continue;
    const pw_candidate_groups *g = &m->groups;
    double sum = 0;
    for (uint32_t i = 0; i < g->count; i++) {
      const pw_group *x = &g->groups[i];
      sum += x->packets;
      if (x->has_sample)
        for (uint32_t k = 0; k < x->sample_length; k++) sum += g->sample_bytes[(size_t)i * g->sample_slot_bytes + k];
      for (size_t k = 0; k < (size_t)x->path_hops * PW_HOP_WORDS; k++) sum += g->hops.d[(size_t)x->path_at * PW_HOP_WORDS + k];
    }
    for (size_t k = 0; k < m->departures.len; k++) sum += m->departures.d[k];
    for (size_t k = 0; k < m->arrivals.len; k++) sum += m->arrivals.d[k];
    volatile double sink = sum;
    (void)sink;
    pw_matcher_reset_taken(m);
  }
}

static inline void pw_fuzz_on_flow_record(void *ctx, const pw_flow_table *t, uint32_t slot) {
  (void)ctx;
  volatile uint32_t sink = pw_flow_iface(t, slot) ^ pw_flow_chain_id(t, slot);
  (void)sink;
}

#endif
