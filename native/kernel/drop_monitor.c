/* The kernel drop monitor: see drop_monitor.h. */
#include "kernel/drop_monitor.h"

#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

struct pw_drop_monitor {
  struct bpf_object *object;
  struct bpf_link *link;
  struct ring_buffer *ring;
  struct bpf_map *lost;
  struct bpf_map *counts;
  /* The batch being filled by the ring buffer's callback. */
  struct pw_drop_event *out;
  size_t max;
  size_t count;
};

/* libbpf's own messages would go to stderr line by line: the caller says one line instead. */
static int quiet(enum libbpf_print_level level, const char *format, va_list args) {
  (void)level;
  (void)format;
  (void)args;
  return 0;
}

static int on_event(void *ctx, void *data, size_t size) {
  pw_drop_monitor *m = ctx;
  if (size < sizeof(struct pw_drop_event) || m->count >= m->max) return 0;
  memcpy(&m->out[m->count++], data, sizeof(struct pw_drop_event));
  // Full: stop here; this event is kept, the next ones wait in the ring for the next poll.
  return m->count == m->max ? -ENOSPC : 0;
}

/* Writes `size` bytes at the offset of the read-only variable `name` in `data` (from the object's BTF). */
static bool set_variable(const struct btf *btf, const struct btf_type *sec, unsigned char *data, size_t data_size, const char *name, const void *value, size_t size) {
  const struct btf_var_secinfo *v = btf_var_secinfos(sec);
  for (unsigned i = 0; i < btf_vlen(sec); i++, v++) {
    const struct btf_type *var = btf__type_by_id(btf, v->type);
    if (var == NULL || strcmp(btf__name_by_offset(btf, var->name_off), name) != 0) continue;
    if (v->size != size || (size_t)v->offset + size > data_size) return false;
    memcpy(data + v->offset, value, size);
    return true;
  }
  return false;
}

/*
 * The object's read-only data (its `const volatile` settings), written before the load, each
 * variable at the offset the object's BTF gives it (the compiler chooses the layout).
 */
static bool set_settings(struct bpf_object *object, uint32_t only_netns, uint32_t min_reason, const uint64_t counted_only[PW_DROP_COUNTED_REASONS / 64]) {
  const struct btf *btf = bpf_object__btf(object);
  if (btf == NULL) return false;
  struct bpf_map *map;
  bpf_object__for_each_map(map, object) {
    const char *name = bpf_map__name(map);
    size_t n = strlen(name);
    if (!bpf_map__is_internal(map) || n < 7 || strcmp(name + n - 7, ".rodata") != 0) continue;
    size_t size = 0;
    const void *initial = bpf_map__initial_value(map, &size);
    int id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
    const struct btf_type *sec = id > 0 ? btf__type_by_id(btf, (unsigned)id) : NULL;
    if (initial == NULL || sec == NULL || size > 4096) return false;
    unsigned char data[4096];
    memcpy(data, initial, size);
    uint64_t bits[PW_DROP_COUNTED_REASONS / 64];
    memcpy(bits, counted_only, sizeof bits);
    if (!set_variable(btf, sec, data, size, "only_netns", &only_netns, sizeof only_netns) ||
        !set_variable(btf, sec, data, size, "min_reason", &min_reason, sizeof min_reason) ||
        !set_variable(btf, sec, data, size, "counted_only", bits, sizeof bits))
      return false;
    return bpf_map__set_initial_value(map, data, size) == 0;
  }
  return false;
}

static void fail(char *err, size_t err_len, const char *what, int code) {
  snprintf(err, err_len, "%s: %s", what, strerror(code < 0 ? -code : code));
}

