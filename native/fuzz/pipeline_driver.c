/*
 * The whole per-packet pipeline (native/engine/sighting_pipeline.c: decode -> fingerprint ->
 * sampling -> flow table -> hop matcher, then expiry, takes and flushes) under AddressSanitizer,
 * UndefinedBehaviorSanitizer and LeakSanitizer (test/native/sanitizers.test.ts builds it with clang
 * -fsanitize=address,undefined and writes the corpus from the fixture captures).
 *
 *   pw_fuzz_pipeline CORPUS [ROUNDS [SEED]]
 *
 * CORPUS is corpus_driver.c's format: link type (u32 LE), length (u32 LE), bytes, back to back.
 * Round 0 runs every record as captured; every later round runs every record again, most of them
 * mutated (byte flips, absurd 16-bit values, truncation, a wrong link type, a wrong capture
 * length), in a fresh pipeline with tiny bounds (3 to 16 entries: open packets, sightings, groups,
 * packet bytes ring, flow table slots, so overflow, recycling and eviction run), 1 to 4 nodes and
 * up to 12 interfaces of random roles, records on interface ids the registry does not know, SLL2
 * records whose Linux ifindex must be registered first (unknown ifindex stops; out-of-range ones
 * get a fixed interface, as JavaScript does), blocks of 1 to 64 records with expiry after each,
 * takes and flushes at intervals, out-of-order times; then the end of input and destroy, every
 * allocation freed. Exit 0 and a summary line when nothing broke; a sanitizer report or a broken
 * invariant aborts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/corpus.h"
#include "engine/sighting_pipeline.h"

#define MAX_NODES 4u
#define MAX_IFACES 12u
#define MAX_BLOCK 64u
#define SLACK 32u

static void fail(const char *what) {
  fprintf(stderr, "pw_fuzz_pipeline: invariant broken: %s\n", what);
  abort();
}

static const uint32_t link_types[] = {0, 1, 101, 108, 113, 228, 229, 276, 147};

/* What the round's pipeline was told. */
typedef struct round_state {
  pw_pipeline *p;
  uint32_t ifaces;
  uint32_t nodes;
  double flushed_records;
  double takes;
  double group_words;
} round_state;

static void on_flow_record(void *ctx, const pw_flow_table *t, uint32_t slot) {
  round_state *s = ctx;
  if (slot >= t->used || slot >= t->max_flows) fail("flushed slot out of range");
  volatile uint32_t sink = pw_flow_dir(t, slot) ^ pw_flow_iface(t, slot) ^ pw_flow_ports(t, slot) ^ pw_flow_outer_version(t, slot);
  uint32_t chain = pw_flow_chain_id(t, slot);
  if (chain != 0) {
    const uint32_t *row = pw_encap_chains_row(&t->chains, chain);
    if (row != NULL) {
      for (uint32_t k = 0; k < 1 + row[0] * PW_CHAIN_LAYER_WORDS; k++) sink ^= row[k];
    }
  }
  (void)sink;
  s->flushed_records++;
}

/* What pipelineTake copies out (sighting_pipeline_napi.c), every byte of it read, then the reset. */
static void take(round_state *s, pw_matcher *m) {
  const pw_candidate_groups *g = &m->groups;
  double sum = 0;
  for (int i = 0; i < PW_COUNTERS; i++) sum += m->counters[i];
  sum += g->overflow;
  if (g->count > g->max_groups) fail("more groups than max_groups");
  for (uint32_t i = 0; i < g->count; i++) {
    const pw_group *x = &g->groups[i];
    sum += x->iface + x->packets + x->first_seen + x->last_seen + x->path_hops;
    if (x->has_sample) {
      if (x->sample_length > g->sample_slot_bytes) fail("sample longer than its slot");
      for (uint32_t k = 0; k < x->sample_length; k++) sum += g->sample_bytes[(size_t)i * g->sample_slot_bytes + k];
    }
    size_t hop_words = (size_t)x->path_hops * PW_HOP_WORDS;
    if (hop_words > 0) {
      if ((size_t)x->path_at * PW_HOP_WORDS + hop_words > g->hops.len) fail("a group's path outside the hop list");
      for (size_t k = 0; k < hop_words; k++) sum += g->hops.d[(size_t)x->path_at * PW_HOP_WORDS + k];
    }
    s->group_words += 1 + (double)hop_words;
  }
  for (size_t k = 0; k < m->departures.len; k++) sum += m->departures.d[k];
  for (size_t k = 0; k < m->arrivals.len; k++) sum += m->arrivals.d[k];
  volatile double sink = sum;
  (void)sink;
  pw_matcher_reset_taken(m);
  if (m->departures.len != 0 || m->arrivals.len != 0 || g->count != 0) fail("reset_taken left something");
  s->takes++;
}

