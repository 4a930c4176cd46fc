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

/* Reasons below this number can be marked counted-only. */
#define PW_DROP_COUNTED_REASONS 256

/*
 * Opens, loads and attaches the program from `object_path`, reporting only drops whose device is in
 * the network namespace `only_netns` (0: all) and whose reason is at least `min_reason`; drops of the
 * reasons whose bit is set in `counted_only` (PW_DROP_COUNTED_REASONS bits) are counted per reason
 * and device in the kernel instead of sent (pw_drop_monitor_counts). NULL with a one-line reason in
 * `err` when it cannot (no BTF, no privileges, a kernel without the tracepoint).
 */
pw_drop_monitor *pw_drop_monitor_open(const char *object_path, uint32_t only_netns, uint32_t min_reason, const uint64_t counted_only[PW_DROP_COUNTED_REASONS / 64],
                                      char *err, size_t err_len);

/*
 * The counted-only drops so far: up to `max` (reason, ifindex, count) triples into `out` (three
 * doubles each); returns how many pairs there are (more than `max` when `out` was too small).
 */
size_t pw_drop_monitor_counts(const pw_drop_monitor *m, double *out, size_t max);

/* Copies up to `max` waiting events into `out`; returns how many. Those left wait for the next call. */
size_t pw_drop_monitor_poll(pw_drop_monitor *m, struct pw_drop_event *out, size_t max);

/* Events the ring buffer had no room for since the start (the program counts them per CPU). */
uint64_t pw_drop_monitor_lost(const pw_drop_monitor *m);

void pw_drop_monitor_close(pw_drop_monitor *m);

#endif
