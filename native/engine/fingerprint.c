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
static inline uint32_t rotl32(uint32_t x, int r) {
  return (x << r) | (x >> (32 - r));
}

/* One murmur3 block round. */
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

/* Both running hashes, fed word by word: word a to hash a, word b to hash b. */
typedef struct hash_pair {
  uint32_t a;
  uint32_t b;
} hash_pair;

static inline void feed(hash_pair *h, uint32_t word_a, uint32_t word_b) {
  h->a = mix(h->a, word_a);
  h->b = mix(h->b, word_b);
}

/* Both fingerprints: with the payload prefix (pw_fingerprint) or without it (pw_fingerprint_headers). */
static inline uint64_t fingerprint_of(const pw_view *v, const uint8_t *data, bool with_payload) {
  if (v->ip_version == 0) return 0;
  /*
   * The TypeScript gathers the words into two arrays first (so V8 boxes nothing) and then mixes
   * them in order; mixing each pair as it is formed is the same sequence of rounds.
   */
  hash_pair h = {SEED_A, SEED_B};

  /* proto is -1 when unknown: & 0xff on its two's complement is JavaScript's 0xff too. */
  uint32_t head = (v->ip_version << 24) | (((uint32_t)v->proto & 0xff) << 16) | ((uint32_t)v->is_fragment << 15) |
                  ((uint32_t)v->more_fragments << 14);
  feed(&h, head, head ^ 0x5a5a5a5au);
  feed(&h, (uint32_t)(uint64_t)v->ip_length, (uint32_t)((uint64_t)v->ip_length + 0x3c6ef372u));
  feed(&h, v->ip_id, v->ip_id ^ 0xa54ff53au);
  feed(&h, v->frag_offset ^ (v->flow_label << 12), v->frag_offset + 0x510e527fu + v->flow_label);
  if (never_translated(v)) {
    for (int k = 0; k < 4; k++) {
      feed(&h, v->src[k], v->dst[k] ^ 0x2545f491u);
      feed(&h, v->dst[k], v->src[k] + 0x68e31da4u);
    }
  }
  int32_t proto = v->proto;
  if (proto == 6) {
    feed(&h, v->tcp_seq, v->tcp_seq ^ 0x1f83d9abu);
    feed(&h, v->tcp_ack, v->tcp_ack + 0x5be0cd19u);
    feed(&h, v->tcp_flags, v->tcp_flags ^ 0x6a09e667u);
  } else if (proto == 17) {
    feed(&h, v->udp_length, v->udp_length ^ 0x6a09e667u);
  } else if (proto == 1 || proto == 58) {
    /* icmp_type/code/seq are -1 when not read: masked, as JavaScript masks them. */
    uint32_t icmp = (((uint32_t)v->icmp_type & 0xff) << 24) | (((uint32_t)v->icmp_code & 0xff) << 16) |
                    ((uint32_t)v->icmp_seq & 0xffff);
    feed(&h, icmp, icmp ^ 0xbb67ae85u);
    feed(&h, v->quoted_ip_id, v->quoted_ip_id + 0x3c6ef372u);
  }
  int64_t start = with_payload ? v->payload_offset : -1;
  if (start >= 0) {
    int64_t end = v->payload_end < start + PW_FINGERPRINT_PAYLOAD_BYTES ? v->payload_end : start + PW_FINGERPRINT_PAYLOAD_BYTES;
    int64_t i = start;
    for (; i + 4 <= end; i += 4) {
      uint32_t w = ((uint32_t)data[i] << 24) | ((uint32_t)data[i + 1] << 16) | ((uint32_t)data[i + 2] << 8) | (uint32_t)data[i + 3];
      feed(&h, w, w ^ 0x9e3779b9u);
    }
    uint32_t tail = 0;
    for (; i < end; i++) tail = (tail << 8) | data[i];
    /* end - start may be negative only if payload_end < payload_offset (no decoder leaves that). */
    uint32_t len = (uint32_t)(uint64_t)(end - start);
    feed(&h, tail ^ len, tail + len);
  }

  uint64_t fp = ((uint64_t)(fmix(h.a) & 0x1fffffu) << 32) | fmix(h.b);
  // The headers-only value lives in the other half of the 53-bit space's top bit, so it never
  // stands for a whole packet's fingerprint by construction of the pair of hashes alone.
  if (!with_payload) fp ^= (uint64_t)1 << 52;
  return fp == 0 ? 1 : fp;
}

uint64_t pw_fingerprint(const pw_view *v, const uint8_t *data) {
  return fingerprint_of(v, data, true);
}

uint64_t pw_fingerprint_headers(const pw_view *v) {
  return fingerprint_of(v, NULL, false);
}

bool pw_fingerprint_is_weak(const pw_view *v) {
  if (v->truncated == 0) return false;
  if (v->l4_valid == 0) return v->proto == 6 || v->proto == 17 || v->proto == 1 || v->proto == 58;
  return v->payload_end - v->payload_offset < PW_FINGERPRINT_PAYLOAD_BYTES;
}
