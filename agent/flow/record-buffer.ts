/**
 * Fixed-size records in one ArrayBuffer, read and written through typed views of it (int32, uint32,
 * float64, bytes), so that each record's fields share cache lines. Grows by doubling.
 */
export class RecordBuffer {
  i32!: Int32Array;
  u32!: Uint32Array;
  f64!: Float64Array;
  u8!: Uint8Array;

  constructor(
    /** Record size in 32-bit words (even, so float64 fields stay aligned). */
    readonly recordWords: number,
    public capacity: number,
  ) {
    this.setBuffer(new ArrayBuffer(capacity * recordWords * 4));
  }

  /** Doubles the capacity, keeping every record. */
  grow(): void {
    const old = this.u8;
    this.capacity *= 2;
    this.setBuffer(new ArrayBuffer(this.capacity * this.recordWords * 4));
    this.u8.set(old);
  }

  private setBuffer(buffer: ArrayBuffer): void {
    this.i32 = new Int32Array(buffer);
    this.u32 = new Uint32Array(buffer);
    this.f64 = new Float64Array(buffer);
    this.u8 = new Uint8Array(buffer);
  }
}
