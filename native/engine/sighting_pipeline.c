/* The sighting pipeline: see sighting_pipeline.h. */
#include "engine/sighting_pipeline.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/drop_event.h"
#include "engine/fingerprint.h"
#include "engine/link_types.h"

#define PACKET_OUTGOING 4
#define SOURCE_PCAPNG_FLAGS 1
#define SOURCE_LINUX_PACKET_TYPE 2
#define UNDECODED_MAX 4096u

pw_pipeline *pw_pipeline_create(const pw_pipeline_config *config) { return pw_pipeline_create_sized(config, PW_FLOW_INITIAL_CAPACITY, PW_FLOW_MAX_FLOWS); }

pw_pipeline *pw_pipeline_create_sized(const pw_pipeline_config *config, uint32_t initial_flows, uint32_t max_flows) {
  const pw_matcher_config *mc = &config->matcher;
  if (mc->open_capacity == 0 || (mc->open_capacity & (mc->open_capacity - 1)) != 0 || mc->sighting_capacity == 0 || mc->open_capacity > (1u << 26) ||
      mc->sighting_capacity > (1u << 26))
    return NULL;
  pw_pipeline *p = calloc(1, sizeof *p);
  if (p == NULL) return NULL;
  p->config = *config;
  pw_decoder_init(&p->decoder, NULL);
  pw_view_init(&p->view);
  p->iface_packets = calloc(PW_MAX_IFACES, sizeof *p->iface_packets);
  p->iface_bytes = calloc(PW_MAX_IFACES, sizeof *p->iface_bytes);
  p->undecoded = malloc(UNDECODED_MAX * sizeof *p->undecoded);
  p->undecoded_iface = malloc(UNDECODED_MAX * sizeof *p->undecoded_iface);
  p->undecoded_max = UNDECODED_MAX;
  bool flows = pw_flow_table_init(&p->flows, initial_flows, max_flows);
  if (config->packet_bytes_slots > 0) p->has_ring = pw_packet_bytes_ring_init(&p->ring, config->packet_bytes_slots, config->packet_bytes_slot_bytes);
  if (!flows || (config->packet_bytes_slots > 0 && !p->has_ring) || p->iface_packets == NULL || p->iface_bytes == NULL || p->undecoded == NULL ||
      p->undecoded_iface == NULL) {
    if (flows) pw_flow_table_destroy(&p->flows);
    if (p->has_ring) pw_packet_bytes_ring_destroy(&p->ring);
    free(p->iface_packets);
    free(p->iface_bytes);
    free(p->undecoded);
    free(p->undecoded_iface);
    free(p);
    return NULL;
  }
  return p;
}

void pw_pipeline_destroy(pw_pipeline *p) {
  if (p == NULL) return;
  for (uint32_t i = 0; i < PW_MAX_NODES; i++) {
    if (p->matchers[i] == NULL) continue;
    pw_matcher_destroy(p->matchers[i]);
    free(p->matchers[i]);
  }
  for (uint32_t b = 0; b < PW_MAX_BINDINGS; b++) free(p->ifindex_maps[b]);
  pw_flow_table_destroy(&p->flows);
  if (p->has_ring) pw_packet_bytes_ring_destroy(&p->ring);
  free(p->iface_packets);
  free(p->iface_bytes);
  free(p->undecoded);
  free(p->undecoded_iface);
  free(p);
}

bool pw_pipeline_set_ifindex(pw_pipeline *p, uint32_t binding, uint32_t ifindex, uint32_t iface) {
  if (binding >= PW_MAX_BINDINGS || ifindex >= PW_MAX_IFINDEX || iface >= PW_MAX_IFACES) return false;
  if (p->ifindex_maps[binding] == NULL) {
    p->ifindex_maps[binding] = calloc(PW_MAX_IFINDEX, sizeof(int32_t));
    if (p->ifindex_maps[binding] == NULL) return false;
  }
  p->ifindex_maps[binding][ifindex] = (int32_t)iface + 1;
  return true;
}

