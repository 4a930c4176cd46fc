/* The pcap file format written into blocks of bytes (see pcap_block.h). */
#include "capture/pcap_block.h"

#include <string.h>

static void put_u32(uint8_t *p, uint32_t v) {
  memcpy(p, &v, sizeof v);
}

static void put_u16(uint8_t *p, uint16_t v) {
  memcpy(p, &v, sizeof v);
}

size_t pcap_block_file_header(uint8_t *dst, size_t capacity, int nano, uint32_t snaplen, uint32_t linktype) {
  if (dst == NULL || capacity < PCAP_BLOCK_FILE_HEADER_LEN) return 0;
  put_u32(dst, nano ? PCAP_BLOCK_MAGIC_NANO : PCAP_BLOCK_MAGIC_MICRO);
  put_u16(dst + 4, 2); /* version 2.4, what libpcap writes */
  put_u16(dst + 6, 4);
  put_u32(dst + 8, 0); /* reserved (was thiszone) */
  put_u32(dst + 12, 0); /* reserved (was sigfigs) */
  put_u32(dst + 16, snaplen);
  put_u32(dst + 20, linktype);
  return PCAP_BLOCK_FILE_HEADER_LEN;
}

size_t pcap_block_append(uint8_t *dst, size_t capacity, size_t used, const struct pcap_pkthdr *h, const uint8_t *bytes) {
  if (dst == NULL || h == NULL || used > capacity) return used;
  uint32_t caplen = h->caplen;
  /* Cut only a packet that no empty block could hold; otherwise the caller starts a new block. */
  size_t largest = capacity > PCAP_BLOCK_FILE_HEADER_LEN + PCAP_BLOCK_RECORD_HEADER_LEN ? capacity - PCAP_BLOCK_FILE_HEADER_LEN - PCAP_BLOCK_RECORD_HEADER_LEN : 0;
  if (caplen > largest) caplen = (uint32_t)largest;
  if (bytes == NULL) caplen = 0;
  size_t need = pcap_block_record_len(caplen);
  if (capacity - used < need) return used;
  uint8_t *p = dst + used;
  /* The file format has 32-bit seconds: unsigned, they last until 2106. */
  put_u32(p, (uint32_t)h->ts.tv_sec);
  put_u32(p + 4, (uint32_t)h->ts.tv_usec);
  put_u32(p + 8, caplen);
  put_u32(p + 12, h->len < caplen ? caplen : h->len);
  if (caplen > 0) memcpy(p + PCAP_BLOCK_RECORD_HEADER_LEN, bytes, caplen);
  return used + need;
}
