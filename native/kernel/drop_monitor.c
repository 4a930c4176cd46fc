/* The kernel drop monitor: see drop_monitor.h. */
#include "kernel/drop_monitor.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

struct pw_drop_monitor {
  struct bpf_object *object;
  struct bpf_link *link;
  struct ring_buffer *ring;
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

/* The object's read-only data (its `const volatile` settings), written before the load. */
static bool set_settings(struct bpf_object *object, uint32_t only_netns, uint32_t min_reason) {
  struct bpf_map *map;
  bpf_object__for_each_map(map, object) {
    const char *name = bpf_map__name(map);
    size_t n = strlen(name);
    if (!bpf_map__is_internal(map) || n < 7 || strcmp(name + n - 7, ".rodata") != 0) continue;
    size_t size = 0;
    const void *initial = bpf_map__initial_value(map, &size);
    uint32_t words[2];
    if (initial == NULL || size != sizeof words) return false;
    // In declaration order: only_netns, then min_reason.
    words[0] = only_netns;
    words[1] = min_reason;
    return bpf_map__set_initial_value(map, words, sizeof words) == 0;
  }
  return false;
}

static void fail(char *err, size_t err_len, const char *what, int code) {
  snprintf(err, err_len, "%s: %s", what, strerror(code < 0 ? -code : code));
}

pw_drop_monitor *pw_drop_monitor_open(const char *object_path, uint32_t only_netns, uint32_t min_reason, char *err, size_t err_len) {
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
  if (!set_settings(m->object, only_netns, min_reason)) {
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
  if (prog == NULL || events == NULL) {
    snprintf(err, err_len, "the BPF object lacks on_kfree_skb or its events map");
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

void pw_drop_monitor_close(pw_drop_monitor *m) {
  if (m == NULL) return;
  ring_buffer__free(m->ring);
  bpf_link__destroy(m->link);
  bpf_object__close(m->object);
  free(m);
}
