/* Live capture through libpcap on its own thread (see live_capture.h for the design). */
#include "capture/live_capture.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture/pcap_block.h"

/* A capture thread waiting for a free block looks at the kernel's counters this often. */
#define WAIT_FOR_BLOCK_MS 100

/* Copies a message into c->message as one line (libpcap's texts have no newline, but be sure). */
static void set_message(struct capture *c, const char *prefix, const char *text) {
  snprintf(c->message, sizeof c->message, "%s%s", prefix ? prefix : "", text ? text : "");
  for (char *p = c->message; *p != '\0'; p++) {
    if (*p == '\n' || *p == '\r') *p = ' ';
  }
}

static bool post(struct capture *c, struct capture_event *ev) {
  return c->sink.post(c->sink.ctx, ev);
}

static void post_failure(struct capture *c, enum capture_failure failure) {
  c->failed_event = (struct capture_event){.type = CAPTURE_EVENT_FAILED, .failure = failure, .message = c->message};
  (void)post(c, &c->failed_event);
}

int capture_init(struct capture *c, struct capture_config *config, uint8_t *const *blocks, const size_t *capacity, unsigned nblocks, struct capture_sink sink, char *why, size_t why_len) {
  memset(c, 0, sizeof *c);
  c->filling = -1;
  if (nblocks < 2 || nblocks > CAPTURE_MAX_BLOCKS) {
    snprintf(why, why_len, "between 2 and %u blocks are needed, not %u", CAPTURE_MAX_BLOCKS, nblocks);
    return -1;
  }
  /* The first block holds the file header and one whole record at the snap length at least. */
  size_t smallest = PCAP_BLOCK_FILE_HEADER_LEN + pcap_block_record_len((uint32_t)config->snaplen);
  for (unsigned i = 0; i < nblocks; i++) {
    if (blocks[i] == NULL || capacity[i] < smallest) {
      snprintf(why, why_len, "block %u holds %zu bytes: the snap length %d needs %zu", i, capacity[i], config->snaplen, smallest);
      return -1;
    }
  }
  if (pthread_mutex_init(&c->mutex, NULL) != 0) {
    snprintf(why, why_len, "cannot make a mutex");
    return -1;
  }
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  int rc = pthread_cond_init(&c->block_freed, &attr);
  pthread_condattr_destroy(&attr);
  if (rc != 0) {
    pthread_mutex_destroy(&c->mutex);
    snprintf(why, why_len, "cannot make a condition variable");
    return -1;
  }
  c->config = *config;
  config->filter = NULL; /* the capture owns them now */
  config->netns = NULL;
  c->sink = sink;
  c->nblocks = nblocks;
  for (unsigned i = 0; i < nblocks; i++) {
    c->blocks[i] = blocks[i];
    c->capacity[i] = capacity[i];
    c->state[i] = BLOCK_FREE;
    c->free_ring[i] = i;
  }
  c->free_head = 0;
  c->free_count = nblocks;
  atomic_init(&c->stopping, false);
  return 0;
}

/* Reads the kernel's counters into c->counters. The pcap_t is only ever used on the capture thread. */
static void refresh_counters(struct capture *c, pcap_t *p) {
  struct pcap_stat st;
  if (pcap_stats(p, &st) != 0) return;
  pthread_mutex_lock(&c->mutex);
  /* libpcap's counters are 32 bits: add what changed since the last look, so ours never wrap. */
  c->counters.received += (unsigned)(st.ps_recv - c->last_recv);
  c->counters.dropped += (unsigned)(st.ps_drop - c->last_drop);
  pthread_mutex_unlock(&c->mutex);
  c->last_recv = st.ps_recv;
  c->last_drop = st.ps_drop;
}

/* Hands the block being filled to the consumer (when it holds anything). */
static void hand_over(struct capture *c) {
  if (c->filling < 0) return;
  unsigned i = (unsigned)c->filling;
  if (c->filled == 0) return; /* keep filling it */
  pthread_mutex_lock(&c->mutex);
  c->state[i] = BLOCK_HANDED_OVER;
  pthread_mutex_unlock(&c->mutex);
  c->block_events[i] = (struct capture_event){.type = CAPTURE_EVENT_BLOCK, .block = i, .length = c->filled};
  c->filling = -1;
  c->filled = 0;
  if (!post(c, &c->block_events[i])) {
    /* Nobody listens any more: the capture ends. */
    atomic_store(&c->stopping, true);
  }
}

/* Makes a free block the one being filled. Called with the mutex held and free_count > 0. */
static void claim_free_block(struct capture *c) {
  unsigned i = c->free_ring[c->free_head];
  c->free_head = (c->free_head + 1) % c->nblocks;
  c->free_count--;
  c->state[i] = BLOCK_FILLING;
  c->filling = (int)i;
  c->filled = 0;
}