pw_matcher *pw_pipeline_matcher(pw_pipeline *p, uint32_t node) {
  if (node >= PW_MAX_NODES) return NULL;
  if (p->matchers[node] != NULL) return p->matchers[node];
  pw_matcher *m = malloc(sizeof *m);
  if (m == NULL) return NULL;
  pw_matcher_env env = {.registry = &p->registry, .flows = &p->flows, .packet_bytes = p->has_ring ? &p->ring : NULL};
  if (!pw_matcher_init(m, node, &p->config.matcher, &env, p->has_ring ? p->ring.slot_bytes : 0)) {
    free(m);
    return NULL;
  }
  p->matchers[node] = m;
  return m;
}

size_t pw_pipeline_kernel_drops(pw_pipeline *p, pw_matcher *m, const uint8_t *events, size_t count, size_t event_bytes, double now_ms) {
  if (event_bytes < sizeof(struct pw_drop_event)) return 0;
  m->kernel_drops.matching = true;
  size_t fingerprinted = 0;
  for (size_t i = 0; i < count; i++) {
    struct pw_drop_event e;
    memcpy(&e, events + i * event_bytes, sizeof e);
    // skb->protocol in network byte order: IPv4 0x0800, IPv6 0x86dd.
    uint16_t protocol = (uint16_t)(((e.protocol & 0xff) << 8) | (e.protocol >> 8));
    if ((protocol != 0x0800 && protocol != 0x86dd) || e.copied == 0) continue;
    size_t length = e.copied < PW_DROP_HEADER_BYTES ? e.copied : PW_DROP_HEADER_BYTES;
    pw_decode(&p->decoder, &p->view, e.bytes, 0, length, PW_LINKTYPE_RAW);
    if (p->view.ip_version == 0) continue;
    uint64_t fingerprint;
    if (!pw_fingerprint_is_weak(&p->view)) fingerprint = pw_fingerprint(&p->view, e.bytes);
    // The copy ended inside the packet, at the end of the socket buffer's linear part, before the
    // payload prefix (GRO aggregates, TCP data in pages): the headers' fingerprint, if they are whole.
    else if (p->view.l4_valid && length < e.len) fingerprint = pw_fingerprint_headers(&p->view);
    else continue;
    if (fingerprint == 0) continue;
    pw_kernel_drops_add(&m->kernel_drops, fingerprint, e.reason, e.location, now_ms);
    fingerprinted++;
  }
  return fingerprinted;
}

/* The interface id of a record bound per packet, or -1 when JavaScript must register it first. */
static int64_t iface_for_ifindex(const pw_pipeline *p, uint32_t binding, int64_t ifindex) {
  if (binding >= PW_MAX_BINDINGS || p->ifindex_maps[binding] == NULL || ifindex < 0 || ifindex >= PW_MAX_IFINDEX) return -1;
  return (int64_t)p->ifindex_maps[binding][ifindex] - 1;
}

/* What the first pass learned of one record of a group, for the pass that processes it. */
typedef struct pending_record {
  pw_decode_status status;
  int64_t iface;
  bool analysed;
  /* The direction the capture gave, else the Linux packet type's (dir_source says which). */
  uint32_t dir, dir_source;
  uint64_t fingerprint;
  /* pw_flow_table_prefetch's bucket + 1 (0: none). */
  uint32_t flow_bucket;
} pending_record;

