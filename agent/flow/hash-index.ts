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

export class HashIndex {
  private mask: number;
  private keyHi: Int32Array;
  private keyLo: Int32Array;
  private values: Int32Array;
  size = 0;

  constructor(initialCapacity = 1 << 14) {
    let cap = 16;
    while (cap < initialCapacity * 2) cap *= 2;
    this.mask = cap - 1;
    this.keyHi = new Int32Array(cap);
    this.keyLo = new Int32Array(cap);
    this.values = new Int32Array(cap).fill(EMPTY);
  }

  /** The value stored for `key`, or -1. */
  get(key: number): number {
    const hi = (key / TWO_32) | 0;
    const lo = key | 0;
    const mask = this.mask;
    for (let i = this.slotOf(hi, lo); ; i = (i + 1) & mask) {
      const v = this.values[i] as number;
      if (v === EMPTY) return EMPTY;
      if (this.keyLo[i] === lo && this.keyHi[i] === hi) return v;
    }
  }

  /** Stores `value` (>= 0) for `key`, replacing any previous value. */
  set(key: number, value: number): void {
    if ((this.size + 1) * 2 > this.mask + 1) this.grow();
    const hi = (key / TWO_32) | 0;
    const lo = key | 0;
    const mask = this.mask;
    for (let i = this.slotOf(hi, lo); ; i = (i + 1) & mask) {
      const v = this.values[i] as number;
      if (v === EMPTY) {
        this.keyHi[i] = hi;
        this.keyLo[i] = lo;
        this.values[i] = value;
        this.size++;
        return;
      }
      if (this.keyLo[i] === lo && this.keyHi[i] === hi) {
        this.values[i] = value;
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
      if (this.values[i] === EMPTY) return false;
      if (this.keyLo[i] === lo && this.keyHi[i] === hi) break;
    }
    // Backward-shift: move later members of the probe run into the hole when their home allows it.
    let hole = i;
    for (let j = (i + 1) & mask; this.values[j] !== EMPTY; j = (j + 1) & mask) {
      const home = this.slotOf(this.keyHi[j] as number, this.keyLo[j] as number);
      const distJ = (j - home) & mask;
      const distHole = (j - hole) & mask;
      if (distJ >= distHole) {
        this.keyHi[hole] = this.keyHi[j] as number;
        this.keyLo[hole] = this.keyLo[j] as number;
        this.values[hole] = this.values[j] as number;
        hole = j;
      }
    }
    this.values[hole] = EMPTY;
    this.size--;
    return true;
  }

  clear(): void {
    this.values.fill(EMPTY);
    this.size = 0;
  }

  private slotOf(hi: number, lo: number): number {
    let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 15;
    return h & this.mask;
  }

  private grow(): void {
    const oldHi = this.keyHi;
    const oldLo = this.keyLo;
    const oldValues = this.values;
    const cap = (this.mask + 1) * 2;
    this.mask = cap - 1;
    this.keyHi = new Int32Array(cap);
    this.keyLo = new Int32Array(cap);
    this.values = new Int32Array(cap).fill(EMPTY);
    this.size = 0;
    for (let i = 0; i < oldValues.length; i++) {
      const v = oldValues[i] as number;
      if (v === EMPTY) continue;
      this.set((oldHi[i] as number) * TWO_32 + ((oldLo[i] as number) >>> 0), v);
    }
  }
}
