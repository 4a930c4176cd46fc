/* Within-node matching: see hop_matcher.h. */
#include "engine/hop_matcher.h"

#include <math.h>
#include <string.h>

#include "engine/direction_inference.h"
#include "engine/fingerprint.h"

/* Bounds on what waits between takes (doubles): paths, departures, arrivals. */
#define HOP_LIST_MAX ((size_t)1 << 24)

bool pw_matcher_init(pw_matcher *m, uint32_t node, const pw_matcher_config *config, const pw_matcher_env *env, uint32_t sample_slot_bytes) {
  memset(m, 0, sizeof *m);
  m->node = node;
  m->config = *config;
  m->env = *env;
  pw_f64_list_init(&m->departures, HOP_LIST_MAX);
  pw_f64_list_init(&m->arrivals, HOP_LIST_MAX);
  if (!pw_knowledge_init(&m->knowledge, PW_MAX_IFACES)) return false;
  if (!pw_groups_init(&m->groups, config->max_groups, sample_slot_bytes, HOP_LIST_MAX)) {
    pw_knowledge_destroy(&m->knowledge);
    return false;
  }
  if (!pw_sighting_store_init(&m->store, config->sighting_capacity)) {
    pw_groups_destroy(&m->groups);
    pw_knowledge_destroy(&m->knowledge);
    return false;
  }
  if (!pw_open_packets_init(&m->open, config->open_capacity)) {
    pw_sighting_store_destroy(&m->store);
    pw_groups_destroy(&m->groups);
    pw_knowledge_destroy(&m->knowledge);
    return false;
  }
  pw_kernel_drops_init(&m->kernel_drops, PW_KERNEL_DROPS_CAPACITY, PW_KERNEL_DROPS_KEEP_MS + config->window_ms);
  return true;
}

void pw_matcher_destroy(pw_matcher *m) {
  pw_kernel_drops_destroy(&m->kernel_drops);
  pw_open_packets_destroy(&m->open);
  pw_sighting_store_destroy(&m->store);
  pw_groups_destroy(&m->groups);
  pw_knowledge_destroy(&m->knowledge);
  pw_f64_list_destroy(&m->departures);
  pw_f64_list_destroy(&m->arrivals);
}

void pw_matcher_reset_taken(pw_matcher *m) {
  for (int i = 0; i < PW_COUNTERS; i++) m->counters[i] = 0;
  pw_groups_clear(&m->groups);
  m->groups.overflow = 0;
  m->departures.len = 0;
  m->arrivals.len = 0;
}

/* writeMac: the 48-bit MAC at data[o], or -1. */
static int64_t read_mac(const uint8_t *data, int64_t o) {
  if (o < 0) return -1;
  int64_t mac = 0;
  for (int i = 0; i < 6; i++) mac = (mac << 8) | data[o + i];
  return mac;
}

static bool sampled_for_tunnel_hops(const pw_matcher *m, uint64_t fingerprint) {
  double sample = m->config.tunnel_hop_sample;
  return sample > 0 && fmod((double)fingerprint, sample) == 0;
}

static bool reports_tunnel_hops(const pw_matcher *m, uint64_t fingerprint) {
  if (m->config.tunnel_hop_sample >= 0) return sampled_for_tunnel_hops(m, fingerprint);
  return m->env.registry->node_count > 1;
}

static bool is_tunnel(const pw_matcher *m, uint32_t iface) { return pw_registry_is_tunnel(m->env.registry, iface); }

