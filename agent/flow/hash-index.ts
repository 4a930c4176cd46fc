/**
 * An open-addressing hash index from 53-bit integer keys (fingerprints) to slot numbers, in typed
 * arrays. A JS Map keyed by such numbers boxes every key beyond 31 bits (a heap number per lookup,
 * and the garbage collector busy); this index allocates only when it grows. Keys are handed over as
 * a slot of a Float64Array (`keys[at]`), never as a number argument, which V8 boxes whenever the
 * call is not inlined.
 *
 * Linear probing, load factor at most 1/2, deletion by backward shift (no tombstones), so lookups
 * stay short however many keys come and go.
 */
const EMPTY = -1;
const TWO_32 = 4294967296;

function newTable(buckets: number): Int32Array {
  const t = new Int32Array(buckets * 4);
  for (let i = 2; i < t.length; i += 4) t[i] = EMPTY;
  return t;
}

export class HashIndex {
  private mask: number;
  /** Buckets of four words (key high, key low, value, spare): one cache line holds four buckets. */
  private table: Int32Array;
  size = 0;

  constructor(initialCapacity = 1 << 14) {
    let cap = 16;
    while (cap < initialCapacity * 2) cap *= 2;
    this.mask = cap - 1;
    this.table = newTable(cap);
  }

  /** The value stored for the key keys[at], or -1. */
  get(keys: Float64Array, at: number): number {
    const key = keys[at] as number;
    const hi = (key / TWO_32) | 0;
    const lo = key | 0;
    const mask = this.mask;
    const t = this.table;
    const h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
    for (let i = (h ^ (h >>> 15)) & mask; ; i = (i + 1) & mask) {
      const v = t[i * 4 + 2] as number;
      if (v === EMPTY) return EMPTY;
      if (t[i * 4 + 1] === lo && t[i * 4] === hi) return v;
    }
  }

  /** Stores `value` (>= 0) for the key keys[at], replacing any previous value. */
  set(keys: Float64Array, at: number, value: number): void {
    if ((this.size + 1) * 2 > this.mask + 1) this.grow();
    const key = keys[at] as number;
    this.insert((key / TWO_32) | 0, key | 0, value);
  }

  /** Removes the key keys[at]; returns whether it was there. */
  delete(keys: Float64Array, at: number): boolean {
    const key = keys[at] as number;
    const hi = (key / TWO_32) | 0;
    const lo = key | 0;
    const mask = this.mask;
    const t = this.table;
    const h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
    let i = (h ^ (h >>> 15)) & mask;
    for (; ; i = (i + 1) & mask) {
      if (t[i * 4 + 2] === EMPTY) return false;
      if (t[i * 4 + 1] === lo && t[i * 4] === hi) break;
    }
    // Backward-shift: move later members of the probe run into the hole when their home allows it.
    let hole = i;
    for (let j = (i + 1) & mask; t[j * 4 + 2] !== EMPTY; j = (j + 1) & mask) {
      const hj = Math.imul((t[j * 4 + 1] as number) ^ Math.imul(t[j * 4] as number, 0x9e3779b1), 0x85ebca6b);
      const home = (hj ^ (hj >>> 15)) & mask;
      const distJ = (j - home) & mask;
      const distHole = (j - hole) & mask;
      if (distJ >= distHole) {
        t[hole * 4] = t[j * 4] as number;
        t[hole * 4 + 1] = t[j * 4 + 1] as number;
        t[hole * 4 + 2] = t[j * 4 + 2] as number;
        hole = j;
      }
    }
    t[hole * 4 + 2] = EMPTY;
    this.size--;
    return true;
  }

  clear(): void {
    this.table = newTable(this.mask + 1);
    this.size = 0;
  }

  /** The home bucket of a key (get and delete compute it in place: they run per packet). */
  private slotOf(hi: number, lo: number): number {
    let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 15;
    return h & this.mask;
  }

  private insert(hi: number, lo: number, value: number): void {
    const mask = this.mask;
    const t = this.table;
    for (let i = this.slotOf(hi, lo); ; i = (i + 1) & mask) {
      const v = t[i * 4 + 2] as number;
      if (v === EMPTY) {
        t[i * 4] = hi;
        t[i * 4 + 1] = lo;
        t[i * 4 + 2] = value;
        this.size++;
        return;
      }
      if (t[i * 4 + 1] === lo && t[i * 4] === hi) {
        t[i * 4 + 2] = value;
        return;
      }
    }
  }

  private grow(): void {
    const old = this.table;
    const cap = (this.mask + 1) * 2;
    this.mask = cap - 1;
    this.table = newTable(cap);
    this.size = 0;
    for (let i = 0; i < old.length; i += 4) {
      const v = old[i + 2] as number;
      if (v !== EMPTY) this.insert(old[i] as number, old[i + 1] as number, v);
    }
  }
}
