/*
 * The walk over a chunk of a capture stream: see pcap_walk.h. Record for record
 * PcapParser.processRecord and PcapngParser.processEnhancedPacket (with ReplayInput.onPacket's
 * range check): whatever those would do otherwise is refused, for them to do. Timestamps are
 * converted with the reader's own double arithmetic, branch for branch, so both give the same time.
 */
#include "engine/pcap_walk.h"

#include <math.h>
#include <string.h>

/* Records run per pw_pipeline_run call (well under the pipeline's undecoded list, so a run never stops for it). */
#define WALK_BATCH 256u

#define PCAPNG_EPB 6u
#define PCAPNG_EPB_MIN_LEN 32u
#define PCAPNG_OPT_END 0u
#define PCAPNG_OPT_FLAGS 2u
/* A timestamp's high word below this: the count of units is exact as one double (pcapng-reader.ts). */
#define PCAPNG_SINGLE_DOUBLE_HIGH_LIMIT 0x200000u
/* Units per second at or below which its 16-bit-digit long division stays below 2^53. */
#define PCAPNG_EXACT_DIVISION_MAX_UNITS 68719476736.0
/* 9999-12-31T23:59:59Z (replay-input.ts LATEST_PACKET_SEC): later or before 1970 is skipped, by JavaScript. */
#define LATEST_PACKET_SEC 253402300799.0

typedef enum parse_result { PARSED, AT_END, REFUSED } parse_result;

