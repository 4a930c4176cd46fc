/*
 * Capture records laid out in the pcap file format, written into a caller's block of bytes: the
 * 24-byte file header once at the start of a capture, then one 16-byte record header and the
 * captured bytes per packet, in this machine's byte order (the magic number tells readers which).
 * This is what agent/capture/pcap-reader.ts parses, so a live block and a capture file take the
 * same path in JS. Every write is checked against the block's capacity.
 */
#ifndef PATHWATCH_PCAP_BLOCK_H
#define PATHWATCH_PCAP_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include <pcap/pcap.h>

#define PCAP_BLOCK_FILE_HEADER_LEN 24u
#define PCAP_BLOCK_RECORD_HEADER_LEN 16u
#define PCAP_BLOCK_MAGIC_MICRO 0xa1b2c3d4u
#define PCAP_BLOCK_MAGIC_NANO 0xa1b23c4du

/*
 * Writes the file header at the start of `dst`; returns its length, or 0 when `capacity` is too
 * small. `nano` chooses the nanosecond magic (the record headers then carry nanoseconds).
 */
size_t pcap_block_file_header(uint8_t *dst, size_t capacity, int nano, uint32_t snaplen, uint32_t linktype);

/* Bytes one packet of `caplen` captured bytes takes in a block (record header included). */
static inline size_t pcap_block_record_len(uint32_t caplen) {
  return (size_t)PCAP_BLOCK_RECORD_HEADER_LEN + caplen;
}

/*
 * Appends one record at `dst[used]`; returns the new used length, or `used` unchanged when the
 * record does not fit in `capacity` (the caller flushes the block and retries in an empty one). A
 * packet larger than an empty block can ever hold is cut to fit (its original length is kept, as
 * a snap length would), so no packet is ever unplaceable.
 */
size_t pcap_block_append(uint8_t *dst, size_t capacity, size_t used, const struct pcap_pkthdr *h, const uint8_t *bytes);

#endif