static void take_all(round_state *s) {
  for (uint32_t n = 0; n < PW_MAX_NODES; n++)
    if (s->p->matchers[n] != NULL) take(s, s->p->matchers[n]);
}

static void expire_all_matchers(round_state *s, double watermark) {
  for (uint32_t n = 0; n < PW_MAX_NODES; n++)
    if (s->p->matchers[n] != NULL) pw_matcher_expire(s->p->matchers[n], watermark);
}

static void flush(round_state *s) {
  pw_flow_table_flush(&s->p->flows, on_flow_record, s);
  if (s->p->flows.used > s->p->flows.max_flows) fail("flow table uses more slots than it has");
}

static uint32_t pow2_between(uint32_t lo_log, uint32_t hi_log) {
  return 1u << (lo_log + pw_fuzz_below(hi_log - lo_log + 1));
}

/* Mutations of a record copied to dst (room for len + 4 * SLACK bytes); returns its new length. */
static uint32_t mutate(uint8_t *dst, uint32_t len) {
  uint32_t kinds = 1 + pw_fuzz_below(4);
  for (uint32_t k = 0; k < kinds; k++) {
    switch (pw_fuzz_below(5)) {
      case 0: /* bit flips */
        if (len > 0)
          for (uint32_t f = 1 + pw_fuzz_below(3); f > 0; f--) dst[pw_fuzz_below(len)] ^= (uint8_t)(1u << pw_fuzz_below(8));
        break;
      case 1: /* an absurd 16-bit value */
        if (len >= 2) {
          static const uint16_t absurd[] = {0, 1, 0xffff, 0x7fff, 0x8000, 20, 40, 0x0800, 0x86dd};
          uint16_t v = absurd[pw_fuzz_below(sizeof absurd / sizeof absurd[0])];
          uint32_t at = pw_fuzz_below(len - 1);
          dst[at] = (uint8_t)(v >> 8);
          dst[at + 1] = (uint8_t)v;
        }
        break;
      case 2: /* truncation */
        len = pw_fuzz_below(len + 1);
        break;
      case 3: /* garbage appended */
        {
          uint32_t add = pw_fuzz_below(SLACK + 1);
          for (uint32_t i = 0; i < add; i++) dst[len + i] = (uint8_t)pw_fuzz_random();
          len += add;
        }
        break;
      default: /* a random byte */
        if (len > 0) dst[pw_fuzz_below(len)] = (uint8_t)pw_fuzz_random();
        break;
    }
  }
  return len;
}

