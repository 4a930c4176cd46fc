/*
 * The flow table: one slot per (interface, direction, inner 5-tuple,
 * outer encapsulation), found by open addressing with an exact comparison of the key, so the
 * per-packet cost is a hash, a probe or two and a few writes. Every interval the counters are
 * emitted as records and reset; slots idle for two intervals are recycled. A slot's direction may be
 * learned after its first packet (correlation finds it): the matcher writes it back through
 * pw_flow_table_set_direction().
 *
 * The same slots, hashes, probe order, free list (last freed, first reused), flush order and
 * overflow rule as TypeScript, so both number flows alike and emit the same records in the same
 * order. Memory: the slots and buckets for max_flows are reserved at init (calloc, so pages are only
 * touched as slots are used) and the TypeScript table's doubling is kept as a logical capacity;
 * adding a packet never allocates.
 *
 * Layout: flows are looked up in random order, so each slot's fields sit together in one 128-byte
 * pw_flow_slot (two cache lines): the first holds what every lookup compares and every packet
 * updates (the IPv4 key words and the counters), the second the rest of the key.
 */
#ifndef PW_FLOW_TABLE_H
#define PW_FLOW_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/encap_chains.h"
#include "engine/pw_view.h"

/* Direction (agent/capture/capture-record.ts). */
#define PW_DIR_UNKNOWN 0
#define PW_DIR_IN 1
#define PW_DIR_OUT 2

/* The TypeScript defaults: 4096 slots at first, at most 2^18 (32 MiB of slots). */
#define PW_FLOW_INITIAL_CAPACITY (1u << 12)
#define PW_FLOW_MAX_FLOWS (1u << 18)

/*
 * One slot, word for word the TypeScript slot's 32 words (its Uint32Array and Float64Array over one
 * buffer), so the record layout JS reads (pw_flow_table_flush) is the slot itself.
 */
typedef struct pw_flow_slot {
  uint32_t iface;
  /* dir at creation | proto << 8 | ip version << 16 | outermost encap kind << 24 */
  uint32_t meta;
  uint32_t src0;
  uint32_t dst0;
  /* sport << 16 | dport */
  uint32_t ports;
  uint32_t hash;
  /* live | originated << 1 | resolved dir << 2 | idle intervals << 4 */
  uint32_t state;
  /* The outermost layer's VNI or key as stored (0xffffffff for none); 0 without encapsulation. */
  uint32_t vni;
  double packets;
  double bytes;
  /* Milliseconds since the epoch (fractional); +inf / -inf while the interval has no packet. */
  double first;
  double last;
  uint32_t src[4];
  uint32_t dst[4];
  uint32_t outer_src[4];
  uint32_t outer_dst[4];
} pw_flow_slot;

typedef struct pw_flow_table_stats {
  double flows;
  double records;
  /* Packets not counted in any flow because the table was full of flows active this interval. */
  double overflow_packets;
} pw_flow_table_stats;

typedef struct pw_flow_table {
  pw_flow_slot *slots;
  /* Outer IP version per slot (rarely read). */
  uint8_t *outer_versions;
  /* Per slot, the id of its whole encapsulation chain when it has two layers or more (else 0). */
  uint16_t *chain_ids;
  /* Open-addressing buckets holding slot + 1 (0 = empty), at most half full; bucket_count of them in use. */
  int32_t *buckets;
  uint32_t bucket_count;
  /* Slots in use by the logical (TypeScript) capacity, and that capacity. */
  uint32_t used;
  uint32_t capacity;
  uint32_t max_flows;
  /* Freed slots, last freed on top. */
  uint32_t *free_list;
  uint32_t free_count;
  /* Set when the table is full of active flows: no rescans until the next flush frees slots. */
  bool full_until_flush;
  /* Whether the last add created its slot (a flow's first packet): callers learn from it once. */
  bool created;
  pw_flow_table_stats stats;
  /* The chains chain_ids name. */
  pw_encap_chains chains;
} pw_flow_table;

