/* The node's addresses from libpcap's device list (see device_addresses.h). */
#include "capture/device_addresses.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>

/* An IPv4 or IPv6 address as text in `out`; 0, or -1 for any other family. */
static int address_text(const struct sockaddr *sa, char *out, size_t out_len) {
  if (sa == NULL) return -1;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in4 = (const struct sockaddr_in *)(const void *)sa;
    return inet_ntop(AF_INET, &in4->sin_addr, out, (socklen_t)out_len) != NULL ? 0 : -1;
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
    return inet_ntop(AF_INET6, &in6->sin6_addr, out, (socklen_t)out_len) != NULL ? 0 : -1;
  }
  return -1;
}

int device_addresses(device_address_fn fn, void *ctx, char *errbuf) {
  pcap_if_t *devices = NULL;
  errbuf[0] = '\0';
  if (pcap_findalldevs(&devices, errbuf) != 0) return -1;
  int rc = 0;
  for (pcap_if_t *d = devices; d != NULL && rc == 0; d = d->next) {
    if (d->name == NULL) continue;
    for (pcap_addr_t *a = d->addresses; a != NULL; a = a->next) {
      char text[INET6_ADDRSTRLEN];
      if (address_text(a->addr, text, sizeof text) != 0) continue; /* link-layer and other families */
      if (fn(ctx, d->name, text) != 0) {
        snprintf(errbuf, PCAP_ERRBUF_SIZE, "listing the addresses of %s failed", d->name);
        rc = -1;
        break;
      }
    }
  }
  pcap_freealldevs(devices);
  return rc;
}
