/*
 * Packet fingerprint: the same value for the same packet on every hop,
 * different for different packets with overwhelming probability within a correlation window. The
 * same function bit for bit: writePacketFingerprint's number is exactly (double)pw_fingerprint().
 *
 * Hashed: the innermost packet only, and only fields no router or NAT rewrites (see the TypeScript
 * file for the full list and why); addresses only for multicast, broadcast and link-local traffic.
 */
#ifndef PW_FINGERPRINT_H
#define PW_FINGERPRINT_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/pw_view.h"

#define PW_FINGERPRINT_PAYLOAD_BYTES 16

/*
 * Fingerprint of the innermost packet in `view`, reading the payload prefix from `data` (the buffer
 * the view was decoded from, within [payload_offset, payload_end)). 0 when there is no IP packet;
 * otherwise in [1, 2^53), exact as a double (21 bits of one 32-bit hash above 32 of another).
 */
uint64_t pw_fingerprint(const pw_view *view, const uint8_t *data);

/*
 * The same packet's fingerprint without the payload prefix: for a kernel drop event whose copied
 * bytes end before the payload (the socket buffer's linear part holds only the headers; the rest is
 * in pages the BPF program does not read), matched against the same value of the captured packet.
 * Never equal to a pw_fingerprint() of the same headers (bit 52 differs). 0 when there is no IP packet.
 */
uint64_t pw_fingerprint_headers(const pw_view *view);

/*
 * True when the snap length cut into what the fingerprint reads (the transport header or the
 * payload prefix), so another hop capturing more or fewer bytes computes a different value.
 */
bool pw_fingerprint_is_weak(const pw_view *view);

#endif
