/*
 * The packet decoder, the engine's entry point per packet: from a
 * captured frame of a given link type to a filled pw_view.
 *
 *   pw_decoder dec;                      // holds the dispatch tables (128 KiB) and event counters
 *   pw_decoder_init(&dec, NULL);         // NULL: the default tunnel ports (VXLAN 4789, 8472; Geneve 6081)
 *   pw_view view;
 *   pw_view_init(&view);
 *   pw_decode_status s = pw_decode(&dec, &view, data, offset, length, link_type);
 *
 * pw_decode reads data[offset, offset + length) and nothing else, allocates nothing and cannot fail:
 * every outcome is a status, and every anomaly a counted event (dec.events, cumulative, indexed by
 * pw_decode_event). Offsets in the view are positions in `data`, like the TypeScript record's.
 * One decoder and one view per thread; the decoder is read-only during pw_decode apart from events.
 */
#ifndef PW_DECODER_H
#define PW_DECODER_H

#include <stddef.h>
#include <stdint.h>

#include "engine/decode_events.h"
#include "engine/dispatch_tables.h"
#include "engine/link_types.h"
#include "engine/pw_view.h"

/* DecodeStatus, same values. */
typedef enum pw_decode_status {
  /* An IP packet was decoded as far as its headers go. */
  PW_STATUS_OK = 0,
  /* An IP packet was found but the capture cut it short; the view holds what was there. */
  PW_STATUS_TRUNCATED = 1,
  /* Not an IP packet (ARP, LLDP, ...), or a link type we do not decode. */
  PW_STATUS_NOT_IP = 2,
  /* A header contradicted itself; the view holds the layers before it. */
  PW_STATUS_MALFORMED = 3,
  /* A tunnel whose payload we do not decode: view.undecoded_tunnel says why; no inner packet. */
  PW_STATUS_UNDECODED_TUNNEL = 4,
} pw_decode_status;

typedef struct pw_decoder {
  pw_dispatch_tables tables;
  /* Events counted since init (or since the caller last cleared them). */
  uint64_t events[PW_DECODE_EVENT_COUNT];
} pw_decoder;

/* Tables from the tunnel ports (NULL: the defaults), counters at zero. */
void pw_decoder_init(pw_decoder *dec, const pw_tunnel_ports *ports);

pw_decode_status pw_decode(pw_decoder *dec, pw_view *view, const uint8_t *data, size_t offset, size_t length, uint32_t link_type);

#endif