static inline uint32_t read_u32(const uint8_t *b, bool little_endian) {
  return little_endian ? (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24
                       : (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

static inline uint32_t read_u16(const uint8_t *b, bool little_endian) {
  return little_endian ? (uint32_t)b[0] | (uint32_t)b[1] << 8 : (uint32_t)b[0] << 8 | (uint32_t)b[1];
}

static inline size_t pad4(size_t n) { return (n + 3) & ~(size_t)3; }

static void fill_meta(uint32_t *m, const pw_walk_format *f, size_t data_offset, uint32_t caplen, uint32_t origlen, uint32_t dir) {
  m[PW_REC_OFFSET] = (uint32_t)data_offset;
  m[PW_REC_CAPLEN] = caplen;
  m[PW_REC_ORIGLEN] = origlen;
  m[PW_REC_LINK_TYPE] = f->link_type;
  m[PW_REC_IFACE] = f->iface;
  m[PW_REC_DIRECTION] = dir;
  m[PW_REC_BINDING] = f->binding;
}

/* A pcap record at data[at]: its meta, time (ms) and the next record's offset. */
static parse_result parse_pcap(const pw_walk_format *f, const uint8_t *data, size_t length, size_t at, uint32_t *m, double *ts, size_t *next) {
  if (at > length || length - at < PW_PCAP_RECORD_HEADER) return AT_END;
  const bool le = f->little_endian;
  const uint8_t *h = data + at;
  uint32_t first = read_u32(h + 8, le), second = read_u32(h + 12, le);
  bool swapped = f->length_order == PW_LENGTHS_SWAPPED || (f->length_order == PW_LENGTHS_MAYBE_SWAPPED && first > second);
  uint32_t caplen = swapped ? second : first, origlen = swapped ? first : second;
  if (caplen > PW_PCAP_MAX_CAPLEN) return REFUSED;
  if (length - at - PW_PCAP_RECORD_HEADER < caplen) return AT_END;
  // A sub-second field out of range is folded into the seconds (tsNsec < 1e9 holds).
  const uint32_t frac_per_sec = f->nano ? 1000000000u : 1000000u;
  double sec = read_u32(h, le);
  uint32_t frac = read_u32(h + 4, le);
  if (frac >= frac_per_sec) {
    sec += frac / frac_per_sec;
    frac %= frac_per_sec;
  }
  double nsec = (double)frac * (f->nano ? 1u : 1000u);
  fill_meta(m, f, at + PW_PCAP_RECORD_HEADER, caplen, origlen, PW_DIR_UNKNOWN);
  *ts = sec * 1000 + nsec / 1e6;
  *next = at + PW_PCAP_RECORD_HEADER + (size_t)caplen;
  return PARSED;
}

/* A pcapng Enhanced Packet Block of the stream's interface at data[at], taken only when it is plain. */
static parse_result parse_pcapng(const pw_walk_format *f, const uint8_t *data, size_t length, size_t at, uint32_t *m, double *ts, size_t *next) {
  if (at > length || length - at < 12) return AT_END;
  const bool le = f->little_endian;
  const uint8_t *b = data + at;
  if (read_u32(b, le) != PCAPNG_EPB) return REFUSED;
  uint32_t len = read_u32(b + 4, le);
  if (len % 4 != 0 || len < PCAPNG_EPB_MIN_LEN || len > PW_PCAPNG_MAX_BLOCK_LEN) return REFUSED;
  if (length - at < len) return AT_END;
  if (read_u32(b + len - 4, le) != len) return REFUSED;
  if (f->pcapng_interface < f->section_base || read_u32(b + 8, le) != f->pcapng_interface - f->section_base) return REFUSED;
  uint32_t high = read_u32(b + 12, le), low = read_u32(b + 16, le);
  uint32_t caplen = read_u32(b + 20, le), origlen = read_u32(b + 24, le);
  size_t end = (size_t)len - 4;
  if (28 + (size_t)caplen > end) return REFUSED;
  uint32_t dir = PW_DIR_UNKNOWN;
  for (size_t o = 28 + pad4(caplen); o + 4 <= end;) {
    uint32_t code = read_u16(b + o, le), olen = read_u16(b + o + 2, le);
    if (code == PCAPNG_OPT_END) break;
    if (o + 4 + olen > end) return REFUSED;
    if (code == PCAPNG_OPT_FLAGS && olen >= 4) {
      uint32_t d = read_u32(b + o + 4, le) & 3;
      dir = d == 1 ? PW_DIR_IN : d == 2 ? PW_DIR_OUT : PW_DIR_UNKNOWN;
    }
    o += 4 + pad4(olen);
  }
  // Units to seconds and nanoseconds with pcapng-reader.ts's double arithmetic, operation for operation.
  double units = f->units_per_sec;
  double sec, rem;
  if (high < PCAPNG_SINGLE_DOUBLE_HIGH_LIMIT) {
    // Below 2^53: the count is exact as one double (typical for microsecond captures).
    double t = (double)high * 4294967296.0 + (double)low;
    sec = floor(t / units);
    rem = t - sec * units;
    if (rem < 0) {
      sec -= 1;
      rem += units;
    }
  } else if (units <= PCAPNG_EXACT_DIVISION_MAX_UNITS) {
    // Schoolbook division by 16-bit digits: each partial dividend stays below units * 2^16 <= 2^52.
    const uint32_t digits[4] = {high >> 16, high & 0xffff, low >> 16, low & 0xffff};
    sec = 0;
    rem = 0;
    for (int i = 0; i < 4; i++) {
      double t = rem * 65536 + digits[i];
      double q = floor(t / units);
      rem = t - q * units;
      if (rem < 0) {
        q -= 1;
        rem += units;
      }
      sec = sec * 65536 + q;
    }
  } else {
    // Finer than 2^-36 s: approximate, as the reader does.
    double t = (double)high * 4294967296.0 + (double)low;
    sec = floor(t / units);
    rem = t - sec * units;
    if (rem < 0) rem = 0;
  }
  double nsec = f->ns_per_unit != 0 ? rem * f->ns_per_unit : floor((rem * 1e9) / units);
  if (nsec > 999999999) nsec = 999999999;
  double ts_sec = sec + f->ts_offset;
  if (ts_sec > LATEST_PACKET_SEC || ts_sec < 0) return REFUSED;
  fill_meta(m, f, at + 28, caplen, origlen, dir);
  *ts = ts_sec * 1000 + nsec / 1e6;
  *next = at + len;
  return PARSED;
}

/* Every node's matcher evaluates the windows closed before the watermark (replay-runner's order: by node index). */
static void expire_all_nodes(pw_pipeline *p, double watermark) {
  for (uint32_t n = 0; n < PW_MAX_NODES; n++)
    if (p->matchers[n] != NULL) pw_matcher_expire(p->matchers[n], watermark);
}

pw_walk_stop pw_pipeline_walk(pw_pipeline *p, const uint8_t *data, size_t length, size_t pos, const pw_walk_format *format, pw_walk_clock *clock,
                              bool list_undecoded, pw_walk_result *result) {
  uint32_t meta[WALK_BATCH * PW_REC_WORDS];
  double ts[WALK_BATCH];
  size_t starts[WALK_BATCH];
  parse_result (*parse)(const pw_walk_format *, const uint8_t *, size_t, size_t, uint32_t *, double *, size_t *) =
      format->kind == PW_STREAM_PCAPNG ? parse_pcapng : parse_pcap;
  result->records = 0;
  result->first_ts = INFINITY;
  result->last_ts = -INFINITY;
  result->ifindex = -1;
  result->hatype = -1;
  result->undecoded_count = 0;
  size_t at = pos;
  for (;;) {
    uint32_t n = 0;
    bool advance_clock = false;
    parse_result stop = PARSED;
    while (n < WALK_BATCH) {
      size_t next = at;
      stop = parse(format, data, length, at, meta + n * PW_REC_WORDS, &ts[n], &next);
      if (stop != PARSED) break;
      // A record JavaScript registered after it stopped the walk: its interface as JavaScript found it.
      if (at == pos && format->first_iface != PW_WALK_NO_IFACE) meta[n * PW_REC_WORDS + PW_REC_IFACE] = format->first_iface;
      starts[n] = at;
      at = next;
      n++;
      if (clock->step_ms > 0 && ts[n - 1] >= clock->watermark + clock->step_ms) {
        advance_clock = true;
        break;
      }
    }
    if (n > 0) {
      int64_t ifindex = -1;
      int32_t hatype = -1;
      size_t done = pw_pipeline_run(p, data, length, meta, ts, 0, n, &ifindex, &hatype);
      for (size_t i = 0; i < done; i++) {
        if (ts[i] < result->first_ts) result->first_ts = ts[i];
        if (ts[i] > result->last_ts) result->last_ts = ts[i];
      }
      result->records += (double)done;
      for (uint32_t u = 0; list_undecoded && u < p->undecoded_count && result->undecoded_count < PW_WALK_UNDECODED_MAX; u++) {
        const uint32_t *m = meta + p->undecoded[u] * PW_REC_WORDS;
        result->undecoded[result->undecoded_count++] = (pw_walk_undecoded){
            .offset = m[PW_REC_OFFSET], .caplen = m[PW_REC_CAPLEN], .origlen = m[PW_REC_ORIGLEN], .iface = p->undecoded_iface[u], .ts_ms = ts[p->undecoded[u]]};
      }
      if (done < n) {
        // Only an interface to register stops a run of records laid out here (bounds hold, the list never fills).
        result->pos = starts[done];
        result->ifindex = ifindex;
        result->hatype = hatype;
        return PW_WALK_IFINDEX;
      }
      if (advance_clock) {
        double watermark = clock->watermark = ts[n - 1];
        expire_all_nodes(p, watermark);
        if (isinf(clock->next_interval)) clock->next_interval = (floor(watermark / clock->interval_ms) + 1) * clock->interval_ms;
        else if (watermark >= clock->next_interval) {
          result->pos = at;
          return PW_WALK_INTERVAL;
        }
      }
    }
    if (stop != PARSED) {
      result->pos = at;
      return stop == AT_END ? PW_WALK_END : PW_WALK_REFUSED;
    }
    if (list_undecoded && result->undecoded_count + WALK_BATCH > PW_WALK_UNDECODED_MAX) {
      result->pos = at;
      return PW_WALK_UNDECODED_FULL;
    }
  }
}