/* Runs records [0, n) of one block the way the replay adapter does: resubmits after registering each unknown ifindex. */
static void run_block(round_state *s, const uint8_t *data, size_t data_length, uint32_t *meta, const double *ts, size_t n, double *ifindex_stops) {
  size_t start = 0;
  unsigned guard = 0;
  while (start < n) {
    int64_t need_ifindex = -7;
    int32_t need_hatype = -7;
    size_t next = pw_pipeline_run(s->p, data, data_length, meta, ts, start, n, &need_ifindex, &need_hatype);
    if (next < start || next > n) fail("pw_pipeline_run returned an index outside the block");
    if (s->p->undecoded_count > s->p->undecoded_max) fail("more undecoded records than the list holds");
    for (uint32_t i = 0; i < s->p->undecoded_count; i++) {
      if (s->p->undecoded[i] < start || s->p->undecoded[i] >= next) fail("undecoded record outside the records run");
      if (s->p->undecoded_iface[i] >= s->ifaces) fail("undecoded record on an unknown interface");
    }
    if (next == n) break;
    if (s->p->undecoded_count == s->p->undecoded_max) {
      start = next;
      continue;
    }
    // Stopped at a record whose interface must be registered first.
    uint32_t *r = meta + next * PW_REC_WORDS;
    if (r[PW_REC_IFACE] != 0xffffffffu) fail("stopped on a record with an interface id");
    (*ifindex_stops)++;
    uint32_t iface = pw_fuzz_below(s->ifaces + 1); /* sometimes one the registry does not know */
    if (need_ifindex < 0 || need_ifindex >= PW_MAX_IFINDEX || !pw_pipeline_set_ifindex(s->p, r[PW_REC_BINDING], (uint32_t)need_ifindex, iface)) {
      r[PW_REC_IFACE] = iface; /* cannot be mapped: the record is given an interface */
    }
    if (next == start && ++guard > 4) fail("no progress after registering an ifindex");
    if (next > start) guard = 0;
    start = next;
  }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s CORPUS [ROUNDS [SEED]]\n", argv[0]);
    return 2;
  }
  unsigned long rounds = argc > 2 ? strtoul(argv[2], NULL, 10) : 40;
  pw_fuzz_seed(argc > 3 ? strtoull(argv[3], NULL, 10) : 20260107);
  size_t size = 0;
  uint8_t *corpus = pw_fuzz_read_file(argv[1], &size);
  if (corpus == NULL) {
    fprintf(stderr, "pw_fuzz_pipeline: cannot read %s\n", argv[1]);
    return 2;
  }
  record *recs = NULL;
  long count = pw_fuzz_parse_corpus(corpus, size, &recs);
  if (count <= 0) {
    fprintf(stderr, "pw_fuzz_pipeline: bad or empty corpus\n");
    free(corpus);
    return 2;
  }
  size_t max_len = 0;
  for (long i = 0; i < count; i++)
    if (recs[i].length > max_len) max_len = recs[i].length;
  // A block's bytes, meta and times; data bigger than the records so a wrong caplen stays inside it.
  size_t data_cap = MAX_BLOCK * (max_len + 4 * SLACK + 4) + 64;
  uint8_t *data = malloc(data_cap);
  uint32_t *meta = malloc(MAX_BLOCK * PW_REC_WORDS * sizeof *meta);
  double *ts = malloc(MAX_BLOCK * sizeof *ts);
  if (data == NULL || meta == NULL || ts == NULL) {
    fprintf(stderr, "pw_fuzz_pipeline: out of memory\n");
    return 2;
  }
  double fed = 0, counted = 0, mutated = 0, blocks = 0, stops = 0, flushed = 0, takes = 0, groups = 0, overflow = 0, matchers = 0;
  for (unsigned long round = 0; round < rounds; round++) {
    bool plain = round == 0;
    pw_pipeline_config c = {
        .matcher = {.window_ms = plain ? 5 : (double)(1 + pw_fuzz_below(50)),
                    .max_groups = plain ? 16 : 3 + pw_fuzz_below(14),
                    .tunnel_hop_sample = pw_fuzz_below(2) ? -1 : (double)(1 + pw_fuzz_below(3)),
                    .open_capacity = plain ? 16 : pow2_between(2, 4),
                    .sighting_capacity = plain ? 16 : 3 + pw_fuzz_below(14)},
        .sample_one_in = pw_fuzz_below(4) == 0 ? 2 : 0,
        .packet_bytes_slots = pw_fuzz_below(3) == 0 ? 0 : 3 + pw_fuzz_below(14),
        .packet_bytes_slot_bytes = 16 + pw_fuzz_below(113),
    };
    if (plain) c.sample_one_in = 0;
    // A flow table of a few slots, growing from 4 to at most 16.
    uint32_t max_log = plain ? 4 : 2 + pw_fuzz_below(3);
    pw_pipeline *p = pw_pipeline_create_sized(&c, plain ? 4 : pow2_between(2, max_log), 1u << max_log);
    if (p == NULL) fail("pw_pipeline_create_sized refused a valid configuration");
    round_state s = {.p = p, .nodes = plain ? 2 : 1 + pw_fuzz_below(MAX_NODES), .ifaces = plain ? 6 : 3 + pw_fuzz_below(MAX_IFACES - 2)};
    p->registry.node_count = s.nodes;
    p->registry.iface_count = s.ifaces;
    for (uint32_t i = 0; i < s.ifaces; i++) {
      uint32_t node = i % s.nodes;
      p->registry.iface_node[i] = node;
      p->registry.iface_role[i] = (uint8_t)(plain ? i % 3 : pw_fuzz_below(3));
      p->registry.node_ifaces[node]++;
    }
    for (uint32_t n = 0; n < s.nodes; n++) p->registry.node_covers_all[n] = (uint8_t)pw_fuzz_below(2);
    double now = 1.7e12 + round * 1e6;
    size_t i = 0;
    unsigned long block_no = 0;
    while (i < (size_t)count) {
      size_t n = 1 + pw_fuzz_below(MAX_BLOCK);
      if (n > (size_t)count - i) n = (size_t)count - i;
      size_t at = 0;
      for (size_t k = 0; k < n; k++, i++) {
        const record *src = &recs[i];
        uint32_t len = src->length, lt = src->link_type;
        memcpy(data + at, corpus + src->offset, len);
        uint32_t caplen = len, origlen = len;
        if (!plain && pw_fuzz_below(8) != 0) {
          len = mutate(data + at, len);
          caplen = origlen = len;
          mutated++;
          switch (pw_fuzz_below(12)) {
            case 0: lt = link_types[pw_fuzz_below(sizeof link_types / sizeof link_types[0])]; break;
            case 1: origlen = len + pw_fuzz_below(2000); break; /* cut short by the capture */
            case 2: caplen = len > 0 ? pw_fuzz_below(len) : 0; break;
            default: break;
          }
        }
        uint32_t *r = meta + k * PW_REC_WORDS;
        r[PW_REC_OFFSET] = (uint32_t)at;
        r[PW_REC_CAPLEN] = caplen;
        r[PW_REC_ORIGLEN] = origlen;
        r[PW_REC_LINK_TYPE] = lt;
        r[PW_REC_DIRECTION] = plain ? (uint32_t)(i % 3) : pw_fuzz_below(3);
        r[PW_REC_BINDING] = plain ? 0 : pw_fuzz_below(3);
        // SLL2 records are bound per packet (by ifindex); others on an interface, sometimes one the registry does not know.
        if (lt == 276) r[PW_REC_IFACE] = 0xffffffffu;
        else r[PW_REC_IFACE] = plain ? (uint32_t)(i % (s.ifaces + 1)) : pw_fuzz_below(8) == 0 ? s.ifaces + pw_fuzz_below(PW_MAX_IFACES + 8) : pw_fuzz_below(s.ifaces);
        now += plain ? 0.25 : (double)pw_fuzz_below(4000) / 1000.0;
        ts[k] = !plain && pw_fuzz_below(16) == 0 ? now - (double)pw_fuzz_below(100) : now; /* sometimes out of order */
        at += len + (plain ? 0 : pw_fuzz_below(4));
      }
      fed += (double)n;
      run_block(&s, data, at, meta, ts, n, &stops);
      blocks++;
      block_no++;
      expire_all_matchers(&s, now - (plain ? 0 : (double)pw_fuzz_below(20)));
      if (block_no % 3 == 0) take_all(&s);
      if (block_no % 5 == 0) flush(&s);
    }
    for (uint32_t n = 0; n < PW_MAX_NODES; n++)
      if (p->matchers[n] != NULL) {
        pw_matcher_expire_all(p->matchers[n], now + 1e6);
        overflow += p->matchers[n]->overflow.open_packets + p->matchers[n]->overflow.sightings + p->matchers[n]->overflow.hops;
        matchers++;
      }
    take_all(&s);
    flush(&s);
    overflow += p->flows.stats.overflow_packets;
    counted += p->stats[PW_S_RECORDS];
    flushed += s.flushed_records;
    takes += s.takes;
    groups += s.group_words;
    pw_pipeline_destroy(p);
  }
  printf("pw_fuzz_pipeline: %ld records, %lu rounds, %.0f fed, %.0f mutations, %.0f counted, %.0f blocks, %.0f ifindex stops, %.0f matchers, %.0f takes, "
         "%.0f flow records flushed, %.0f overflowed\n",
         count, rounds, fed, mutated, counted, blocks, stops, matchers, takes, flushed, overflow);
  (void)groups;
  free(data);
  free(meta);
  free(ts);
  free(recs);
  free(corpus);
  return 0;
}
