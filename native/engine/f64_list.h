/*
 * A list of doubles that grows by doubling up to a bound: where the matcher keeps what it found
 * between two takes (candidate paths, tunnel hops), in the compact form JavaScript reads. Growing
 * allocates once per doubling, never per packet in steady state; past the bound pushes fail and the
 * caller counts the loss.
 */
#ifndef PW_F64_LIST_H
#define PW_F64_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

typedef struct pw_f64_list {
  double *d;
  size_t len;
  size_t cap;
  size_t max;
} pw_f64_list;

static inline void pw_f64_list_init(pw_f64_list *l, size_t max) {
  l->d = NULL;
  l->len = 0;
  l->cap = 0;
  l->max = max;
}

static inline void pw_f64_list_destroy(pw_f64_list *l) {
  free(l->d);
  l->d = NULL;
  l->len = l->cap = 0;
}

/* Room for n more values at the end (the list's length grows by n), or NULL past the bound. */
static inline double *pw_f64_list_push(pw_f64_list *l, size_t n) {
  if (l->len + n > l->cap) {
    if (l->len + n > l->max) return NULL;
    size_t cap = l->cap == 0 ? 1024 : l->cap;
    while (cap < l->len + n) cap *= 2;
    if (cap > l->max) cap = l->max;
    double *d = realloc(l->d, cap * sizeof *d);
    if (d == NULL) return NULL;
    l->d = d;
    l->cap = cap;
  }
  double *at = l->d + l->len;
  l->len += n;
  return at;
}

#endif