pw_drop_monitor *pw_drop_monitor_open(const char *object_path, uint32_t only_netns, uint32_t min_reason, const uint64_t counted_only[PW_DROP_COUNTED_REASONS / 64],
                                      char *err, size_t err_len) {
  libbpf_set_print(quiet);
  pw_drop_monitor *m = calloc(1, sizeof *m);
  if (m == NULL) {
    fail(err, err_len, "drop monitor", ENOMEM);
    return NULL;
  }
  m->object = bpf_object__open_file(object_path, NULL);
  int e = libbpf_get_error(m->object);
  if (e != 0) {
    m->object = NULL;
    fail(err, err_len, "cannot open the BPF object", e);
    goto out;
  }
  if (!set_settings(m->object, only_netns, min_reason, counted_only)) {
    snprintf(err, err_len, "the BPF object has no settings to write (built from another source?)");
    goto out;
  }
  e = bpf_object__load(m->object);
  if (e != 0) {
    fail(err, err_len, e == -EPERM ? "loading the BPF program needs CAP_BPF and CAP_PERFMON" : "the kernel refused the BPF program", e);
    goto out;
  }
  struct bpf_program *prog = bpf_object__find_program_by_name(m->object, "on_kfree_skb");
  struct bpf_map *events = bpf_object__find_map_by_name(m->object, "events");
  m->lost = bpf_object__find_map_by_name(m->object, "lost");
  m->counts = bpf_object__find_map_by_name(m->object, "counts");
  if (prog == NULL || events == NULL || m->lost == NULL || m->counts == NULL) {
    snprintf(err, err_len, "the BPF object lacks on_kfree_skb or its maps");
    goto out;
  }
  m->link = bpf_program__attach(prog);
  e = libbpf_get_error(m->link);
  if (e != 0) {
    m->link = NULL;
    fail(err, err_len, "cannot attach to skb:kfree_skb", e);
    goto out;
  }
  m->ring = ring_buffer__new(bpf_map__fd(events), on_event, m, NULL);
  e = libbpf_get_error(m->ring);
  if (e != 0) {
    m->ring = NULL;
    fail(err, err_len, "cannot map the drop ring buffer", e);
    goto out;
  }
  // Loading parsed the kernel's BTF (megabytes) and freed it: give those pages back now, or the
  // agent carries them for its whole life.
  malloc_trim(0);
  return m;
out:
  pw_drop_monitor_close(m);
  return NULL;
}

size_t pw_drop_monitor_poll(pw_drop_monitor *m, struct pw_drop_event *out, size_t max) {
  if (m == NULL || max == 0) return 0;
  m->out = out;
  m->max = max;
  m->count = 0;
  (void)ring_buffer__consume(m->ring);
  m->out = NULL;
  return m->count;
}

uint64_t pw_drop_monitor_lost(const pw_drop_monitor *m) {
  if (m == NULL || m->lost == NULL) return 0;
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return 0;
  uint64_t *values = calloc((size_t)cpus, sizeof *values);
  if (values == NULL) return 0;
  uint32_t zero = 0;
  uint64_t sum = 0;
  if (bpf_map__lookup_elem(m->lost, &zero, sizeof zero, values, (size_t)cpus * sizeof *values, 0) == 0)
    for (int i = 0; i < cpus; i++) sum += values[i];
  free(values);
  return sum;
}

size_t pw_drop_monitor_counts(const pw_drop_monitor *m, double *out, size_t max) {
  if (m == NULL || m->counts == NULL) return 0;
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return 0;
  uint64_t *values = calloc((size_t)cpus, sizeof *values);
  if (values == NULL) return 0;
  struct {
    uint32_t reason;
    uint32_t ifindex;
  } key, next;
  size_t n = 0;
  const void *at = NULL;
  while (bpf_map__get_next_key(m->counts, at, &next, sizeof next) == 0) {
    key = next;
    at = &key;
    if (bpf_map__lookup_elem(m->counts, &key, sizeof key, values, (size_t)cpus * sizeof *values, 0) != 0) continue;
    uint64_t sum = 0;
    for (int i = 0; i < cpus; i++) sum += values[i];
    if (n < max) {
      out[3 * n] = key.reason;
      out[3 * n + 1] = key.ifindex;
      out[3 * n + 2] = (double)sum;
    }
    n++;
  }
  free(values);
  return n;
}

void pw_drop_monitor_close(pw_drop_monitor *m) {
  if (m == NULL) return;
  ring_buffer__free(m->ring);
  bpf_link__destroy(m->link);
  bpf_object__close(m->object);
  free(m);
}
