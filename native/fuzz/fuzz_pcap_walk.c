/*
 * libFuzzer target for the walk over a chunk of pcap records (pcap_walk.c: pw_pipeline_walk),
 * the engine's entry point for untrusted bytes: record headers are parsed in C and the records run
 * straight through the pipeline. The loop around it is the JavaScript caller's
 * (agent/native/native-sighting-pipeline.ts, walkPcap): an ifindex stop registers the ifindex and
 * walks on, an interval stop flushes flows and takes findings and sets the next interval, an
 * undecoded-list stop walks on, the end or an absurd length stops. Every stop is checked against
 * the bytes, walked again here header by header, and any mismatch aborts with "invariant broken"
 * (test/native/sanitizers.test.ts builds it with -fsanitize=fuzzer,address,undefined and seeds it
 * with runs of fixture records written as pcap streams).
 *
 * Input: 8 configuration bytes, then the stream: hostile pcap records (16-byte header: ts sec, ts
 * frac, then caplen and origlen in the format's length order; then the bytes), laid out 1 to 512
 * times back to back (fewer past CHUNK_MAX bytes), so that a short input still walks past the
 * walk's batches of 256 records and fills its undecoded list.
 *   0-3  the pipeline's bounds, as fuzz_pipeline.c reads its 4 bytes
 *   4    bit 0: little-endian; bit 1: nanosecond; bits 2-3: length order (standard, swapped,
 *        maybe-swapped; 3 is standard); bits 4-6: link type (fuzz_pipeline.c's order); bit 7: an
 *        SLL2 stream's interface per packet (its ifindex), as both callers walk an `any` capture
 *   5    bit 0: clock on; bits 1-2: step 1-4 ms; bit 3: list undecoded tunnel records; bit 4:
 *        binding 0 or the last one; bits 5-7: the stream's fixed interface id (6 and 7: ids the
 *        registry does not know)
 *   6    bits 0-5: the clock's interval, 2 to 50 ms; bits 6-7: copies of the records (1, 8, 64, 512)
 *   7    0: the stream in one chunk; else chunks of 37 times that many bytes (at least 1/64 of the
 *        stream), as pcap-reader.ts hands over a file read in pieces: the first chunk starts after
 *        a 24-byte file header, and a record cut by a chunk's end is carried to the next one. The
 *        walks over the chunks must end where one walk over the whole stream would, with the same
 *        records.
 *
 * After an ifindex stop the record's interface goes back with the next call (format.first_iface),
 * as walkPcap does: an ifindex the engine cannot map (negative: an SLL2 header cut short; 65536 or
 * more) must not stop the walk at that record again (it once did, forever: this target found it).
 */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/pcap_walk.h"
#include "fuzz/pipeline_reads.h"

#define CONFIG_BYTES 8u
#define CHUNK_MAX (512u * 1024u)
#define IFACES 6u
#define NO_IFACE 0xffffffffu

static void fail(const char *what, size_t pos) {
  fprintf(stderr, "pw_fuzz_pcap_walk: invariant broken: %s (at byte %zu)\n", what, pos);
  abort();
}

static const uint32_t link_types[8] = {0, 1, 101, 108, 113, 228, 229, 276};

