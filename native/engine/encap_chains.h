/*
 * Encapsulation chains of two layers or more: IPIP inside VXLAN, PPTP
 * over 4in6, nested GRE, interned to small ids so the flow table keys a flow by its whole chain
 * while its slot keeps only the outermost layer. One-layer chains, nearly all traffic, never come here.
 *
 * Rows are fixed-stride words found by open addressing, ids given in order of first sight as in
 * TypeScript. The rows and buckets for the most chains there can be (PW_CHAINS_MAX) are reserved at
 * init (calloc: pages are only touched as rows are written), so interning never allocates; the
 * TypeScript table's doubling of rows and buckets is kept as a logical size so probes run the same.
 */
#ifndef PW_ENCAP_CHAINS_H
#define PW_ENCAP_CHAINS_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/pw_view.h"

/* Per layer: kind, outer IP version, VNI, 4 source words, 4 destination words. */
#define PW_CHAIN_LAYER_WORDS 11
/* depth, then the layers. */
#define PW_CHAIN_ROW_WORDS (1 + PW_MAX_ENCAP_DEPTH * PW_CHAIN_LAYER_WORDS)
/* Ids fit the flow table's 16-bit field; 0 means "no chain beyond the outermost layer". */
#define PW_CHAINS_MAX 0xffffu

typedef struct pw_encap_chains {
  /* (PW_CHAINS_MAX + 1) rows; row 0 is unused: id 0 is "none". */
  uint32_t *rows;
  uint32_t count;
  /* Bucket i holds an id, 0 = empty; bucket_count is a power of two, at most half full. */
  uint32_t *buckets;
  uint32_t bucket_count;
  /* Chains not interned because the table was full: their flows keep only the outermost layer. */
  uint64_t overflow;
} pw_encap_chains;

/* Reserves the tables; false when memory is short (nothing to free then). */
bool pw_encap_chains_init(pw_encap_chains *c);
void pw_encap_chains_destroy(pw_encap_chains *c);

/* The id of the view's chain (0 when it has fewer than two layers, or the table is full). */
uint32_t pw_encap_chains_id_of(pw_encap_chains *c, const pw_view *view);

/* The stored row of an id (depth, then PW_CHAIN_LAYER_WORDS per layer), or NULL for an unknown id. */
const uint32_t *pw_encap_chains_row(const pw_encap_chains *c, uint32_t id);

#endif
