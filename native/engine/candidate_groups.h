/*
 * A node's vanish candidates while they gather packets, grouped by
 * (arrival interface, addresses, protocol, ports, certainty of direction) with an exact key: the
 * TypeScript hash finds the bucket, every field is compared. At most max_groups between takes
 * (reserved at init), beyond which packets are only counted (`overflow`, NodeCounters'
 * vanishedGroupsOverflow). A group's path (its first packet's hops) is kept in `hops` (PW_HOP_WORDS
 * per hop) and its sample bytes in `sample_bytes`, both emptied at each take.
 */
#ifndef PW_CANDIDATE_GROUPS_H
#define PW_CANDIDATE_GROUPS_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/f64_list.h"

#define PW_SAMPLE_FINGERPRINTS 5
/* Kernel drop reasons kept per group with their packets and where the kernel freed them; more go to kernel_other. */
#define PW_GROUP_KERNEL_REASONS 2
/* A hop: iface, dir, dir source, ts, encap kind (-1: none), outer version, outer src[4], outer dst[4], vni, ttl, length. */
#define PW_HOP_WORDS 18

typedef struct pw_group {
  uint32_t iface;
  uint32_t ip_version;
  uint32_t src[4];
  uint32_t dst[4];
  int32_t proto;
  uint32_t sport;
  uint32_t dport;
  uint8_t uncertain;
  uint8_t fingerprint_count;
  uint8_t has_sample;
  /* The TypeScript bucket hash: take() lists groups in its Map's order before sorting. */
  uint32_t hash;
  int32_t bucket;
  double packets;
  double first_seen;
  double last_seen;
  double fingerprints[PW_SAMPLE_FINGERPRINTS];
  int64_t mac_src;
  int64_t mac_dst;
  uint32_t path_at;
  uint32_t path_hops;
  uint32_t sample_at;
  uint32_t sample_length;
  uint32_t sample_orig_len;
  uint32_t sample_link_type;
  double sample_ts;
  /* Packets whose own kernel drop event matched (kernel_drops.h), by reason (the first two seen). */
  uint32_t kernel_reasons;
  uint32_t kernel_reason[PW_GROUP_KERNEL_REASONS];
  double kernel_packets[PW_GROUP_KERNEL_REASONS];
  uint64_t kernel_location[PW_GROUP_KERNEL_REASONS];
  double kernel_other;
} pw_group;

typedef struct pw_candidate_groups {
  pw_group *groups;
  uint32_t count;
  uint32_t max_groups;
  /* Open addressing over group index + 1 (0 empty), at least twice max_groups buckets. */
  int32_t *buckets;
  uint32_t mask;
  pw_f64_list hops;
  uint8_t *sample_bytes;
  uint32_t sample_slot_bytes;
  /* Candidate packets that found no room (NodeCounters.vanishedGroupsOverflow). */
  double overflow;
} pw_candidate_groups;

/* sample_slot_bytes: room per group for sample bytes (0 when the pipeline keeps none). */
bool pw_groups_init(pw_candidate_groups *g, uint32_t max_groups, uint32_t sample_slot_bytes, size_t max_hop_words);
void pw_groups_destroy(pw_candidate_groups *g);

/* The group with exactly this key, or NULL. */
pw_group *pw_groups_find(const pw_candidate_groups *g, const pw_group *key);
/* Adds a group (the caller found none with its key; key fields, hash set by pw_group_hash); NULL when the bound is reached. */
pw_group *pw_groups_add(pw_candidate_groups *g, const pw_group *key);
/* Sets key->hash from the key fields, as candidate-groups.ts's hashKey. */
void pw_group_hash(pw_group *key);
/* Empties the set (the caller has copied the groups out). */
void pw_groups_clear(pw_candidate_groups *g);

#endif
