/*
 * What every protocol decoder receives: the bytes, the cursor it
 * advances, the view it fills, the event counters and the dispatch tables.
 *
 * Decoder contract (one file per protocol):
 *   pw_layer pw_decode_x(pw_ctx *ctx)
 * reads d[offset, end) and nothing else, writes into the view, moves offset past its header and
 * returns the next layer (PW_LAYER_DONE when finished). It never fails and never allocates; an
 * anomaly is a counted event and, where the packet was cut short, view->truncated = 1.
 *
 * Positions are int64_t, like the TypeScript numbers they mirror: `end - offset` may go negative
 * (an IPv6 jumbo length shorter than the headers walked), and every "at least N bytes" check is a
 * signed comparison that a negative count fails.
 */
#ifndef PW_DECODE_CONTEXT_H
#define PW_DECODE_CONTEXT_H

#include <stdint.h>

#include "engine/decode_events.h"
#include "engine/dispatch_tables.h"
#include "engine/pw_view.h"

/* Layer ids, the values of the dispatch tables (the same numbers as the TypeScript Layer). */
typedef enum pw_layer {
  PW_LAYER_DONE = 0,
  PW_LAYER_ETHERNET,
  PW_LAYER_VLAN,
  PW_LAYER_IPV4,
  PW_LAYER_IPV6,
  PW_LAYER_GRE,
  PW_LAYER_ERSPAN,
  PW_LAYER_PPP,
  PW_LAYER_VXLAN,
  PW_LAYER_GENEVE,
  PW_LAYER_TCP,
  PW_LAYER_UDP,
  PW_LAYER_ICMP,
  PW_LAYER_ICMPV6,
  /* Not IP (ARP, LLDP, ...): decoding stops without an anomaly. */
  PW_LAYER_NOT_IP,
  /* A protocol we do not decode: decoding stops, counted. */
  PW_LAYER_UNKNOWN,
} pw_layer;

typedef struct pw_ctx {
  const uint8_t *d;
  int64_t offset;
  int64_t end;
  pw_view *view;
  uint64_t *events;
  const pw_dispatch_tables *tables;
} pw_ctx;

/* Big-endian reads; callers have checked that [o, o + n) lies within [offset, end). */
static inline uint32_t pw_be16(const uint8_t *d, int64_t o) {
  return ((uint32_t)d[o] << 8) | (uint32_t)d[o + 1];
}

static inline uint32_t pw_be32(const uint8_t *d, int64_t o) {
  return ((uint32_t)d[o] << 24) | ((uint32_t)d[o + 1] << 16) | ((uint32_t)d[o + 2] << 8) | (uint32_t)d[o + 3];
}

static inline void pw_count(pw_ctx *ctx, pw_decode_event e) {
  ctx->events[e]++;
}

#endif
