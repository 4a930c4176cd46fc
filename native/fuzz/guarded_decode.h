/*
 * Decoding hostile bytes under the sanitizers: the packet is copied between guard bytes that
 * AddressSanitizer poisons, so a read one byte before the record's offset or one byte past its end
 * is reported, not just a read outside the whole allocation. After each decode the view's
 * invariants are checked and a violation aborts with a message (a finding like any other).
 * Shared by the standalone driver (corpus_driver.c) and the libFuzzer target (fuzz_decode.c).
 */
#ifndef PW_FUZZ_GUARDED_DECODE_H
#define PW_FUZZ_GUARDED_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/decoder.h"

/* Packets longer than this are cut to it (larger than any snap length libpcap writes by default). */
#define PW_FUZZ_MAX_PACKET 262144u

/* The link types the decoder reads, in link_types.h's order. */
extern const uint32_t pw_fuzz_link_types[8];

/* Tunnel ports other than the defaults: VXLAN on 53 and 0, Geneve on 4789. */
extern const pw_tunnel_ports pw_fuzz_other_ports;

typedef struct pw_fuzz_state {
  pw_decoder *decoder;
  pw_view view;
  uint8_t *buffer; /* guard | packet area | guard, allocated once */
  uint64_t decodes;
} pw_fuzz_state;

/* Allocates the guarded buffer and a decoder with these ports (NULL: the defaults). */
void pw_fuzz_init(pw_fuzz_state *s, const pw_tunnel_ports *ports);
void pw_fuzz_free(pw_fuzz_state *s);

/*
 * Decodes and fingerprints packet[0, length) as link_type twice: at an 8-byte aligned position with
 * poisoned guards on both sides (exact bounds under ASan), and 3 bytes further on, which must give
 * the same status and fingerprint with every offset in the view shifted by 3. Aborts on a broken
 * invariant. Returns the status.
 */
pw_decode_status pw_fuzz_decode(pw_fuzz_state *s, const uint8_t *packet, size_t length, uint32_t link_type);

#endif
