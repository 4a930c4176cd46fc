/** Column stores grow by copying into a larger typed array of the same kind. */
export type NumericArray = Float64Array | Int32Array | Uint8Array | Uint32Array | Int16Array | Uint16Array;

export function growTypedArray<T extends NumericArray>(a: T, length: number): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a as never);
  return b;
}
