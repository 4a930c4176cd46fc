/* Guarded decoding and the view's invariants (guarded_decode.h). */
#include "fuzz/guarded_decode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/fingerprint.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PW_FUZZ_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define PW_FUZZ_ASAN 1
#endif

#ifdef PW_FUZZ_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* A multiple of ASan's 8-byte granule, so the packet starts exactly where poisoning ends. */
#define GUARD 64u
#define SHIFT 3u
#define BUFFER_SIZE (GUARD + PW_FUZZ_MAX_PACKET + SHIFT + GUARD)

const uint32_t pw_fuzz_link_types[8] = {
  PW_LINKTYPE_NULL, PW_LINKTYPE_ETHERNET, PW_LINKTYPE_RAW, PW_LINKTYPE_LOOP,
  PW_LINKTYPE_LINUX_SLL, PW_LINKTYPE_IPV4, PW_LINKTYPE_IPV6, PW_LINKTYPE_LINUX_SLL2,
};

static const uint16_t other_vxlan[] = {53, 0, 8472};
static const uint16_t other_geneve[] = {4789, 6081};
const pw_tunnel_ports pw_fuzz_other_ports = {other_vxlan, 3, other_geneve, 2};

void pw_fuzz_init(pw_fuzz_state *s, const pw_tunnel_ports *ports) {
  s->decoder = malloc(sizeof *s->decoder);
  s->buffer = malloc(BUFFER_SIZE);
  if (s->decoder == NULL || s->buffer == NULL) {
    fprintf(stderr, "pw_fuzz: out of memory\n");
    abort();
  }
  pw_decoder_init(s->decoder, ports);
  pw_view_init(&s->view);
  s->decodes = 0;
}

void pw_fuzz_free(pw_fuzz_state *s) {
  UNPOISON(s->buffer, BUFFER_SIZE);
  free(s->buffer);
  free(s->decoder);
}

static void fail(const char *what, uint32_t link_type, size_t length) {
  fprintf(stderr, "pw_fuzz: invariant broken: %s (link type %u, %zu bytes)\n", what, link_type, length);
  abort();
}

#define REQUIRE(cond) \
  do {                \
    if (!(cond)) fail(#cond, link_type, length); \
  } while (0)

/* An offset in the view: -1, or within the record [start, end] (an end offset may equal end). */
static int in_record(int64_t at, int64_t start, int64_t end) {
  return at == -1 || (at >= start && at <= end);
}

static void check_view(const pw_view *v, pw_decode_status status, uint64_t fp, int64_t start, int64_t end, uint32_t link_type, size_t length) {
  REQUIRE(status <= PW_STATUS_UNDECODED_TUNNEL);
  REQUIRE(v->link_type == link_type);
  REQUIRE(v->ip_version == 0 || v->ip_version == 4 || v->ip_version == 6);
  REQUIRE(v->encap_depth <= PW_MAX_ENCAP_DEPTH);
  REQUIRE(v->vlan_depth <= 9);
  REQUIRE(v->mac_dst_offset == -1 || (v->mac_dst_offset >= start && v->mac_dst_offset + 14 <= end));
  REQUIRE(v->mac_src_offset == -1 || (v->mac_src_offset >= start && v->mac_src_offset + 6 <= end));
  REQUIRE(in_record(v->ip_offset, start, end));
  REQUIRE(in_record(v->payload_offset, start, end) && in_record(v->payload_end, start, end));
  REQUIRE((v->payload_offset == -1) == (v->payload_end == -1));
  REQUIRE(v->payload_offset <= v->payload_end);
  REQUIRE(v->l4_valid == 0 || (v->l4_offset >= start && v->l4_offset <= end));
  REQUIRE((status == PW_STATUS_OK) <= (v->ip_version != 0));
  REQUIRE(status != PW_STATUS_UNDECODED_TUNNEL || (v->ip_version == 0 && v->undecoded_tunnel != PW_UNDECODED_NONE));
  REQUIRE(v->ip_version != 0 || v->encap_depth == 0 || v->undecoded_tunnel != PW_UNDECODED_NONE);
  REQUIRE((fp == 0) == (v->ip_version == 0));
  REQUIRE(fp < (UINT64_C(1) << 53));
}

pw_decode_status pw_fuzz_decode(pw_fuzz_state *s, const uint8_t *packet, size_t length, uint32_t link_type) {
  if (length > PW_FUZZ_MAX_PACKET) length = PW_FUZZ_MAX_PACKET;
  uint8_t *b = s->buffer;

  /* 1. Exact bounds: only [GUARD, GUARD + length) is addressable. */
  UNPOISON(b, BUFFER_SIZE);
  memcpy(b + GUARD, packet, length);
  POISON(b, GUARD);
  POISON(b + GUARD + length, BUFFER_SIZE - GUARD - length);
  pw_decode_status status = pw_decode(s->decoder, &s->view, b, GUARD, length, link_type);
  uint64_t fp = pw_fingerprint(&s->view, b);
  int weak = pw_fingerprint_is_weak(&s->view);
  check_view(&s->view, status, fp, GUARD, (int64_t)(GUARD + length), link_type, length);
  int64_t ip_offset = s->view.ip_offset;
  int64_t payload_offset = s->view.payload_offset;

  /* 2. The same bytes elsewhere: the same answer, offsets moved with them. */
  UNPOISON(b, BUFFER_SIZE);
  memmove(b + GUARD + SHIFT, b + GUARD, length);
  POISON(b, GUARD + SHIFT);
  POISON(b + GUARD + SHIFT + length, BUFFER_SIZE - GUARD - SHIFT - length);
  pw_decode_status moved = pw_decode(s->decoder, &s->view, b, GUARD + SHIFT, length, link_type);
  uint64_t moved_fp = pw_fingerprint(&s->view, b);
  check_view(&s->view, moved, moved_fp, GUARD + SHIFT, (int64_t)(GUARD + SHIFT + length), link_type, length);
  REQUIRE(moved == status);
  REQUIRE(moved_fp == fp);
  REQUIRE(pw_fingerprint_is_weak(&s->view) == weak);
  REQUIRE(s->view.ip_offset == (ip_offset == -1 ? -1 : ip_offset + (int64_t)SHIFT));
  REQUIRE(s->view.payload_offset == (payload_offset == -1 ? -1 : payload_offset + (int64_t)SHIFT));

  s->decodes += 2;
  return status;
}
