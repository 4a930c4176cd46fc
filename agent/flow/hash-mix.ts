/**
 * One murmur3 mixing round: folds a 32-bit word into a running 32-bit hash. The hash tables of the
 * flow stage (flow table, encapsulation chains, replay's flow totals) key on words with it; small
 * and monomorphic, so V8 inlines it into their lookups.
 */
export function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}
