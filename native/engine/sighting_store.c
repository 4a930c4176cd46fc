/* Open sightings: see sighting_store.h. */
#include "engine/sighting_store.h"

#include <stdlib.h>

#include "engine/huge_pages.h"

bool pw_sighting_store_init(pw_sighting_store *s, uint32_t capacity) {
  s->rec = calloc(capacity, sizeof *s->rec);
  s->outer = calloc(capacity, sizeof *s->outer);
  s->capacity = capacity;
  s->used = 0;
  s->free_head = -1;
  s->live = 0;
  pw_advise_huge(s->rec, (size_t)capacity * sizeof *s->rec);
  pw_advise_huge(s->outer, (size_t)capacity * sizeof *s->outer);
  if (s->rec == NULL || s->outer == NULL) {
    pw_sighting_store_destroy(s);
    return false;
  }
  return true;
}

void pw_sighting_store_destroy(pw_sighting_store *s) {
  free(s->rec);
  free(s->outer);
  s->rec = NULL;
  s->outer = NULL;
}
