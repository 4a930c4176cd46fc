/*
 * The libFuzzer target: decode + fingerprint of arbitrary bytes under AddressSanitizer and
 * UndefinedBehaviorSanitizer, with exact record bounds and the view's invariants (guarded_decode.h).
 *
 * Input: a selector byte, then the packet. Selector bits 0-2 pick one of the 8 link types the
 * decoder reads, bit 3 the other tunnel ports (VXLAN on 53 and 0, Geneve on 4789); 0xff is a link
 * type the decoder does not read. test/native/sanitizers.test.ts seeds it with every fixture record.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz/guarded_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* Set up once and kept: state carries from input to input as it does from packet to packet. */
  static pw_fuzz_state states[2];
  static int ready;
  if (!ready) {
    pw_fuzz_init(&states[0], NULL);
    pw_fuzz_init(&states[1], &pw_fuzz_other_ports);
    ready = 1;
  }
  if (size < 1) return 0;
  uint8_t selector = data[0];
  uint32_t link_type = selector == 0xff ? 0x7fffffffu : pw_fuzz_link_types[selector & 7];
  pw_fuzz_decode(&states[(selector >> 3) & 1], data + 1, size - 1, link_type);
  return 0;
}