/* The stages for one record decoded by the first pass. */
static void run_record(pw_pipeline *p, const uint8_t *data, const uint32_t *r, double ts, size_t i, const pw_view *view, const pending_record *x,
                       double *stats) {
  size_t offset = r[PW_REC_OFFSET], caplen = r[PW_REC_CAPLEN];
  uint32_t origlen = r[PW_REC_ORIGLEN];
  int64_t iface = x->iface;
  pw_decode_status status = x->status;
  stats[PW_S_RECORDS]++;
  stats[PW_S_BYTES] += origlen;
  bool known = iface < p->registry.iface_count;
  bool analysed = x->analysed;
  if (iface < PW_MAX_IFACES) {
    p->iface_packets[iface]++;
    p->iface_bytes[iface] += origlen;
  }
  // A tunnel packet with no inner IP packet: counted and listed as that tunnel, never judged.
  if (view->undecoded_tunnel != PW_UNDECODED_NONE && analysed) {
    p->undecoded[p->undecoded_count] = (uint32_t)i;
    p->undecoded_iface[p->undecoded_count] = (uint32_t)iface;
    p->undecoded_count++;
  }
  if (status == PW_STATUS_NOT_IP) stats[PW_S_NOT_IP]++;
  else if (status == PW_STATUS_UNDECODED_TUNNEL) stats[PW_S_UNDECODED_TUNNEL]++;
  else {
    // Cut short although the capture holds the whole frame: malformed, not truncated.
    if (status == PW_STATUS_MALFORMED || (status == PW_STATUS_TRUNCATED && caplen >= origlen)) stats[PW_S_MALFORMED]++;
    else if (status == PW_STATUS_TRUNCATED) stats[PW_S_TRUNCATED]++;
    else stats[PW_S_DECODED]++;
    if (view->ip_version != 0 && known && !analysed) stats[PW_S_NOT_ANALYSED]++;
    else if (view->ip_version != 0 && known) {
      uint32_t dir = x->dir, dir_source = x->dir_source;
      uint64_t fp = x->fingerprint;
      double sample = p->config.sample_one_in;
      if (sample > 1 && fmod((double)fp, sample) != 0) stats[PW_S_SAMPLED_OUT]++;
      else {
        pw_sighting_in s = {.view = view, .data = data, .fingerprint = fp, .weak = pw_fingerprint_is_weak(view), .iface = (uint32_t)iface, .dir = dir,
                            .dir_source = dir_source, .length = origlen, .ts = ts};
        s.flow_slot = pw_flow_table_add(&p->flows, view, (uint32_t)iface, dir, origlen, s.ts);
        pw_matcher *m = pw_pipeline_matcher(p, p->registry.iface_node[iface]);
        if (m == NULL) p->matcher_failures++;
        else {
          // A flow whose first packet says its direction teaches the node at once; one without
          // learns when correlation resolves it.
          if (s.flow_slot >= 0 && p->flows.created && dir != PW_DIR_UNKNOWN)
            pw_knowledge_learn_from_flow(&m->knowledge, &p->flows, (uint32_t)s.flow_slot, pw_registry_is_pod_or_tunnel(&p->registry, (uint32_t)iface));
          // Only arrivals (and packets of unknown direction) can become a vanished group's sample.
          s.bytes_seq = p->has_ring && dir != PW_DIR_OUT ? pw_packet_bytes_put(&p->ring, data, offset, caplen, origlen, r[PW_REC_LINK_TYPE]) : -1;
          pw_matcher_observe(m, &s);
        }
      }
    }
  }
}


/*
 * Records run in groups of PW_RUN_GROUP, in three passes, so that the cache misses of one record
 * overlap with the work on the others: (1) decode, find the interface, fingerprint, and ask for the
 * flow's bucket and the open packet's bucket; (2) ask for the flow slot that bucket names; (3) the
 * stages proper, record by record in order, exactly as one record at a time would run them. The
 * first pass stops the group where the old loop would have stopped (an interface to register, the
 * undecoded list full), so no record past a stop is decoded and its events are never counted.
 */
