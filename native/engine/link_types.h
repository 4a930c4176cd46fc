/* LINKTYPE_* values as stored in pcap and pcapng files. */
#ifndef PW_LINK_TYPES_H
#define PW_LINK_TYPES_H

#define PW_LINKTYPE_NULL 0u
#define PW_LINKTYPE_ETHERNET 1u
#define PW_LINKTYPE_RAW 101u
#define PW_LINKTYPE_LOOP 108u
#define PW_LINKTYPE_LINUX_SLL 113u
#define PW_LINKTYPE_IPV4 228u
#define PW_LINKTYPE_IPV6 229u
#define PW_LINKTYPE_LINUX_SLL2 276u

#endif