static void write_sighting(pw_sighting_rec *r, pw_sighting_outer *outer, const pw_sighting_in *s) {
  const pw_view *v = s->view;
  r->iface = s->iface;
  r->bytes_seq = s->bytes_seq;
  r->ts = s->ts;
  r->mac_src = read_mac(s->data, v->mac_src_offset);
  r->mac_dst = read_mac(s->data, v->mac_dst_offset);
  r->length = s->length;
  r->flow_slot = s->flow_slot;
  r->dir = (uint8_t)s->dir;
  r->dir_source = s->dir == PW_DIR_UNKNOWN ? 0 : (uint8_t)s->dir_source;
  r->ttl = (uint8_t)v->ttl;
  int32_t pt = v->linux_packet_type;
  // Broadcast, multicast, or a frame for another host (PACKET_OTHERHOST, seen in promiscuous
  // mode): the kernel does not forward these, so their missing exit means nothing.
  r->link_group = (uint8_t)(v->mac_dst_group | (pt == 1 || pt == 2 || pt == 3 ? 1 : 0));
  r->weak = s->weak ? 1 : 0;
  r->encap_depth = (uint8_t)v->encap_depth;
  if (v->encap_depth == 0) {
    r->encap_kind = 0;
    return;
  }
  r->encap_kind = v->encap_kind[0];
  r->outer_version = v->encap_outer_version[0];
  r->vni = v->encap_vni[0];
  // As sighting-store.ts keeps them: the first word for IPv4, all four for IPv6.
  bool six = r->outer_version == 6;
  for (int k = 0; k < 4; k++) {
    outer->src[k] = k == 0 || six ? v->encap_outer_src[k] : 0;
    outer->dst[k] = k == 0 || six ? v->encap_outer_dst[k] : 0;
  }
}

/* countStage: keeps the entry's stage counts; a packet that arrived and left is released at once. */
static void count_stage(pw_matcher *m, int32_t e, uint32_t dir, bool encap, uint32_t iface) {
  pw_open_entry *x = &m->open.e[e];
  uint8_t *st = x->stages;
  if (dir == PW_DIR_OUT && st[0] == 0 && st[1] == 0 && st[2] == 0) return;
  int b = (dir == PW_DIR_OUT ? 3 : 0) + (encap ? 2 : is_tunnel(m, iface) ? 1 : 0);
  if (st[b] < 255) st[b]++;
  int in_tunnel = st[1];
  int arrivals = st[0] + in_tunnel + (st[2] - in_tunnel > 0 ? st[2] - in_tunnel : 0);
  int out_tunnel = st[4];
  int departures = st[3] + out_tunnel + (st[5] - out_tunnel > 0 ? st[5] - out_tunnel : 0);
  if (arrivals > 0 && departures >= arrivals) {
    for (int32_t s = x->head; s >= 0;) {
      int32_t next = m->store.rec[s].next;
      pw_sighting_release(&m->store, s);
      s = next;
    }
    pw_open_mark_resolved(&m->open, e);
    m->counters[PW_C_FORWARDED]++;
  }
}

void pw_matcher_observe(pw_matcher *m, const pw_sighting_in *s) {
  pw_open_packets *open = &m->open;
  m->counters[PW_C_SIGHTINGS]++;
  int32_t e = pw_open_find(open, s->fingerprint, s->ts, m->config.window_ms);
  if (e < 0) {
    const pw_view *v = s->view;
    e = pw_open_create(open, s->fingerprint, s->ts, v->ip_version, v->proto, v->sport, v->dport, v->src, v->dst);
    if (e < 0) {
      m->overflow.open_packets++;
      return;
    }
    // Once per packet, and only on a node whose kernel drops are matched (live, with the monitor):
    // a drop whose payload the BPF program could not read is kept by this value instead.
    if (m->kernel_drops.matching) open->e[e].header_fingerprint = pw_fingerprint_headers(v);
  } else if (open->e[e].resolved) {
    return; // already seen leaving: nothing more to learn from it
  }
  int32_t i = pw_sighting_alloc(&m->store);
  if (i < 0) {
    m->overflow.sightings++;
    return;
  }
  write_sighting(&m->store.rec[i], &m->store.outer[i], s);
  pw_open_entry *x = &open->e[e];
  if (x->tail < 0) x->head = i;
  else m->store.rec[x->tail].next = i;
  x->tail = i;
  // A packet sampled for cross-node stitching is evaluated at expiry, where its hops are reported.
  if (s->dir != PW_DIR_UNKNOWN && !s->weak && m->env.registry->node_count == 1 && !sampled_for_tunnel_hops(m, s->fingerprint))
    count_stage(m, e, s->dir, s->view->encap_depth != 0, s->iface);
}

/* Order of stages for equal timestamps: encapsulated arrival, decapsulated arrival, plain departure, encapsulated departure. */
static int stage_rank(const pw_sighting_rec *r) {
  bool encap = r->encap_depth != 0;
  if (r->dir == PW_DIR_OUT) return encap ? 3 : 2;
  return encap ? 0 : 1;
}

