/*
 * The fingerprint's arithmetic, reproducing JavaScript's: the TypeScript gathers 32-bit words into
 * Int32Arrays (a store is ToInt32, i.e. the value modulo 2^32) and hashes them with Math.imul, <<,
 * >>> and |0, all of which are the same bits as uint32_t arithmetic modulo 2^32. So every word here
 * is a uint32_t; a sum the TypeScript forms in doubles before the store (ip_length + constant, with
 * ip_length up to 2^32 + 39 for a jumbogram) is formed in 64 bits and then truncated, which is the
 * same thing as ToInt32 for these exact integers.
 */
#include "engine/fingerprint.h"

#define SEED_A 0x9747b28cu
#define SEED_B 0x5bd1e995u
/* At most 4 header words, 8 address words, 3 transport words and 5 payload words. */
#define MAX_WORDS 24

static inline uint32_t rotl32(uint32_t x, int r) {
  return (x << r) | (x >> (32 - r));
}

/* One murmur3 block round (agent/flow/hash-mix.ts). */
static inline uint32_t mix(uint32_t h, uint32_t k) {
  k *= 0xcc9e2d51u;
  k = rotl32(k, 15);
  h ^= k * 0x1b873593u;
  h = rotl32(h, 13);
  return h * 5u + 0xe6546b64u;
}

/* murmur3's finaliser. */
static inline uint32_t fmix(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

/* Multicast, broadcast and link-local packets: never NATed, so their addresses can be hashed. */
static bool never_translated(const pw_view *v) {
  uint32_t d = v->dst[0];
  uint32_t s = v->src[0];
  if (v->ip_version == 4) return d >> 28 == 0xe || d == 0xffffffffu || s >> 16 == 0xa9fe || d >> 16 == 0xa9fe;
  return d >> 24 == 0xff || s >> 22 == 0x3fa || d >> 22 == 0x3fa;
}

uint64_t pw_fingerprint(const pw_view *v, const uint8_t *data) {
  if (v->ip_version == 0) return 0;
  uint32_t in_a[MAX_WORDS];
  uint32_t in_b[MAX_WORDS];
  int n = 0;
#define PUSH(a, b)                                                                                 \
  do {                                                                                             \
    in_a[n] = (uint32_t)(a);                                                                       \
    in_b[n] = (uint32_t)(b);                                                                       \
    n++;                                                                                           \
  } while (0)

  /* proto is -1 when unknown: & 0xff on its two's complement is JavaScript's 0xff too. */
  uint32_t head = (v->ip_version << 24) | (((uint32_t)v->proto & 0xff) << 16) | ((uint32_t)v->is_fragment << 15) |
                  ((uint32_t)v->more_fragments << 14);
  PUSH(head, head ^ 0x5a5a5a5au);
  PUSH((uint64_t)v->ip_length, (uint64_t)v->ip_length + 0x3c6ef372u);
  PUSH(v->ip_id, v->ip_id ^ 0xa54ff53au);
  PUSH(v->frag_offset ^ (v->flow_label << 12), v->frag_offset + 0x510e527fu + v->flow_label);
  if (never_translated(v)) {
    for (int k = 0; k < 4; k++) {
      PUSH(v->src[k], v->dst[k] ^ 0x2545f491u);
      PUSH(v->dst[k], v->src[k] + 0x68e31da4u);
    }
  }
  int32_t proto = v->proto;
  if (proto == 6) {
    PUSH(v->tcp_seq, v->tcp_seq ^ 0x1f83d9abu);
    PUSH(v->tcp_ack, v->tcp_ack + 0x5be0cd19u);
    PUSH(v->tcp_flags, v->tcp_flags ^ 0x6a09e667u);
  } else if (proto == 17) {
    PUSH(v->udp_length, v->udp_length ^ 0x6a09e667u);
  } else if (proto == 1 || proto == 58) {
    /* icmp_type/code/seq are -1 when not read: masked, as JavaScript masks them. */
    uint32_t icmp = (((uint32_t)v->icmp_type & 0xff) << 24) | (((uint32_t)v->icmp_code & 0xff) << 16) |
                    ((uint32_t)v->icmp_seq & 0xffff);
    PUSH(icmp, icmp ^ 0xbb67ae85u);
    PUSH(v->quoted_ip_id, v->quoted_ip_id + 0x3c6ef372u);
  }
  int64_t start = v->payload_offset;
  if (start >= 0) {
    int64_t end = v->payload_end < start + PW_FINGERPRINT_PAYLOAD_BYTES ? v->payload_end : start + PW_FINGERPRINT_PAYLOAD_BYTES;
    int64_t i = start;
    for (; i + 4 <= end; i += 4) {
      uint32_t w = ((uint32_t)data[i] << 24) | ((uint32_t)data[i + 1] << 16) | ((uint32_t)data[i + 2] << 8) | (uint32_t)data[i + 3];
      PUSH(w, w ^ 0x9e3779b9u);
    }
    uint32_t tail = 0;
    for (; i < end; i++) tail = (tail << 8) | data[i];
    /* end - start may be negative only if payload_end < payload_offset (no decoder leaves that). */
    uint32_t len = (uint32_t)(uint64_t)(end - start);
    PUSH(tail ^ len, tail + len);
  }
#undef PUSH

  /* murmur3's block mixing over both word streams, then its finaliser. */
  uint32_t a = SEED_A;
  uint32_t b = SEED_B;
  for (int i = 0; i < n; i++) {
    a = mix(a, in_a[i]);
    b = mix(b, in_b[i]);
  }
  a = fmix(a);
  b = fmix(b);
  uint64_t fp = ((uint64_t)(a & 0x1fffffu) << 32) | b;
  return fp == 0 ? 1 : fp;
}

bool pw_fingerprint_is_weak(const pw_view *v) {
  if (v->truncated == 0) return false;
  if (v->l4_valid == 0) return v->proto == 6 || v->proto == 17 || v->proto == 1 || v->proto == 58;
  return v->payload_end - v->payload_offset < PW_FINGERPRINT_PAYLOAD_BYTES;
}
