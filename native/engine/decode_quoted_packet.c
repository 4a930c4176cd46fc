/*
 * The packet quoted inside an ICMP or ICMPv6 error: RFC 792 quotes
 * the IP header and the first 8 bytes of its payload, RFC 4443 as much of the invoking packet as
 * fits. Decoding it ties the error to the flow that caused it. Only the view's quoted_* fields are
 * written: the error packet itself stays the innermost packet.
 */
#include "engine/decoders.h"

bool pw_decode_quoted_packet(const uint8_t *d, int64_t o, int64_t end, pw_view *v) {
  if (end - o < 1) return false;
  uint32_t version = d[o] >> 4;
  int64_t l4;
  if (version == 4) {
    if (end - o < 20) return false;
    int64_t header_length = (int64_t)(d[o] & 0x0f) * 4;
    if (header_length < 20) return false;
    v->quoted_version = 4;
    memset(v->quoted_src, 0, sizeof v->quoted_src);
    memset(v->quoted_dst, 0, sizeof v->quoted_dst);
    v->quoted_src[0] = pw_be32(d, o + 12);
    v->quoted_dst[0] = pw_be32(d, o + 16);
    v->quoted_proto = d[o + 9];
    v->quoted_ip_id = pw_be16(d, o + 4);
    if ((pw_be16(d, o + 6) & 0x1fff) != 0) {
      v->quoted_valid = 1;
      return true; /* a non-first fragment quotes no ports */
    }
    l4 = o + header_length;
  } else if (version == 6) {
    if (end - o < 40) return false;
    v->quoted_version = 6;
    for (int i = 0; i < 4; i++) {
      v->quoted_src[i] = pw_be32(d, o + 8 + i * 4);
      v->quoted_dst[i] = pw_be32(d, o + 24 + i * 4);
    }
    uint32_t next = d[o + 6];
    int64_t p = o + 40;
    for (int n = 0; n < 8 && pw_is_ipv6_extension_header(next); n++) {
      if (end - p < 8) {
        v->quoted_proto = (int32_t)next;
        v->quoted_valid = 1;
        return true;
      }
      int64_t len = next == 44 ? 8 : next == 51 ? ((int64_t)d[p + 1] + 2) * 4 : ((int64_t)d[p + 1] + 1) * 8;
      next = d[p];
      p += len;
    }
    v->quoted_proto = (int32_t)next;
    l4 = p;
  } else {
    return false;
  }
  v->quoted_valid = 1;
  /* Ports for TCP/UDP/SCTP; for a quoted ICMP echo, its identifier and sequence stand in. */
  if (end - l4 >= 4) {
    int32_t proto = v->quoted_proto;
    if (proto == 6 || proto == 17 || proto == 132) {
      v->quoted_sport = pw_be16(d, l4);
      v->quoted_dport = pw_be16(d, l4 + 2);
    } else if ((proto == 1 || proto == 58) && end - l4 >= 8) {
      v->quoted_sport = pw_be16(d, l4 + 4);
      v->quoted_dport = pw_be16(d, l4 + 6);
    }
  }
  return true;
}