/* gather: the packet's sightings in time order into m->order (insertion sort); beyond 64 released. */
static uint32_t gather(pw_matcher *m, int32_t e) {
  pw_sighting_rec *rec = m->store.rec;
  int32_t *order = m->order;
  uint32_t n = 0;
  for (int32_t s = m->open.e[e].head; s >= 0;) {
    int32_t next = rec[s].next;
    if (n < PW_MAX_GROUP_SIGHTINGS) {
      uint32_t i = n++;
      double ts = rec[s].ts;
      int rank = stage_rank(&rec[s]);
      while (i > 0) {
        int32_t p = order[i - 1];
        double pts = rec[p].ts;
        // Equal timestamps (microsecond captures) keep the kernel's order of stages.
        if (pts < ts || (pts == ts && stage_rank(&rec[p]) <= rank)) break;
        order[i] = p;
        i--;
      }
      order[i] = s;
    } else {
      pw_sighting_release(&m->store, s);
    }
    s = next;
  }
  return n;
}

static void release_all(pw_matcher *m, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) pw_sighting_release(&m->store, m->order[i]);
}

/* isNonUnicastOrLinkLocal (core/net/address.ts). */
static bool non_unicast(uint32_t version, const uint32_t *w) {
  if (version == 4) {
    uint32_t a = w[0] >> 24;
    if (a >= 224 || a == 0 || a == 127) return true;
    return (w[0] >> 16) == 0xa9fe;
  }
  if (version == 6) {
    if ((w[0] >> 24) == 0xff || (w[0] >> 22) == 0x3fa) return true;
    return w[0] == 0 && w[1] == 0 && w[2] == 0 && (w[3] == 0 || w[3] == 1);
  }
  return true;
}

static void infer_directions(pw_matcher *m, uint32_t n, uint64_t src_key, uint64_t dst_key) {
  pw_sighting_store *store = &m->store;
  uint32_t unknown = 0;
  for (uint32_t i = 0; i < n; i++) {
    int32_t s = m->order[i];
    if (store->rec[s].dir == PW_DIR_UNKNOWN && pw_infer_from_knowledge(store, s, &m->knowledge, src_key, dst_key) == PW_DIR_UNKNOWN) unknown++;
  }
  if (unknown > 0 && n > 1) pw_infer_from_hop_order(store, m->order, n, m->env.registry, &m->knowledge);
  for (uint32_t i = 0; i < n; i++) {
    const pw_sighting_rec *r = &store->rec[m->order[i]];
    if (pw_flow_table_set_direction(m->env.flows, r->flow_slot, r->dir))
      pw_knowledge_learn_from_flow(&m->knowledge, m->env.flows, (uint32_t)r->flow_slot, pw_registry_is_pod_or_tunnel(m->env.registry, r->iface));
  }
}

typedef struct stage_tally {
  int in_plain, in_tunnel, in_encap, out_plain, out_tunnel, out_encap, out_first, unknown;
  int32_t last_arrival;
  bool strong_arrival;
  uint32_t link_group;
} stage_tally;

static void count_stages(const pw_matcher *m, uint32_t n, stage_tally *t) {
  const pw_sighting_rec *rec = m->store.rec;
  memset(t, 0, sizeof *t);
  t->last_arrival = -1;
  for (uint32_t i = 0; i < n; i++) {
    int32_t s = m->order[i];
    const pw_sighting_rec *r = &rec[s];
    bool encap = r->encap_depth != 0;
    bool tunnel = !encap && is_tunnel(m, r->iface);
    if (r->dir == PW_DIR_IN) {
      if (encap) t->in_encap++;
      else if (tunnel) t->in_tunnel++;
      else t->in_plain++;
      // The packet vanished after its last arrival; a decapsulated arrival comes after its
      // encapsulated twin, whatever the timestamps say.
      if (t->last_arrival < 0 || !encap || rec[t->last_arrival].encap_depth != 0) t->last_arrival = s;
      if (!r->weak) t->strong_arrival = true;
      t->link_group |= r->link_group;
    } else if (r->dir == PW_DIR_OUT) {
      // Departures count only after the packet arrived (time order): before, the node sent it.
      if (t->last_arrival < 0) t->out_first++;
      else if (encap) t->out_encap++;
      else if (tunnel) t->out_tunnel++;
      else t->out_plain++;
    } else {
      t->unknown++;
    }
  }
}

