/*
 * The node's interfaces and their addresses, from libpcap's device list (pcap_findalldevs): every
 * interface, up or down, with its IPv4 and IPv6 addresses as text. Packets to or from these
 * addresses are never drop events.
 */
#ifndef PATHWATCH_DEVICE_ADDRESSES_H
#define PATHWATCH_DEVICE_ADDRESSES_H

#include <stddef.h>

#include <pcap/pcap.h>

/* Called once per (interface, address); returns 0 to go on, non-zero to stop the walk (and fail). */
typedef int (*device_address_fn)(void *ctx, const char *iface, const char *address);

/*
 * Walks the device list. Returns 0, or -1 with `errbuf` (PCAP_ERRBUF_SIZE bytes) saying why
 * (libpcap's message, or that the callback stopped the walk).
 */
int device_addresses(device_address_fn fn, void *ctx, char *errbuf);

#endif
