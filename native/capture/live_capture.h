/*
 * Live capture through libpcap on a thread of its own, handing the packets over in blocks.
 *
 * The handle is opened on the capture thread (inside the requested network namespace, if any):
 * `any` (or one interface), non-immediate mode so that libpcap uses the kernel's TPACKET_V3 block
 * ring, a read timeout (the kernel retires a partly filled block after it), Linux SLL2 headers on
 * `any` (each packet's interface index and packet type), the filter compiled by libpcap. The thread
 * then loops on pcap_dispatch with a C callback that appends each packet, in pcap file format, to
 * the block it is filling; a block goes to the consumer when the next packet does not fit, and
 * whenever pcap_dispatch returns (the kernel had nothing more ready), so a quiet link's packets
 * wait no longer than the read timeout. Never one hand-over per packet.
 *
 * Memory is bounded: the blocks are the caller's (a fixed number, each of a fixed size), and a block
 * handed over comes back only when the consumer releases it. When the consumer falls behind and
 * every block is out, the capture thread waits for one instead of allocating more: the kernel's ring
 * (the buffer size) absorbs the backlog meanwhile, and what it cannot hold it drops and counts,
 * which pcap_stats reports as the capture's own loss. Growing a queue in this process instead would
 * turn a slow consumer into unbounded memory, and its loss into a crash.
 *
 * Everything here is plain C and knows nothing of Node: events reach the consumer through
 * `capture_sink.post`, called on the capture thread (native/addon/live_capture_napi.c forwards them
 * to JS through a thread-safe function).
 */
#ifndef PATHWATCH_LIVE_CAPTURE_H
#define PATHWATCH_LIVE_CAPTURE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pcap/pcap.h>

/* At most this many blocks per capture. */
#define CAPTURE_MAX_BLOCKS 64u
/* Longest interface name, filter and namespace path accepted (bytes, without the NUL). */
#define CAPTURE_MAX_IFACE 255u
#define CAPTURE_MAX_FILTER 65535u
#define CAPTURE_MAX_NETNS 4095u
#define CAPTURE_MESSAGE_LEN (PCAP_ERRBUF_SIZE + 512)

enum capture_event_type {
  CAPTURE_EVENT_READY,  /* the handle is active; capturing */
  CAPTURE_EVENT_BLOCK,  /* block `block` holds `length` bytes of pcap: the consumer releases it when done */
  CAPTURE_EVENT_FAILED, /* the capture could not start, or broke: `failure`, `message` */
  CAPTURE_EVENT_END     /* the thread is done: the handle is closed, the counters final; the last event */
};

enum capture_failure {
  CAPTURE_FAILURE_NONE,
  CAPTURE_FAILURE_PERMISSION, /* no CAP_NET_RAW / CAP_NET_ADMIN */
  CAPTURE_FAILURE_NO_DEVICE,  /* no such interface */
  CAPTURE_FAILURE_FILTER,     /* libpcap could not compile or set the filter */
  CAPTURE_FAILURE_NETNS,      /* the network namespace could not be entered */
  CAPTURE_FAILURE_OTHER
};

struct capture_event {
  enum capture_event_type type;
  unsigned block;
  size_t length;
  int linktype;
  enum capture_failure failure;
  const char *message;
};

/* Where events go. `post` runs on the capture thread; it returns false when nobody listens any more. */
struct capture_sink {
  void *ctx;
  bool (*post)(void *ctx, const struct capture_event *event);
};

struct capture_config {
  char iface[CAPTURE_MAX_IFACE + 1];
  char *filter; /* owned; NULL: none */
  char *netns;  /* owned; NULL: this process's namespace */
  int snaplen;
  int buffer_bytes;
  int timeout_ms;
};

struct capture_counters {
  uint64_t received; /* packets that passed the filter, as the kernel counts them (pcap_stats ps_recv) */
  uint64_t dropped;  /* of those, dropped by the kernel before we read them (ps_drop): the ring was full */
};

enum block_state { BLOCK_FREE, BLOCK_FILLING, BLOCK_HANDED_OVER };

struct capture {
  struct capture_config config;
  struct capture_sink sink;

  /* The blocks: pointers into the caller's memory, which outlives the capture thread. */
  uint8_t *blocks[CAPTURE_MAX_BLOCKS];
  size_t capacity[CAPTURE_MAX_BLOCKS];
  unsigned nblocks;

  /* Guards everything below it, and `pcap` against being closed while stop() breaks its loop. */
  pthread_mutex_t mutex;
  pthread_cond_t block_freed;
  enum block_state state[CAPTURE_MAX_BLOCKS];
  unsigned free_ring[CAPTURE_MAX_BLOCKS];
  unsigned free_head, free_count;
  struct capture_counters counters;
  pcap_t *pcap; /* set while the handle is open */

  atomic_bool stopping;

  /* The capture thread's own state (touched by it alone). */
  pthread_t thread;
  bool thread_started;
  bool joined;
  int filling; /* index of the block being filled, or -1 */
  size_t filled;
  bool nano;
  unsigned last_recv, last_drop; /* pcap_stats's 32-bit counters at the last look */
  struct capture_event block_events[CAPTURE_MAX_BLOCKS];
  struct capture_event ready_event, failed_event, end_event;
  char message[CAPTURE_MESSAGE_LEN];
};

/*
 * Prepares a capture over the caller's blocks (config's strings become the capture's). Returns 0, or
 * -1 with `why` filled when the configuration is unusable (a block too small for the snap length).
 */
int capture_init(struct capture *c, struct capture_config *config, uint8_t *const *blocks, const size_t *capacity, unsigned nblocks, struct capture_sink sink, char *why, size_t why_len);

/* Starts the capture thread (signals blocked there); 0, or an errno value. */
int capture_start(struct capture *c);

/* The consumer is done with a block handed over: it may be filled again. False if it was not handed over. */
bool capture_release(struct capture *c, unsigned block);

/* Asks the thread to finish (pcap_breakloop, and wakes a wait for a block). Safe to call any number of times. */
void capture_request_stop(struct capture *c);

/* Waits for the capture thread to end (after capture_request_stop, or once it posted END). Idempotent. */
void capture_join(struct capture *c);

/* The latest counters (refreshed on the capture thread at each return of pcap_dispatch). */
struct capture_counters capture_counters(struct capture *c);

/* Frees what capture_init took (the config's strings, the mutex). The thread must have been joined. */
void capture_destroy(struct capture *c);

#endif
