/*
 * The walk over a chunk of a capture stream, pcap or pcapng, straight into the pipeline: record
 * headers are read here, in C, and the records run through pw_pipeline_run in batches, so a chunk
 * costs JavaScript one call instead of one per packet. The file's own headers stay in JavaScript
 * (agent/capture/pcap-reader.ts and pcapng-reader.ts read them, and refuse what libpcap refuses)
 * and tell the walk the stream's layout. Anything the walk does not take as it stands (a record cut
 * by the chunk's end, an absurd length, a pcapng block other than a plain packet of the stream's
 * one interface, a timestamp replay skips) ends the walk there: the
 * JavaScript reader takes it from that byte (its carry buffer, its block handlers, its one-line
 * error), so both paths see the same records.
 *
 * Replay's clock (modes/replay/replay-runner.ts) runs here too, on capture time: after a record at
 * least `step_ms` past the watermark, the watermark moves to it and every node's matcher evaluates
 * its closed windows; when the watermark reaches the next interval the walk returns for JavaScript
 * to flush flows and take findings. A live capture walks without a clock (step_ms 0).
 */
#ifndef PW_PCAP_WALK_H
#define PW_PCAP_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/sighting_pipeline.h"

#define PW_PCAP_RECORD_HEADER 16u
/* pcap-reader.ts PCAP_MAX_CAPLEN: past this a length field is garbage. */
#define PW_PCAP_MAX_CAPLEN (16u * 1024u * 1024u)
/* pcapng-reader.ts PCAPNG_MAX_BLOCK_LEN. */
#define PW_PCAPNG_MAX_BLOCK_LEN (16u * 1024u * 1024u + 64u * 1024u)
/* Undecoded tunnel records a walk lists before it returns for them to be read. */
#define PW_WALK_UNDECODED_MAX 1024u
#define PW_WALK_NO_IFACE 0xffffffffu

/* Where a pcap's captured and wire lengths are (pcap 2.0-2.2 swapped them; 2.3 either way). */
enum { PW_LENGTHS_STANDARD, PW_LENGTHS_SWAPPED, PW_LENGTHS_MAYBE_SWAPPED };

typedef enum pw_stream_kind { PW_STREAM_PCAP, PW_STREAM_PCAPNG } pw_stream_kind;

typedef struct pw_walk_format {
  pw_stream_kind kind;
  bool little_endian;
  uint32_t link_type;
  /* The interface id of the stream's records, or PW_WALK_NO_IFACE: per packet (SLL2). */
  uint32_t iface;
  uint32_t binding;
  /* The first record's interface id when JavaScript registered it after a PW_WALK_IFINDEX stop (else PW_WALK_NO_IFACE). */
  uint32_t first_iface;
  /* pcap: nanosecond timestamps; where the captured length is. */
  bool nano;
  uint32_t length_order;
  /* pcapng: the one interface's reader-wide id and its section's first; if_tsresol as units per
     second, nanoseconds per unit when whole (else 0), if_tsoffset in seconds. */
  uint32_t pcapng_interface;
  uint32_t section_base;
  double units_per_sec;
  double ns_per_unit;
  double ts_offset;
} pw_walk_format;

typedef struct pw_walk_clock {
  /* 0: no clock. */
  double step_ms;
  double interval_ms;
  /* In and out: the watermark (ms) and the next interval's start (Infinity: not set yet). */
  double watermark;
  double next_interval;
} pw_walk_clock;

typedef enum pw_walk_stop {
  /* No complete record is left at `pos` (the chunk's end, or a record straddling it). */
  PW_WALK_END,
  /* The record at `pos` needs its interface registered (ifindex, hatype). */
  PW_WALK_IFINDEX,
  /* The watermark reached the next interval after the record before `pos`. */
  PW_WALK_INTERVAL,
  /* The undecoded list is nearly full: read it and walk on from `pos`. */
  PW_WALK_UNDECODED_FULL,
  /* The unit at `pos` is the JavaScript reader's to take (an absurd length, another block, ...). */
  PW_WALK_REFUSED,
} pw_walk_stop;

/* An undecoded tunnel record, for JavaScript to list (its bytes are data[offset, offset + caplen)). */
typedef struct pw_walk_undecoded {
  uint32_t offset, caplen, origlen, iface;
  double ts_ms;
} pw_walk_undecoded;

typedef struct pw_walk_result {
  size_t pos;
  double records;
  /* Earliest and latest record time walked (Infinity, -Infinity when none). */
  double first_ts, last_ts;
  int64_t ifindex;
  int32_t hatype;
  uint32_t undecoded_count;
  pw_walk_undecoded undecoded[PW_WALK_UNDECODED_MAX];
} pw_walk_result;

/*
 * Walks records from data[pos] until one of pw_walk_stop. `result` is filled afresh (its undecoded
 * list only when `list_undecoded`).
 */
pw_walk_stop pw_pipeline_walk(pw_pipeline *p, const uint8_t *data, size_t length, size_t pos, const pw_walk_format *format, pw_walk_clock *clock,
                              bool list_undecoded, pw_walk_result *result);

#endif
