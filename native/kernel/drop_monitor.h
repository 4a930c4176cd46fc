/*
 * The kernel drop monitor (issue 15): loads native/bpf/drop_monitor.bpf.o through libbpf, attaches
 * it to skb:kfree_skb, and reads its ring buffer in batches. Everything here runs on the caller's
 * thread; pw_drop_monitor_poll never blocks.
 */
#ifndef PW_DROP_MONITOR_H
#define PW_DROP_MONITOR_H

#include <stddef.h>
#include <stdint.h>

#include "bpf/drop_event.h"

typedef struct pw_drop_monitor pw_drop_monitor;

/*
 * Opens, loads and attaches the program from `object_path`, reporting only drops whose device is in
 * the network namespace `only_netns` (0: all) and whose reason is at least `min_reason`. NULL with a
 * one-line reason in `err` when it cannot (no BTF, no privileges, a kernel without the tracepoint).
 */
pw_drop_monitor *pw_drop_monitor_open(const char *object_path, uint32_t only_netns, uint32_t min_reason, char *err, size_t err_len);

/* Copies up to `max` waiting events into `out`; returns how many. Those left wait for the next call. */
size_t pw_drop_monitor_poll(pw_drop_monitor *m, struct pw_drop_event *out, size_t max);

void pw_drop_monitor_close(pw_drop_monitor *m);

#endif
