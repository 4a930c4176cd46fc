/**
 * The carry buffer of a streaming reader: bytes of a record that straddles two chunks. Reused, and
 * grown geometrically by bytes that actually arrived, never by what a (possibly corrupt) length
 * field claims, so a bad length cannot make a reader allocate megabytes up front.
 */
const INITIAL_CARRY = 64 * 1024;

/** Appends src[pos, pos + n) after the first `used` bytes of `carry`; returns the buffer to keep. */
export function appendToCarry(carry: Uint8Array, used: number, src: Uint8Array, pos: number, n: number): Uint8Array {
  const want = used + n;
  let buf = carry;
  if (want > buf.length) {
    let size = Math.max(buf.length * 2, INITIAL_CARRY);
    while (size < want) size *= 2;
    buf = new Uint8Array(size);
    buf.set(carry.subarray(0, used));
  }
  buf.set(src.subarray(pos, pos + n), used);
  return buf;
}