/*
 * Reserves a table that starts at initial_capacity slots and grows by doubling to max_flows: when
 * every slot holds a flow active in this interval, further new flows are counted as overflow until
 * the next flush. Both must be powers of two, initial_capacity <= max_flows <= PW_FLOW_MAX_FLOWS
 * (buckets are found with a mask, in TypeScript too, which does not check it); false otherwise, or
 * when memory is short.
 */
bool pw_flow_table_init(pw_flow_table *t, uint32_t initial_capacity, uint32_t max_flows);
void pw_flow_table_destroy(pw_flow_table *t);

/* Counts one packet of `length` bytes on the wire at ts_ms; returns the flow's slot, or -1 (overflow). */
int32_t pw_flow_table_add(pw_flow_table *t, const pw_view *view, uint32_t iface_id, uint32_t dir, double length, double ts_ms);
/*
 * Hints for a block loop, no change of state: the first asks for the home bucket of the flow a
 * packet will be added to (returns it + 1, or 0 when nothing was asked), the second, once that
 * bucket's line has come, for the slot it names. pw_flow_table_add then mostly finds both in cache.
 */
uint32_t pw_flow_table_prefetch(const pw_flow_table *t, const pw_view *view, uint32_t iface_id, uint32_t dir);
void pw_flow_table_prefetch_slot(const pw_flow_table *t, uint32_t bucket);

/* Called by pw_flow_table_flush for each flow with packets this interval, before its counters reset. */
typedef void (*pw_flow_record_fn)(void *ctx, const pw_flow_table *t, uint32_t slot);

/*
 * Emits the interval's counters for every flow with packets (in slot order) and resets them; flows
 * idle for two intervals free their slot.
 */
void pw_flow_table_flush(pw_flow_table *t, pw_flow_record_fn on_record, void *ctx);

/*
 * Sets the direction correlation found for a flow keyed without one; true when that made the flow's
 * direction known (the moment to learn from it), false when it was known already.
 */
bool pw_flow_table_set_direction(pw_flow_table *t, int32_t slot, uint32_t dir);

/* Marks a flow as sent by the node itself; true the first time. */
bool pw_flow_table_mark_originated(pw_flow_table *t, int32_t slot);

/* ---- per-slot accessors (correlation and knowledge; not per packet). slot < t->used. ---- */

/* The direction: as keyed, or as correlation resolved it later. */
static inline uint32_t pw_flow_dir(const pw_flow_table *t, uint32_t slot) {
  const pw_flow_slot *s = &t->slots[slot];
  uint32_t resolved = (s->state >> 2) & 3;
  return resolved != 0 ? resolved : s->meta & 0xff;
}
static inline uint32_t pw_flow_iface(const pw_flow_table *t, uint32_t slot) { return t->slots[slot].iface; }
static inline uint32_t pw_flow_ip_version(const pw_flow_table *t, uint32_t slot) { return (t->slots[slot].meta >> 16) & 0xff; }
static inline uint32_t pw_flow_encap_kind(const pw_flow_table *t, uint32_t slot) { return t->slots[slot].meta >> 24; }
/* IP protocol of the flow's innermost packet. */
static inline uint32_t pw_flow_proto(const pw_flow_table *t, uint32_t slot) { return (t->slots[slot].meta >> 8) & 0xff; }
/* Source port << 16 | destination port (0 when the packet had no transport header). */
static inline uint32_t pw_flow_ports(const pw_flow_table *t, uint32_t slot) { return t->slots[slot].ports; }
static inline uint32_t pw_flow_outer_version(const pw_flow_table *t, uint32_t slot) { return t->outer_versions[slot]; }
static inline uint32_t pw_flow_chain_id(const pw_flow_table *t, uint32_t slot) { return t->chain_ids[slot]; }
static inline bool pw_flow_originated(const pw_flow_table *t, uint32_t slot) { return ((t->slots[slot].state >> 1) & 1) == 1; }

#endif
