/* The walk over a chunk of a pcap stream: see pcap_walk.h. Record for record PcapParser.processRecord. */
#include "engine/pcap_walk.h"

#include <math.h>
#include <string.h>

/* Records run per pw_pipeline_run call (well under the pipeline's undecoded list, so a run never stops for it). */
#define WALK_BATCH 256u

static inline uint32_t read_u32(const uint8_t *b, bool little_endian) {
  return little_endian ? (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24
                       : (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

/* Every node's matcher evaluates the windows closed before the watermark (replay-runner's order: by node index). */
static void expire_all_nodes(pw_pipeline *p, double watermark) {
  for (uint32_t n = 0; n < PW_MAX_NODES; n++)
    if (p->matchers[n] != NULL) pw_matcher_expire(p->matchers[n], watermark);
}

pw_walk_stop pw_pipeline_walk_pcap(pw_pipeline *p, const uint8_t *data, size_t length, size_t pos, const pw_pcap_format *format, pw_walk_clock *clock,
                                   bool list_undecoded, pw_walk_result *result) {
  uint32_t meta[WALK_BATCH * PW_REC_WORDS];
  double ts[WALK_BATCH];
  size_t starts[WALK_BATCH];
  const bool le = format->little_endian;
  const uint32_t frac_per_sec = format->nano ? 1000000000u : 1000000u;
  const uint32_t frac_to_ns = format->nano ? 1u : 1000u;
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
    int stop = -1;
    while (n < WALK_BATCH) {
      if (at > length || length - at < PW_PCAP_RECORD_HEADER) {
        stop = PW_WALK_END;
        break;
      }
      const uint8_t *h = data + at;
      uint32_t first = read_u32(h + 8, le), second = read_u32(h + 12, le);
      bool swapped = format->length_order == PW_LENGTHS_SWAPPED || (format->length_order == PW_LENGTHS_MAYBE_SWAPPED && first > second);
      uint32_t caplen = swapped ? second : first, origlen = swapped ? first : second;
      if (caplen > PW_PCAP_MAX_CAPLEN) {
        stop = PW_WALK_BAD_CAPLEN;
        break;
      }
      if (length - at - PW_PCAP_RECORD_HEADER < caplen) {
        stop = PW_WALK_END;
        break;
      }
      // A sub-second field out of range is folded into the seconds (tsNsec < 1e9 holds).
      double sec = read_u32(h, le);
      uint32_t frac = read_u32(h + 4, le);
      if (frac >= frac_per_sec) {
        sec += frac / frac_per_sec;
        frac %= frac_per_sec;
      }
      double nsec = (double)frac * frac_to_ns;
      uint32_t *m = meta + n * PW_REC_WORDS;
      m[PW_REC_OFFSET] = (uint32_t)(at + PW_PCAP_RECORD_HEADER);
      m[PW_REC_CAPLEN] = caplen;
      m[PW_REC_ORIGLEN] = origlen;
      m[PW_REC_LINK_TYPE] = format->link_type;
      m[PW_REC_IFACE] = format->iface;
      m[PW_REC_DIRECTION] = PW_DIR_UNKNOWN;
      m[PW_REC_BINDING] = format->binding;
      ts[n] = sec * 1000 + nsec / 1e6;
      starts[n] = at;
      at += PW_PCAP_RECORD_HEADER + (size_t)caplen;
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
    if (stop >= 0) {
      result->pos = at;
      return (pw_walk_stop)stop;
    }
    if (list_undecoded && result->undecoded_count + WALK_BATCH > PW_WALK_UNDECODED_MAX) {
      result->pos = at;
      return PW_WALK_UNDECODED_FULL;
    }
  }
}