/* Waits (bounded by stop) for a free block and makes it the one being filled; false when stopping. */
static bool take_block(struct capture *c) {
  pthread_mutex_lock(&c->mutex);
  while (c->free_count == 0 && !atomic_load(&c->stopping)) {
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += (long)WAIT_FOR_BLOCK_MS * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec += 1;
      until.tv_nsec -= 1000000000L;
    }
    if (pthread_cond_timedwait(&c->block_freed, &c->mutex, &until) == ETIMEDOUT && c->pcap != NULL) {
      /* Behind: the kernel is dropping now, and its counters must say so while we wait. */
      pcap_t *p = c->pcap;
      pthread_mutex_unlock(&c->mutex);
      refresh_counters(c, p);
      pthread_mutex_lock(&c->mutex);
    }
  }
  if (atomic_load(&c->stopping)) {
    pthread_mutex_unlock(&c->mutex);
    return false;
  }
  claim_free_block(c);
  pthread_mutex_unlock(&c->mutex);
  return true;
}

bool capture_release(struct capture *c, unsigned block) {
  pthread_mutex_lock(&c->mutex);
  bool ok = block < c->nblocks && c->state[block] == BLOCK_HANDED_OVER;
  if (ok) {
    c->state[block] = BLOCK_FREE;
    c->free_ring[(c->free_head + c->free_count) % c->nblocks] = block;
    c->free_count++;
    pthread_cond_signal(&c->block_freed);
  }
  pthread_mutex_unlock(&c->mutex);
  return ok;
}

/* pcap_dispatch's callback: one packet into the block being filled. */
static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes) {
  struct capture *c = (struct capture *)user;
  for (int attempt = 0; attempt < 2; attempt++) {
    if (c->filling < 0 && !take_block(c)) return; /* stopping: the packet goes with the rest */
    unsigned i = (unsigned)c->filling;
    size_t used = pcap_block_append(c->blocks[i], c->capacity[i], c->filled, h, bytes);
    if (used != c->filled) {
      c->filled = used;
      return;
    }
    hand_over(c); /* full: the next block takes it (a packet always fits an empty block) */
  }
}

static int enter_netns(struct capture *c) {
  int fd = open(c->config.netns, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
    char text[256];
    snprintf(text, sizeof text, "cannot enter network namespace %s: %s", c->config.netns, strerror(errno));
    set_message(c, NULL, text);
    if (fd >= 0) close(fd);
    return -1;
  }
  close(fd);
  return 0;
}

static enum capture_failure failure_of_status(int status) {
  switch (status) {
    case PCAP_ERROR_PERM_DENIED:
    case PCAP_ERROR_PROMISC_PERM_DENIED:
      return CAPTURE_FAILURE_PERMISSION;
    case PCAP_ERROR_NO_SUCH_DEVICE:
      return CAPTURE_FAILURE_NO_DEVICE;
    default:
      return CAPTURE_FAILURE_OTHER;
  }
}

/* Opens and configures the handle; NULL with c->message set and *failure said when it cannot. */
static pcap_t *open_handle(struct capture *c, enum capture_failure *failure) {
  char errbuf[PCAP_ERRBUF_SIZE];
  errbuf[0] = '\0';
  const bool any = strcmp(c->config.iface, "any") == 0;
  pcap_t *p = pcap_create(c->config.iface, errbuf);
  if (p == NULL) {
    set_message(c, NULL, errbuf);
    *failure = CAPTURE_FAILURE_OTHER;
    return NULL;
  }
  pcap_set_snaplen(p, c->config.snaplen);
  pcap_set_buffer_size(p, c->config.buffer_bytes);
  pcap_set_timeout(p, c->config.timeout_ms);
  /* Not immediate: libpcap then reads the kernel's TPACKET_V3 ring a retired block at a time. */
  pcap_set_immediate_mode(p, 0);
  /* As tcpdump did: promiscuous on one interface; `any` has no such mode. */
  pcap_set_promisc(p, any ? 0 : 1);
  (void)pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO); /* falls back to microseconds */
  int status = pcap_activate(p);
  if (status < 0) {
    const char *text = pcap_geterr(p);
    set_message(c, NULL, text != NULL && text[0] != '\0' ? text : pcap_statustostr(status));
    *failure = failure_of_status(status);
    pcap_close(p);
    return NULL;
  }
  /* Linux SLL2 on `any`: each packet's interface index and packet type (direction). */
  if (any && pcap_set_datalink(p, DLT_LINUX_SLL2) != 0) {
    set_message(c, "cannot use Linux SLL2 headers: ", pcap_geterr(p));
    *failure = CAPTURE_FAILURE_OTHER;
    pcap_close(p);
    return NULL;
  }
  if (c->config.filter != NULL && c->config.filter[0] != '\0') {
    struct bpf_program prog;
    /* After pcap_set_datalink: the filter is compiled for the link type the packets will have. */
    if (pcap_compile(p, &prog, c->config.filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
      set_message(c, NULL, pcap_geterr(p));
      *failure = CAPTURE_FAILURE_FILTER;
      pcap_close(p);
      return NULL;
    }
    int set = pcap_setfilter(p, &prog);
    pcap_freecode(&prog);
    if (set != 0) {
      set_message(c, NULL, pcap_geterr(p));
      *failure = CAPTURE_FAILURE_FILTER;
      pcap_close(p);
      return NULL;
    }
  }
  c->nano = pcap_get_tstamp_precision(p) == PCAP_TSTAMP_PRECISION_NANO;
  return p;
}

