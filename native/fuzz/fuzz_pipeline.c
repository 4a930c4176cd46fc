/*
 * libFuzzer target for the whole pipeline (sighting_pipeline.c): the input is a tiny configuration
 * and a short sequence of records, run as blocks through decode -> fingerprint -> flow table ->
 * hop matcher with expiry, takes and flushes, then destroyed (test/native/sanitizers.test.ts builds
 * it with -fsanitize=fuzzer,address,undefined and seeds it with runs of fixture records).
 *
 * Input: 4 configuration bytes (open packets 4/8/16, sightings 3-16, groups 3-16; nodes 1-4, packet
 * bytes ring on/off, tunnel hop sampling, flow table of 4/8/16 slots), then records: a selector byte
 * (low 3 bits: link type, pw_fuzz_link_types' order; bits 3-6: interface id, 15 meaning "by
 * ifindex"; bit 7: the block ends after this record), a time step in ms, a length (u16 LE, cut to
 * what is left), the bytes. A block whose last time step has bit 3 set also hands its records'
 * bytes to node 0 as kernel drop events (pw_pipeline_kernel_drops: hostile event bytes, and drops
 * that match the very packets the block carried when they are raw IP).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/drop_event.h"
#include "engine/sighting_pipeline.h"
#include "fuzz/pipeline_reads.h"

#define MAX_RECORDS 64u
#define IFACES 6u

static const uint32_t link_types[8] = {0, 1, 101, 108, 113, 228, 229, 276};

/* The block's records as the BPF program would report their drops. */
static void kernel_drops(pw_pipeline *p, const uint8_t *data, const uint32_t *meta, size_t n, uint8_t reason, double now) {
  static struct pw_drop_event events[MAX_RECORDS];
  pw_matcher *m = pw_pipeline_matcher(p, 0);
  if (m == NULL) abort();
  for (size_t i = 0; i < n; i++) {
    const uint32_t *r = meta + i * PW_REC_WORDS;
    struct pw_drop_event *e = &events[i];
    memset(e, 0xa5, sizeof *e);
    e->location = 0xffffffff81000000ull + i;
    e->reason = reason;
    e->protocol = (i & 1) ? 0xdd86 : 0x0008;
    e->copied = (unsigned short)(r[PW_REC_CAPLEN] < PW_DROP_HEADER_BYTES ? r[PW_REC_CAPLEN] : PW_DROP_HEADER_BYTES);
    if (reason & 1) e->copied = (unsigned short)(e->copied + 7); /* a hostile count: past what was copied */
    memcpy(e->bytes, data + r[PW_REC_OFFSET], r[PW_REC_CAPLEN] < PW_DROP_HEADER_BYTES ? r[PW_REC_CAPLEN] : PW_DROP_HEADER_BYTES);
  }
  size_t got = pw_pipeline_kernel_drops(p, m, (const uint8_t *)events, n, sizeof events[0], now);
  if (got > n) abort();
}

static void run(pw_pipeline *p, const uint8_t *data, size_t size, uint32_t *meta, const double *ts, size_t n) {
  size_t start = 0;
  unsigned stops = 0;
  while (start < n) {
    int64_t ifindex = -1;
    int32_t hatype = -1;
    size_t next = pw_pipeline_run(p, data, size, meta, ts, start, n, &ifindex, &hatype);
    if (next > n || next < start) abort();
    if (next == n) break;
    if (p->undecoded_count < p->undecoded_max) {
      uint32_t *r = meta + next * PW_REC_WORDS;
      uint32_t iface = (uint32_t)(stops % (IFACES + 1));
      if (ifindex < 0 || ifindex >= PW_MAX_IFINDEX || !pw_pipeline_set_ifindex(p, r[PW_REC_BINDING], (uint32_t)ifindex, iface)) r[PW_REC_IFACE] = iface;
      if (++stops > 4 * MAX_RECORDS) abort();
    }
    start = next;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size) {
  if (size < 4) return 0;
  pw_pipeline_config c = {
      .matcher = {.window_ms = 1 + (in[3] >> 5), .max_groups = 3 + in[2] % 14u, .tunnel_hop_sample = (in[3] & 8) ? 2 : -1,
                  .open_capacity = 4u << (in[0] % 3u), .sighting_capacity = 3 + in[1] % 14u},
      .sample_one_in = 0,
      .packet_bytes_slots = (in[3] & 4) ? 3 : 0,
      .packet_bytes_slot_bytes = 48,
  };
  // A flow table of 4 slots growing to 4, 8 or 16: the full-size one would cost more than an input.
  pw_pipeline *p = pw_pipeline_create_sized(&c, 4, 4u << ((in[0] >> 2) % 3u));
  if (p == NULL) abort();
  uint32_t nodes = 1 + (in[3] & 3);
  p->registry.node_count = nodes;
  p->registry.iface_count = IFACES;
  for (uint32_t i = 0; i < IFACES; i++) {
    p->registry.iface_node[i] = i % nodes;
    p->registry.iface_role[i] = (uint8_t)(i % 3);
    p->registry.node_ifaces[i % nodes]++;
  }
  p->registry.node_covers_all[0] = (in[0] >> 4) & 1;

  const uint8_t *data = in + 4;
  size_t left = size - 4, at = 0, n = 0;
  uint32_t meta[MAX_RECORDS * PW_REC_WORDS];
  double ts[MAX_RECORDS];
  double now = 1.7e12;
  while (left - at >= 4 && n < MAX_RECORDS) {
    uint8_t sel = data[at], step = data[at + 1];
    size_t len = (size_t)data[at + 2] | ((size_t)data[at + 3] << 8);
    at += 4;
    if (len > left - at) len = left - at;
    uint32_t *r = meta + n * PW_REC_WORDS;
    uint32_t lt = link_types[sel & 7], iface = (sel >> 3) & 15;
    r[PW_REC_OFFSET] = (uint32_t)at;
    r[PW_REC_CAPLEN] = (uint32_t)len;
    r[PW_REC_ORIGLEN] = (uint32_t)len + (step & 1);
    r[PW_REC_LINK_TYPE] = lt;
    r[PW_REC_IFACE] = iface == 15 ? 0xffffffffu : iface; /* ids 6-14: not registered */
    r[PW_REC_DIRECTION] = step % 3;
    r[PW_REC_BINDING] = 0;
    now += step / 4.0;
    ts[n++] = now;
    at += len;
    if (sel & 0x80) {
      if (step & 8) kernel_drops(p, data, meta, n, step, now);
      run(p, data, left, meta, ts, n);
      for (uint32_t k = 0; k < PW_MAX_NODES; k++)
        if (p->matchers[k] != NULL) pw_matcher_expire(p->matchers[k], now);
      if (step & 2) pw_fuzz_take_and_reset(p);
      if (step & 4) pw_flow_table_flush(&p->flows, pw_fuzz_on_flow_record, NULL);
      // The next block starts at the next record.
      data += at;
      left -= at;
      at = 0;
      n = 0;
    }
  }
  run(p, data, left, meta, ts, n);
  for (uint32_t k = 0; k < PW_MAX_NODES; k++)
    if (p->matchers[k] != NULL) pw_matcher_expire_all(p->matchers[k], now + 1e6);
  pw_fuzz_take_and_reset(p);
  pw_flow_table_flush(&p->flows, pw_fuzz_on_flow_record, NULL);
  pw_pipeline_destroy(p);
  return 0;
}