/* Appends sighting s as a hop (PW_HOP_WORDS) at h. */
static void write_hop(const pw_matcher *m, int32_t s, double *h) {
  const pw_sighting_rec *r = &m->store.rec[s];
  const pw_sighting_outer *o = &m->store.outer[s];
  bool encap = r->encap_depth != 0;
  h[0] = r->iface;
  h[1] = r->dir;
  h[2] = r->dir_source;
  h[3] = r->ts;
  h[4] = encap ? r->encap_kind : -1;
  h[5] = r->outer_version;
  for (int k = 0; k < 4; k++) {
    h[6 + k] = encap ? o->src[k] : 0;
    h[10 + k] = encap ? o->dst[k] : 0;
  }
  h[14] = r->vni;
  h[15] = r->ttl;
  h[16] = r->length;
  h[17] = 0;
}

/* The current packet's sightings as hops into list l (count first); false when it is full. */
static bool write_path(pw_matcher *m, uint32_t n, pw_f64_list *l) {
  double *h = pw_f64_list_push(l, (size_t)n * PW_HOP_WORDS);
  if (h == NULL) {
    m->overflow.hops++;
    return false;
  }
  for (uint32_t i = 0; i < n; i++) write_hop(m, m->order[i], h + (size_t)i * PW_HOP_WORDS);
  return true;
}

/*
 * Appends a tunnel hop's first words, shared by arrivals and departures: the fingerprint, the outer
 * IP version, the far node's address (the outer source of an arrival, the outer destination of a
 * departure) and the time. NULL, counted as a hop overflow, when the list is full.
 */
static double *push_hop(pw_matcher *m, pw_f64_list *list, size_t words, const pw_open_entry *x, const pw_sighting_rec *r, const uint32_t *far_node) {
  double *h = pw_f64_list_push(list, words);
  if (h == NULL) {
    m->overflow.hops++;
    return NULL;
  }
  h[0] = (double)x->fingerprint;
  h[1] = r->outer_version;
  for (int k = 0; k < 4; k++) h[2 + k] = far_node[k];
  h[6] = r->ts;
  return h;
}

static void report_tunnel_hops(pw_matcher *m, int32_t e, uint32_t n) {
  const pw_open_entry *x = &m->open.e[e];
  for (uint32_t i = 0; i < n; i++) {
    int32_t s = m->order[i];
    const pw_sighting_rec *r = &m->store.rec[s];
    const pw_sighting_outer *o = &m->store.outer[s];
    if (r->encap_depth == 0) continue;
    if (r->dir == PW_DIR_IN) {
      push_hop(m, &m->arrivals, PW_ARRIVAL_WORDS, x, r, o->src);
    } else if (r->dir == PW_DIR_OUT) {
      size_t at = m->departures.len;
      double *d = push_hop(m, &m->departures, PW_DEPARTURE_HEAD, x, r, o->dst);
      if (d == NULL) continue;
      d[7] = x->ip_version;
      for (int k = 0; k < 4; k++) {
        d[8 + k] = x->src[k];
        d[12 + k] = x->dst[k];
      }
      d[16] = x->proto;
      d[17] = x->sport;
      d[18] = x->dport;
      d[19] = n;
      d[20] = 0;
      if (!write_path(m, n, &m->departures)) m->departures.len = at;
    }
  }
}

/*
 * The packet's own kernel drop event, if the agent handed one over: counted by its reason. By the
 * whole fingerprint, else by the headers' (a drop whose payload lay outside the bytes copied).
 */
static void count_kernel_drop(pw_matcher *m, pw_group *g, const pw_open_entry *x, double count) {
  const pw_kernel_drop *d = pw_kernel_drops_match(&m->kernel_drops, x->fingerprint);
  if (d == NULL && x->header_fingerprint != 0) d = pw_kernel_drops_match(&m->kernel_drops, x->header_fingerprint);
  if (d == NULL) return;
  for (uint32_t i = 0; i < g->kernel_reasons; i++) {
    if (g->kernel_reason[i] == d->reason) {
      g->kernel_packets[i] += count;
      return;
    }
  }
  if (g->kernel_reasons < PW_GROUP_KERNEL_REASONS) {
    uint32_t i = g->kernel_reasons++;
    g->kernel_reason[i] = d->reason;
    g->kernel_packets[i] = count;
    g->kernel_location[i] = d->location;
    return;
  }
  g->kernel_other += count;
}

