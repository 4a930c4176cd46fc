/**
 * An open-addressing hash index from 53-bit integer keys (fingerprints, flow keys) to slot numbers,
 * in typed arrays. A JS Map keyed by such numbers boxes every key beyond 31 bits (a heap number per
 * lookup, and the garbage collector busy); this index allocates only when it grows.
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

  /** The value stored for `key`, or -1. */
  get(key: number): number {
    const hi = (key / TWO_32) | 0;
    const lo = key | 0;
    const mask = this.mask;
    for (let i = this.slotOf(hi, lo); ; i = (i + 1) & mask) {
      const v = this.table[i * 4 + 2] as number;
      if (v === EMPTY) return EMPTY;
      if (this.table[i * 4 + 1] === lo && this.table[i * 4] === hi) return v;
    }
  }

  /** Stores `value` (>= 0) for `key`, replacing any previous value. */
  set(key: number, value: number): void {
    if ((this.size + 1) * 2 > this.mask + 1) this.grow();
    const hi = (key / TWO_32) | 0;
    const lo = key | 0;
    const mask = this.mask;
    for (let i = this.slotOf(hi, lo); ; i = (i + 1) & mask) {
      const v = this.table[i * 4 + 2] as number;
      if (v === EMPTY) {
        this.table[i * 4] = hi;
        this.table[i * 4 + 1] = lo;
        this.table[i * 4 + 2] = value;
        this.size++;
        return;
      }
      if (this.table[i * 4 + 1] === lo && this.table[i * 4] === hi) {
        this.table[i * 4 + 2] = value;
        return;
      }
    }
  }

  delete(key: number): boolean {
    const hi = (key / TWO_32) | 0;
    const lo = key | 0;
    const mask = this.mask;
    let i = this.slotOf(hi, lo);
    for (; ; i = (i + 1) & mask) {
      if (this.table[i * 4 + 2] === EMPTY) return false;
      if (this.table[i * 4 + 1] === lo && this.table[i * 4] === hi) break;
    }
    // Backward-shift: move later members of the probe run into the hole when their home allows it.
    let hole = i;
    const t = this.table;
    for (let j = (i + 1) & mask; t[j * 4 + 2] !== EMPTY; j = (j + 1) & mask) {
      const home = this.slotOf(t[j * 4] as number, t[j * 4 + 1] as number);
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

  private slotOf(hi: number, lo: number): number {
    let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 15;
    return h & this.mask;
  }

  private grow(): void {
    const old = this.table;
    const cap = (this.mask + 1) * 2;
    this.mask = cap - 1;
    this.table = newTable(cap);
    this.size = 0;
    for (let i = 0; i < old.length; i += 4) {
      const v = old[i + 2] as number;
      if (v === EMPTY) continue;
      this.set((old[i] as number) * TWO_32 + ((old[i + 1] as number) >>> 0), v);
    }
  }
}
