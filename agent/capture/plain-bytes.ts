/**
 * Node hands out Buffers (from files, pipes, zlib), while readers make plain Uint8Arrays for records
 * that straddle chunks. The two have different hidden classes, so decoders seeing both would be
 * compiled for two shapes (and deoptimise when the second appears). Readers view every chunk as a
 * plain Uint8Array over the same memory: no copy, one shape on the hot path.
 */
export function plainBytes(chunk: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(chunk) === Uint8Array.prototype ? chunk : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}