static void add_candidate(pw_matcher *m, int32_t e, uint32_t n, int32_t arrival, double count, bool uncertain) {
  const pw_open_entry *x = &m->open.e[e];
  const pw_sighting_rec *r = &m->store.rec[arrival];
  m->counters[PW_C_VANISH_CANDIDATES] += count;
  pw_group key;
  memset(&key, 0, sizeof key);
  key.iface = r->iface;
  key.ip_version = x->ip_version;
  memcpy(key.src, x->src, sizeof key.src);
  memcpy(key.dst, x->dst, sizeof key.dst);
  key.proto = x->proto;
  key.sport = x->sport;
  key.dport = x->dport;
  key.uncertain = uncertain ? 1 : 0;
  pw_group_hash(&key);
  double ts = r->ts;
  pw_candidate_groups *groups = &m->groups;
  pw_group *g = pw_groups_find(groups, &key);
  pw_packet_bytes sample = {0};
  if (g != NULL) {
    g->packets += count;
    if (ts < g->first_seen) g->first_seen = ts;
    if (ts > g->last_seen) g->last_seen = ts;
    if (g->fingerprint_count < PW_SAMPLE_FINGERPRINTS) g->fingerprints[g->fingerprint_count++] = (double)x->fingerprint;
    count_kernel_drop(m, g, x, count);
    // The first packet's bytes may have been overwritten on a busy node; a later one's will do.
    if (!g->has_sample && m->env.packet_bytes != NULL && pw_packet_bytes_get(m->env.packet_bytes, r->bytes_seq, &sample)) {
      uint32_t slot = (uint32_t)(g - groups->groups);
      uint32_t len = sample.length < groups->sample_slot_bytes ? sample.length : groups->sample_slot_bytes;
      memcpy(groups->sample_bytes + (size_t)slot * groups->sample_slot_bytes, sample.bytes, len);
      g->has_sample = 1;
      g->sample_length = len;
      g->sample_orig_len = sample.orig_len;
      g->sample_link_type = sample.link_type;
      g->sample_ts = ts;
    }
    return;
  }
  bool has_sample = m->env.packet_bytes != NULL && pw_packet_bytes_get(m->env.packet_bytes, r->bytes_seq, &sample);
  key.packets = count;
  key.first_seen = ts;
  key.last_seen = ts;
  key.fingerprints[0] = (double)x->fingerprint;
  key.fingerprint_count = 1;
  key.mac_src = r->mac_src;
  key.mac_dst = r->mac_dst;
  g = pw_groups_add(groups, &key);
  if (g == NULL) {
    groups->overflow += count;
    return;
  }
  count_kernel_drop(m, g, x, count);
  size_t at = groups->hops.len;
  if (write_path(m, n, &groups->hops)) {
    g->path_at = (uint32_t)(at / PW_HOP_WORDS);
    g->path_hops = n;
  }
  if (has_sample) {
    uint32_t slot = (uint32_t)(g - groups->groups);
    uint32_t len = sample.length < groups->sample_slot_bytes ? sample.length : groups->sample_slot_bytes;
    memcpy(groups->sample_bytes + (size_t)slot * groups->sample_slot_bytes, sample.bytes, len);
    g->has_sample = 1;
    g->sample_length = len;
    g->sample_orig_len = sample.orig_len;
    g->sample_link_type = sample.link_type;
    g->sample_ts = ts;
  }
}