static void *capture_main(void *arg) {
  struct capture *c = (struct capture *)arg;
  /* Named, so that top, perf and the live benchmark can tell its CPU from the event loop's. */
  (void)pthread_setname_np(pthread_self(), "pw-capture");
  enum capture_failure failure = CAPTURE_FAILURE_NONE;
  pcap_t *p = NULL;
  if (c->config.netns != NULL && enter_netns(c) != 0) {
    failure = CAPTURE_FAILURE_NETNS;
  } else {
    p = open_handle(c, &failure);
  }
  if (p == NULL) {
    post_failure(c, failure);
    goto end;
  }
  /*
   * The file header goes at once, alone, and always (even when stop() came already): the consumer
   * learns the link type before any packet, and a capture stopped at once is an empty capture, not
   * an empty stream. Every block is free now.
   */
  pthread_mutex_lock(&c->mutex);
  c->pcap = p;
  claim_free_block(c);
  pthread_mutex_unlock(&c->mutex);
  unsigned first = (unsigned)c->filling;
  c->filled = pcap_block_file_header(c->blocks[first], c->capacity[first], c->nano, (uint32_t)pcap_snapshot(p), (uint32_t)pcap_datalink(p));
  c->ready_event = (struct capture_event){.type = CAPTURE_EVENT_READY, .linktype = pcap_datalink(p)};
  if (!post(c, &c->ready_event)) atomic_store(&c->stopping, true);
  hand_over(c);
  while (!atomic_load(&c->stopping)) {
    int n = pcap_dispatch(p, -1, on_packet, (u_char *)c);
    if (n == PCAP_ERROR) {
      /* The capture broke (the interface went away, or down): say why, then end. */
      set_message(c, NULL, pcap_geterr(p));
      post_failure(c, CAPTURE_FAILURE_OTHER);
      break;
    }
    /* The kernel had nothing more ready: what we hold goes now, with the counters as they are. */
    refresh_counters(c, p);
    hand_over(c);
  }
  /* Stopping: the packets of the block being filled are not lost (tcpdump writes them out too). */
  hand_over(c);
  refresh_counters(c, p);
  pthread_mutex_lock(&c->mutex);
  c->pcap = NULL;
  pthread_mutex_unlock(&c->mutex);
  pcap_close(p);

end:
  c->end_event = (struct capture_event){.type = CAPTURE_EVENT_END};
  (void)post(c, &c->end_event);
  return NULL;
}

int capture_start(struct capture *c) {
  /* Signals are the event loop's business: none is ever delivered to the capture thread. */
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  int rc = pthread_create(&c->thread, NULL, capture_main, c);
  pthread_sigmask(SIG_SETMASK, &previous, NULL);
  c->thread_started = rc == 0;
  return rc;
}

void capture_request_stop(struct capture *c) {
  atomic_store(&c->stopping, true);
  pthread_mutex_lock(&c->mutex);
  /* Under the mutex: the thread cannot close the handle meanwhile. On Linux this also wakes its poll. */
  if (c->pcap != NULL) pcap_breakloop(c->pcap);
  pthread_cond_broadcast(&c->block_freed);
  pthread_mutex_unlock(&c->mutex);
}

void capture_join(struct capture *c) {
  if (!c->thread_started || c->joined) return;
  pthread_join(c->thread, NULL);
  c->joined = true;
}

struct capture_counters capture_counters(struct capture *c) {
  pthread_mutex_lock(&c->mutex);
  struct capture_counters out = c->counters;
  pthread_mutex_unlock(&c->mutex);
  return out;
}

void capture_destroy(struct capture *c) {
  pthread_cond_destroy(&c->block_freed);
  pthread_mutex_destroy(&c->mutex);
  free(c->config.filter);
  free(c->config.netns);
  c->config.filter = NULL;
  c->config.netns = NULL;
}
