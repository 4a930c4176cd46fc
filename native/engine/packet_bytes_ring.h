/*
 * The first bytes of recent packets, kept so a packet judged
 * vanished a window later can still be shipped as captured (for the collector's pcapng export)
 * without copying every packet. A preallocated ring: each packet gets the next slot and a 31-bit
 * sequence number (it fits a sighting's int32 word); the oldest slot is overwritten. A sequence
 * whose slot was overwritten since is reported gone (and counted), so a busy node loses sample
 * bytes, never correctness. Only headers are kept (128 bytes by default), which also keeps payloads
 * out of storage.
 */
#ifndef PW_PACKET_BYTES_RING_H
#define PW_PACKET_BYTES_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PW_PACKET_BYTES_DEFAULT_SLOTS (1u << 16)
#define PW_PACKET_BYTES_DEFAULT_SLOT_BYTES 128u
/* Bounds on the configuration (the TypeScript ring takes any; these keep a ring under 1 GiB). */
#define PW_PACKET_BYTES_MAX_SLOTS (1u << 22)
#define PW_PACKET_BYTES_MAX_SLOT_BYTES 65535u

typedef struct pw_packet_bytes_ring {
  uint32_t mask;
  uint32_t slot_bytes;
  uint8_t *bytes;
  uint16_t *lengths;
  uint32_t *orig_lens;
  uint16_t *link_types;
  /* Sequence number of the next packet (wraps at 2^31; comparisons are modular). */
  uint32_t next;
  uint32_t filled;
  /* Lookups that found their slot overwritten already. */
  double overwritten;
} pw_packet_bytes_ring;

/*
 * slots is rounded up to a power of two. Every page is written now (as TypeScript does with
 * fill(0)): the agent's size is known from the start instead of climbing slot by slot like a leak.
 */
bool pw_packet_bytes_ring_init(pw_packet_bytes_ring *r, uint32_t slots, uint32_t slot_bytes);
void pw_packet_bytes_ring_destroy(pw_packet_bytes_ring *r);

/* Copies the start of data[offset, offset + caplen) (the caller's bounds); returns its sequence number. */
int32_t pw_packet_bytes_put(pw_packet_bytes_ring *r, const uint8_t *data, size_t offset, size_t caplen, uint32_t orig_len, uint32_t link_type);

typedef struct pw_packet_bytes {
  const uint8_t *bytes;
  uint32_t length;
  uint32_t orig_len;
  uint32_t link_type;
} pw_packet_bytes;

/* The packet's bytes (valid until the next put), or false when its slot was overwritten or it never was put. */
bool pw_packet_bytes_get(pw_packet_bytes_ring *r, int32_t seq, pw_packet_bytes *out);

#endif