static void evaluate(pw_matcher *m, int32_t e, bool judgeable) {
  m->counters[PW_C_PACKETS]++;
  const pw_open_entry *x = &m->open.e[e];
  if (x->resolved) return; // forwarded, counted when it was seen leaving
  uint32_t n = gather(m, e);
  uint32_t v = x->ip_version;
  if (non_unicast(v, x->dst) || non_unicast(v, x->src)) {
    m->counters[PW_C_NOT_UNICAST]++;
    release_all(m, n);
    return;
  }
  uint64_t src_key = pw_address_key(v, x->src);
  uint64_t dst_key = pw_address_key(v, x->dst);
  infer_directions(m, n, src_key, dst_key);
  stage_tally t;
  count_stages(m, n, &t);
  bool tunnel_hops = reports_tunnel_hops(m, x->fingerprint);
  int arrivals = t.in_plain + t.in_tunnel + (t.in_encap - t.in_tunnel > 0 ? t.in_encap - t.in_tunnel : 0);
  int departures = t.out_plain + t.out_tunnel + (t.out_encap - t.out_tunnel > 0 ? t.out_encap - t.out_tunnel : 0);
  const pw_sighting_rec *rec = m->store.rec;
  const pw_node_registry *registry = m->env.registry;
  if (t.out_first > 0) {
    // Sent by the node before anything arrived; an arrival after it is the packet coming back.
    m->counters[PW_C_ORIGINATED]++;
    for (uint32_t i = 0; i < n; i++) {
      const pw_sighting_rec *r = &rec[m->order[i]];
      if (r->dir == PW_DIR_IN) break;
      if (r->dir == PW_DIR_OUT && pw_flow_table_mark_originated(m->env.flows, r->flow_slot))
        pw_knowledge_learn_originated(&m->knowledge, m->env.flows, (uint32_t)r->flow_slot, registry->node_covers_all[m->node] != 0);
    }
  }
  if (arrivals == 0) {
    // Originated (counted above), or seen only where nothing tells its direction (below).
  } else if (arrivals > departures) {
    double missing = arrivals - departures;
    if (t.link_group != 0) m->counters[PW_C_NOT_UNICAST]++;
    else if (pw_knowledge_is_local(&m->knowledge, dst_key) || pw_knowledge_is_local(&m->knowledge, src_key)) m->counters[PW_C_LOCAL] += missing;
    else if (!t.strong_arrival) m->counters[PW_C_TRUNCATED_UNJUDGED] += missing;
    else if (!judgeable) m->counters[PW_C_CAPTURE_ENDED_UNJUDGED] += missing;
    else add_candidate(m, e, n, t.last_arrival, missing, false);
  } else {
    m->counters[PW_C_FORWARDED]++;
  }
  if (arrivals == 0 && t.out_first == 0 && t.unknown > 0) {
    // Seen only where nothing tells which way it went: a candidate to judge later, if the node has
    // more than one captured interface (otherwise nothing here can be missing a hop).
    m->counters[PW_C_DIRECTION_UNKNOWN]++;
    int32_t last = m->order[n - 1];
    if (judgeable && !rec[last].weak && (registry->node_covers_all[m->node] || registry->node_ifaces[m->node] > 1)) add_candidate(m, e, n, last, 1, true);
  }
  if (tunnel_hops) report_tunnel_hops(m, e, n);
  release_all(m, n);
}

/*
 * Entries leave in creation order, a window after they came: by then their lines are cold. Asks for
 * the entry EXPIRE_AHEAD places further in the queue, and, for the one half as far (whose line was
 * asked for before), for its first sighting and its fingerprint's bucket. Hints only.
 */
#define EXPIRE_AHEAD 16u
static void prefetch_expiring(const pw_matcher *m) {
  const pw_open_packets *t = &m->open;
  uint32_t mask = t->capacity - 1;
  if (EXPIRE_AHEAD < t->fifo_count) __builtin_prefetch(&t->e[t->fifo[(t->fifo_head + EXPIRE_AHEAD) & mask]]);
  if (EXPIRE_AHEAD / 2 < t->fifo_count) {
    const pw_open_entry *x = &t->e[t->fifo[(t->fifo_head + EXPIRE_AHEAD / 2) & mask]];
    if (x->head >= 0) __builtin_prefetch(&m->store.rec[x->head]);
    pw_hash_index_prefetch(&t->by_fingerprint, x->fingerprint);
  }
}

void pw_matcher_expire(pw_matcher *m, double watermark) {
  double bound = watermark - m->config.window_ms;
  for (int32_t e = pw_open_oldest(&m->open); e >= 0 && m->open.e[e].first_ts < bound; e = pw_open_oldest(&m->open)) {
    prefetch_expiring(m);
    evaluate(m, e, true);
    pw_open_remove_oldest(&m->open);
  }
}

void pw_matcher_expire_all(pw_matcher *m, double end_ts) {
  double horizon = end_ts - m->config.window_ms;
  for (int32_t e = pw_open_oldest(&m->open); e >= 0; e = pw_open_oldest(&m->open)) {
    prefetch_expiring(m);
    evaluate(m, e, m->open.e[e].first_ts <= horizon);
    pw_open_remove_oldest(&m->open);
  }
}
