/* The ring of recent packets' first bytes: see packet_bytes_ring.h. */
#include "engine/packet_bytes_ring.h"

#include <stdlib.h>
#include <string.h>

#define SEQ_MASK 0x7fffffffu

bool pw_packet_bytes_ring_init(pw_packet_bytes_ring *r, uint32_t slots, uint32_t slot_bytes) {
  *r = (pw_packet_bytes_ring){0};
  if (slots > PW_PACKET_BYTES_MAX_SLOTS || slot_bytes > PW_PACKET_BYTES_MAX_SLOT_BYTES) return false;
  uint32_t n = 1;
  while (n < slots) n *= 2;
  r->mask = n - 1;
  r->slot_bytes = slot_bytes;
  // calloc alone would leave the pages unmapped until first written: memset commits them now.
  r->bytes = malloc((size_t)n * slot_bytes + 1);
  r->lengths = malloc((size_t)n * sizeof *r->lengths);
  r->orig_lens = malloc((size_t)n * sizeof *r->orig_lens);
  r->link_types = malloc((size_t)n * sizeof *r->link_types);
  if (r->bytes == NULL || r->lengths == NULL || r->orig_lens == NULL || r->link_types == NULL) {
    pw_packet_bytes_ring_destroy(r);
    return false;
  }
  memset(r->bytes, 0, (size_t)n * slot_bytes + 1);
  memset(r->lengths, 0, (size_t)n * sizeof *r->lengths);
  memset(r->orig_lens, 0, (size_t)n * sizeof *r->orig_lens);
  memset(r->link_types, 0, (size_t)n * sizeof *r->link_types);
  return true;
}

void pw_packet_bytes_ring_destroy(pw_packet_bytes_ring *r) {
  free(r->bytes);
  free(r->lengths);
  free(r->orig_lens);
  free(r->link_types);
  r->bytes = NULL;
  r->lengths = NULL;
  r->orig_lens = NULL;
  r->link_types = NULL;
}

int32_t pw_packet_bytes_put(pw_packet_bytes_ring *r, const uint8_t *data, size_t offset, size_t caplen, uint32_t orig_len, uint32_t link_type) {
  uint32_t seq = r->next;
  uint32_t slot = seq & r->mask;
  size_t n = caplen < r->slot_bytes ? caplen : r->slot_bytes;
  if (n > 0) memcpy(r->bytes + (size_t)slot * r->slot_bytes, data + offset, n);
  r->lengths[slot] = (uint16_t)n;
  r->orig_lens[slot] = orig_len;
  // Uint16Array in TypeScript: a link type above 65535 keeps its low 16 bits there too.
  r->link_types[slot] = (uint16_t)link_type;
  r->next = (seq + 1) & SEQ_MASK;
  if (r->filled <= r->mask) r->filled++;
  return (int32_t)seq;
}

bool pw_packet_bytes_get(pw_packet_bytes_ring *r, int32_t seq, pw_packet_bytes *out) {
  if (seq < 0) return false;
  uint32_t age = (r->next - (uint32_t)seq - 1) & SEQ_MASK;
  if (age >= r->filled) {
    r->overwritten++;
    return false;
  }
  uint32_t slot = (uint32_t)seq & r->mask;
  out->bytes = r->bytes + (size_t)slot * r->slot_bytes;
  out->length = r->lengths[slot];
  out->orig_len = r->orig_lens[slot];
  out->link_type = r->link_types[slot];
  return true;
}