size_t pw_pipeline_run(pw_pipeline *p, const uint8_t *data, size_t data_length, const uint32_t *meta, const double *ts_ms, size_t start, size_t count,
                       int64_t *need_ifindex, int32_t *need_hatype) {
  double *stats = p->stats;
  uint64_t events_before[PW_DECODE_EVENT_COUNT];
  pending_record pending[PW_RUN_GROUP];
  if (!p->views_ready) {
    for (uint32_t j = 0; j < PW_RUN_GROUP; j++) pw_view_init(&p->views[j]);
    p->views_ready = true;
  }
  p->undecoded_count = 0;
  for (size_t base = start; base < count;) {
    size_t n = count - base < PW_RUN_GROUP ? count - base : PW_RUN_GROUP;
    // Where this group ends early, and what the caller gets back then.
    bool stop = false;
    size_t resume = 0;
    uint32_t undecoded_after = p->undecoded_count;
    for (size_t j = 0; j < n; j++) {
      size_t i = base + j;
      const uint32_t *r = meta + i * PW_REC_WORDS;
      size_t offset = r[PW_REC_OFFSET], caplen = r[PW_REC_CAPLEN];
      if (offset > data_length || caplen > data_length - offset) { // the caller's bounds are wrong: never read past them
        n = j;
        stop = true;
        resume = i;
        break;
      }
      pw_view *view = &p->views[j];
      pending_record *x = &pending[j];
      int64_t iface = r[PW_REC_IFACE] == 0xffffffffu ? -1 : (int64_t)r[PW_REC_IFACE];
      // A record whose interface may be unknown is decoded with its events set aside, so that stopping
      // before it (for JavaScript to register its interface) leaves no trace.
      if (iface < 0) memcpy(events_before, p->decoder.events, sizeof events_before);
      x->status = pw_decode(&p->decoder, view, data, offset, caplen, r[PW_REC_LINK_TYPE]);
      if (iface < 0) {
        iface = iface_for_ifindex(p, r[PW_REC_BINDING], view->linux_ifindex);
        if (iface < 0) {
          memcpy(p->decoder.events, events_before, sizeof events_before);
          *need_ifindex = view->linux_ifindex;
          *need_hatype = view->linux_hatype;
          n = j;
          stop = true;
          resume = i;
          break;
        }
      }
      x->iface = iface;
      bool known = iface < p->registry.iface_count;
      x->analysed = known && !p->registry.iface_skipped[iface];
      x->flow_bucket = 0;
      bool sighting = x->status != PW_STATUS_NOT_IP && x->status != PW_STATUS_UNDECODED_TUNNEL && view->ip_version != 0 && x->analysed;
      if (sighting) {
        x->dir = r[PW_REC_DIRECTION];
        x->dir_source = x->dir == PW_DIR_UNKNOWN ? 0 : SOURCE_PCAPNG_FLAGS;
        if (x->dir == PW_DIR_UNKNOWN && view->linux_packet_type >= 0) {
          x->dir = view->linux_packet_type == PACKET_OUTGOING ? PW_DIR_OUT : PW_DIR_IN;
          x->dir_source = SOURCE_LINUX_PACKET_TYPE;
        }
        x->fingerprint = pw_fingerprint(view, data);
        x->flow_bucket = pw_flow_table_prefetch(&p->flows, view, (uint32_t)iface, x->dir);
        pw_matcher *m = p->matchers[p->registry.iface_node[iface]];
        if (m != NULL) pw_hash_index_prefetch(&m->open.by_fingerprint, x->fingerprint);
      }
      // The old loop returned after the record that filled the undecoded list: so does this group.
      if (view->undecoded_tunnel != PW_UNDECODED_NONE && x->analysed && ++undecoded_after == p->undecoded_max) {
        n = j + 1;
        stop = true;
        resume = i + 1;
        break;
      }
    }
    for (size_t j = 0; j < n; j++) pw_flow_table_prefetch_slot(&p->flows, pending[j].flow_bucket);
    for (size_t j = 0; j < n; j++) run_record(p, data, meta + (base + j) * PW_REC_WORDS, ts_ms[base + j], base + j, &p->views[j], &pending[j], stats);
    if (stop) return resume;
    base += n;
  }
  return count;
}