static uint32_t read_u32(const uint8_t *b, bool little_endian) {
  return little_endian ? (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24
                       : (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

/* A record header as pcap-reader.ts reads it, written again here (not pcap_walk.c's code) so the walk is checked against it. */
typedef struct header {
  uint32_t caplen, origlen;
  double ts_ms;
} header;

static header parse_header(const uint8_t *h, const pw_walk_format *f) {
  uint32_t first = read_u32(h + 8, f->little_endian), second = read_u32(h + 12, f->little_endian);
  bool swapped = f->length_order == PW_LENGTHS_SWAPPED || (f->length_order == PW_LENGTHS_MAYBE_SWAPPED && first > second);
  uint64_t per_second = f->nano ? 1000000000u : 1000000u;
  uint64_t frac = read_u32(h + 4, f->little_endian);
  // A sub-second field past one second carries into the seconds.
  double sec = (double)read_u32(h, f->little_endian) + (double)(frac / per_second);
  double nsec = (double)(frac % per_second) * (f->nano ? 1 : 1000);
  return (header){.caplen = swapped ? second : first, .origlen = swapped ? first : second, .ts_ms = sec * 1000 + nsec / 1e6};
}

/* What the chunk holds at `at`: the end (no header), a record cut by the end, an absurd length, or a whole record. */
typedef enum { AT_NO_HEADER, AT_CUT, AT_BAD_CAPLEN, AT_RECORD } at_kind;

static at_kind record_at(const uint8_t *chunk, size_t length, size_t at, const pw_walk_format *f, header *out) {
  if (at > length || length - at < PW_PCAP_RECORD_HEADER) return AT_NO_HEADER;
  *out = parse_header(chunk + at, f);
  if (out->caplen > PW_PCAP_MAX_CAPLEN) return AT_BAD_CAPLEN;
  if (length - at - PW_PCAP_RECORD_HEADER < out->caplen) return AT_CUT;
  return AT_RECORD;
}

/* The records between two stops: where each starts (room for one per header's length of the chunk), and their times. */
typedef struct walked {
  size_t count;
  size_t *starts;
  double first_ts, last_ts;
} walked;

/* Walks whole records from `from` up to `to`, which must be a record boundary. */
static void walk_headers(const uint8_t *chunk, size_t length, size_t from, size_t to, const pw_walk_format *f, walked *w) {
  w->count = 0;
  w->first_ts = INFINITY;
  w->last_ts = -INFINITY;
  for (size_t at = from; at < to;) {
    header h;
    if (record_at(chunk, length, at, f, &h) != AT_RECORD) fail("the walk went past a record that is not whole", at);
    w->starts[w->count++] = at;
    if (h.ts_ms < w->first_ts) w->first_ts = h.ts_ms;
    if (h.ts_ms > w->last_ts) w->last_ts = h.ts_ms;
    at += PW_PCAP_RECORD_HEADER + (size_t)h.caplen;
    if (at > to) fail("the walk stopped inside a record", to);
  }
}

static bool is_walked_start(const walked *w, size_t start) {
  size_t lo = 0, hi = w->count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (w->starts[mid] == start) return true;
    if (w->starts[mid] < start) lo = mid + 1;
    else hi = mid;
  }
  return false;
}

/* The ifindex the pipeline must ask for at a record of an SLL2 stream (-1: its header is cut short). */
static int64_t sll2_ifindex(const uint8_t *chunk, size_t at, uint32_t caplen) {
  if (caplen < 20) return -1;
  return (int64_t)read_u32(chunk + at + PW_PCAP_RECORD_HEADER + 4, false);
}

/* Its ARPHRD hardware type, -1 likewise. */
static int32_t sll2_hatype(const uint8_t *chunk, size_t at, uint32_t caplen) {
  if (caplen < 20) return -1;
  const uint8_t *b = chunk + at + PW_PCAP_RECORD_HEADER + 8;
  return (int32_t)((uint32_t)b[0] << 8 | b[1]);
}

/* What one input's walk keeps across calls and chunks, as the JavaScript caller does. */
typedef struct walk_state {
  pw_pipeline *p;
  pw_walk_format format;
  pw_walk_clock clock;
  bool clock_on, list_undecoded, per_packet;
  /* The watermark after the last call, and how many ifindex stops there were. */
  double watermark;
  uint32_t ifindex_stops;
  /* Records walked in all. */
  double records;
  /* The ifindexes told to the engine (one bit each). */
  uint8_t registered[PW_MAX_IFINDEX / 8];
} walk_state;

/* Large (the undecoded list); one input at a time. */
static pw_walk_result result;
static walk_state state;

/* Checks one call's result against the bytes of its chunk: from `pos` to result.pos. */
static void check_call(walk_state *s, pw_walk_stop stop, const uint8_t *chunk, size_t length, size_t pos, walked *between) {
  if (result.pos < pos) fail("pos went backwards", result.pos);
  if (result.pos > length) fail("pos past the chunk", result.pos);

  // The records walked: exactly those between the two positions, their times the span reported.
  walk_headers(chunk, length, pos, result.pos, &s->format, between);
  if (result.records != (double)between->count) fail("records walked differ from the records between the stops", result.pos);
  if (result.first_ts != between->first_ts || result.last_ts != between->last_ts) fail("first or last time differs from the records walked", result.pos);

  if (result.undecoded_count > PW_WALK_UNDECODED_MAX) fail("more undecoded records than the list holds", result.pos);
  if (!s->list_undecoded && result.undecoded_count != 0) fail("undecoded records listed when not asked for", result.pos);
  for (uint32_t u = 0; u < result.undecoded_count; u++) {
    const pw_walk_undecoded *x = &result.undecoded[u];
    if ((size_t)x->offset + x->caplen > length) fail("an undecoded record outside the chunk", x->offset);
    if (x->offset < PW_PCAP_RECORD_HEADER || !is_walked_start(between, x->offset - PW_PCAP_RECORD_HEADER)) fail("an undecoded record that is not one walked", x->offset);
    header h = parse_header(chunk + x->offset - PW_PCAP_RECORD_HEADER, &s->format);
    if (h.caplen != x->caplen || h.origlen != x->origlen || h.ts_ms != x->ts_ms) fail("an undecoded record's lengths or time differ from its header", x->offset);
    if (x->iface >= IFACES) fail("an undecoded record of an interface that is not analysed", x->offset);
    if (!s->per_packet && x->iface != s->format.iface) fail("an undecoded record on another interface than the stream's", x->offset);
  }

  // The clock: off, it never moves; on, the watermark only moves forward, to a time walked, and
  // stands before the next interval unless the walk stopped for it.
  const pw_walk_clock *c = &s->clock;
  if (!s->clock_on && (stop == PW_WALK_INTERVAL || c->watermark != -INFINITY || c->next_interval != INFINITY)) fail("the clock moved while off", result.pos);
  if (c->watermark < s->watermark) fail("the watermark went backwards", result.pos);
  if (c->watermark != s->watermark && !(c->watermark >= between->first_ts && c->watermark <= between->last_ts)) fail("the watermark moved to a time not walked", result.pos);
  if ((stop == PW_WALK_INTERVAL) != (c->watermark >= c->next_interval)) fail("an interval stop without the watermark at the interval, or the reverse", result.pos);
  s->watermark = c->watermark;

  header h = {0};
  at_kind at = record_at(chunk, length, result.pos, &s->format, &h);
  switch (stop) {
    case PW_WALK_END:
      if (at != AT_NO_HEADER && at != AT_CUT) fail("an end stop before a whole record or an absurd length", result.pos);
      break;
    case PW_WALK_REFUSED:
      if (at != AT_BAD_CAPLEN) fail("a bad caplen stop at a record whose caplen is not absurd", result.pos);
      break;
    case PW_WALK_IFINDEX: {
      if (at != AT_RECORD) fail("an ifindex stop at a record that is not whole", result.pos);
      if (!s->per_packet) fail("an ifindex stop on a stream with a fixed interface", result.pos);
      int64_t ifindex = sll2_ifindex(chunk, result.pos, h.caplen);
      if (result.ifindex != ifindex) fail("an ifindex stop for another ifindex than the record's", result.pos);
      if (result.hatype != sll2_hatype(chunk, result.pos, h.caplen)) fail("an ifindex stop with another hardware type than the record's", result.pos);
      if (ifindex >= 0 && ifindex < PW_MAX_IFINDEX && (s->registered[ifindex / 8] >> (ifindex % 8) & 1)) fail("an ifindex stop for an ifindex registered before", result.pos);
      break;
    }
    case PW_WALK_INTERVAL:
    case PW_WALK_UNDECODED_FULL:
      if (result.pos == pos) fail("an interval or undecoded-list stop without a record walked", result.pos);
      if (stop == PW_WALK_UNDECODED_FULL && !s->list_undecoded) fail("an undecoded-list stop when not listing", result.pos);
      break;
    default:
      fail("an unknown stop", result.pos);
  }
}

/*
 * walkPcap over one chunk from `pos`: returns its last stop (END or REFUSED) and where, in *end_pos.
 */
static pw_walk_stop walk_chunk(walk_state *s, const uint8_t *chunk, size_t length, size_t pos, size_t *end_pos) {
  walked between = {.starts = malloc((length / PW_PCAP_RECORD_HEADER + 1) * sizeof(size_t))};
  if (between.starts == NULL) abort();
  // Each call walks a record or more, or stops once for a record's ifindex: anything more is a loop.
  const size_t max_calls = 2 * (length / PW_PCAP_RECORD_HEADER + 2) + 8;
  size_t ifindex_stop_pos = SIZE_MAX;
  pw_walk_stop stop;
  for (size_t calls = 1;; calls++) {
    if (calls > max_calls) fail("the walk loops without end", pos);
    // Filled afresh by every call (the undecoded list up to its count), or the checks see garbage.
    memset(&result, 0xa5, offsetof(pw_walk_result, undecoded));
    stop = pw_pipeline_walk(s->p, chunk, length, pos, &s->format, &s->clock, s->list_undecoded, &result);
    s->format.first_iface = PW_WALK_NO_IFACE;
    check_call(s, stop, chunk, length, pos, &between);
    s->records += result.records;
    pos = result.pos;
    if (stop == PW_WALK_END || stop == PW_WALK_REFUSED) break;
    if (stop == PW_WALK_IFINDEX) {
      // registerIfindexFor: an ifindex in range is told to the engine, as one of a few interface
      // ids (sometimes one the registry does not know); one out of range is not told at all.
      if (pos == ifindex_stop_pos) fail("a second ifindex stop at one record", pos);
      ifindex_stop_pos = pos;
      uint32_t iface = s->ifindex_stops++ % (IFACES + 2);
      if (result.ifindex >= 0 && result.ifindex < PW_MAX_IFINDEX) {
        uint32_t ifindex = (uint32_t)result.ifindex;
        if (!pw_pipeline_set_ifindex(s->p, s->format.binding, ifindex, iface)) fail("pw_pipeline_set_ifindex refused an ifindex in range", pos);
        s->registered[ifindex / 8] |= (uint8_t)(1u << (ifindex % 8));
      }
      // The record itself goes with the interface found for it, mapped or not (walkPcap's f[5]).
      s->format.first_iface = iface;
      continue;
    } else if (stop == PW_WALK_INTERVAL) {
      // replay-runner's onInterval: flush flows, take findings, set the next interval.
      pw_flow_table_flush(&s->p->flows, pw_fuzz_on_flow_record, NULL);
      pw_fuzz_take_and_reset(s->p);
      s->clock.next_interval = (floor(s->clock.watermark / s->clock.interval_ms) + 1) * s->clock.interval_ms;
    }
  }
  free(between.starts);
  *end_pos = pos;
  return stop;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size) {
  if (size < CONFIG_BYTES) return 0;
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

  walk_state *s = &state;
  memset(s, 0, sizeof *s);
  s->p = p;
  const uint32_t link_type = link_types[(in[4] >> 4) & 7];
  s->per_packet = (in[4] & 0x80) && link_type == 276;
  s->format = (pw_walk_format){.kind = PW_STREAM_PCAP, .first_iface = PW_WALK_NO_IFACE, .units_per_sec = 1, .little_endian = in[4] & 1, .nano = (in[4] >> 1) & 1, .length_order = ((in[4] >> 2) & 3) % 3u, .link_type = link_type,
                               .iface = s->per_packet ? NO_IFACE : (uint32_t)in[5] >> 5, .binding = (in[5] & 0x10) ? PW_MAX_BINDINGS - 1 : 0};
  s->clock_on = in[5] & 1;
  s->list_undecoded = (in[5] >> 3) & 1;
  s->clock = (pw_walk_clock){.step_ms = s->clock_on ? 1 + ((in[5] >> 1) & 3) : 0, .interval_ms = 2 + (in[6] & 0x3f) % 49u, .watermark = -INFINITY, .next_interval = INFINITY};
  s->watermark = s->clock.watermark;

  // The stream: the input's records, laid out `copies` times.
  static const size_t copies_by_bits[4] = {1, 8, 64, 512};
  const size_t input_length = size - CONFIG_BYTES;
  size_t copies = copies_by_bits[in[6] >> 6];
  while (copies > 1 && input_length * copies > CHUNK_MAX) copies /= 2;
  const size_t length = input_length * copies;
  uint8_t *stream = malloc(length + 1);
  if (stream == NULL) abort();
  for (size_t k = 0; k < copies; k++) memcpy(stream + k * input_length, in + CONFIG_BYTES, input_length);
  // Read as pcap-reader.ts reads a file: chunks of `piece` bytes (or all at once), the first after
  // the 24-byte file header, a record cut by a chunk's end carried to the front of the next. Each
  // chunk sits alone in a heap allocation of its exact length: a read one byte past it is an ASan report.
  const size_t piece = in[7] == 0 ? length : ((size_t)in[7] * 37 > length / 64 + 1 ? (size_t)in[7] * 37 : length / 64 + 1);
  size_t handed = 0, chunk_stream_start = 0, carry_length = 0, end_pos = 0, stop_at = 0;
  uint8_t *carry = NULL;
  pw_walk_stop stop;
  for (;;) {
    const size_t prefix = handed == 0 ? 24 : 0, take = piece < length - handed ? piece : length - handed;
    const size_t chunk_length = prefix + carry_length + take;
    uint8_t *chunk = malloc(chunk_length);
    if (chunk == NULL) abort();
    memset(chunk, 0, prefix);
    if (carry_length > 0) memcpy(chunk + prefix, carry, carry_length);
    if (take > 0) memcpy(chunk + prefix + carry_length, stream + handed, take);
    free(carry);
    carry = NULL;
    chunk_stream_start = handed - carry_length;
    handed += take;
    stop = walk_chunk(s, chunk, chunk_length, prefix, &end_pos);
    stop_at = chunk_stream_start + (end_pos - prefix);
    if (stop != PW_WALK_END || handed == length) {
      free(chunk);
      break;
    }
    carry_length = chunk_length - end_pos;
    carry = malloc(carry_length + 1);
    if (carry == NULL) abort();
    memcpy(carry, chunk + end_pos, carry_length);
    free(chunk);
  }

  // Chunks or not, the walk ends where the stream's first record that is not whole starts, having
  // walked every record before it (unless it stopped at an ifindex it cannot go past).
  if (stop == PW_WALK_END || stop == PW_WALK_REFUSED) {
    walked whole = {.starts = malloc((length / PW_PCAP_RECORD_HEADER + 1) * sizeof(size_t))};
    if (whole.starts == NULL) abort();
    size_t at = 0;
    header h;
    at_kind kind;
    while ((kind = record_at(stream, length, at, &s->format, &h)) == AT_RECORD) at += PW_PCAP_RECORD_HEADER + (size_t)h.caplen;
    walk_headers(stream, length, 0, at, &s->format, &whole);
    if (stop_at != at || s->records != (double)whole.count) fail("the chunks' walks end elsewhere than one walk over the stream", stop_at);
    if ((stop == PW_WALK_REFUSED) != (kind == AT_BAD_CAPLEN)) fail("the chunks' walks end for another reason than one walk over the stream", stop_at);
    free(whole.starts);
  }

  // The end of the capture: every window judged, findings taken, flows flushed, everything freed.
  double end = s->clock.watermark > 0 ? s->clock.watermark : 0;
  for (uint32_t k = 0; k < PW_MAX_NODES; k++)
    if (p->matchers[k] != NULL) pw_matcher_expire_all(p->matchers[k], end + 1e6);
  pw_fuzz_take_and_reset(p);
  pw_flow_table_flush(&p->flows, pw_fuzz_on_flow_record, NULL);
  pw_pipeline_destroy(p);
  free(stream);
  return 0;
}
