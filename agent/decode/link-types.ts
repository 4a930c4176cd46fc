/** LINKTYPE_* values as stored in pcap and pcapng files (https://www.tcpdump.org/linktypes.html). */
export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LOOP = 108;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_LINUX_SLL2 = 276;

/** The link types the decoder reads (PacketDecoder's first layer); packets of others are counted, not decoded. */
export const DECODED_LINK_TYPES: ReadonlySet<number> = new Set([
  LINKTYPE_NULL,
  LINKTYPE_ETHERNET,
  LINKTYPE_RAW,
  LINKTYPE_LOOP,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL2,
]);

/** Names of link types captures commonly hold that the decoder does not read, for warnings. */
const OTHER_LINK_TYPE_NAMES: Readonly<Record<number, string>> = {
  9: 'PPP',
  50: 'PPP_HDLC',
  104: 'C_HDLC',
  105: 'IEEE802_11',
  127: 'IEEE802_11_RADIOTAP',
  189: 'USB_LINUX',
  220: 'USB_LINUX_MMAPPED',
  239: 'NFLOG',
  240: 'NETANALYZER',
  249: 'IPOIB',
  284: 'DSA_TAG_BRCM',
};

/** "239 (NFLOG)", or the number alone when it has no name here. */
export function linkTypeLabel(linkType: number): string {
  const name = OTHER_LINK_TYPE_NAMES[linkType];
  return name ? `${linkType} (${name})` : String(linkType);
}
