/**
 * How to copy a packet's first bytes into the PacketBytesRing:
 * a byte loop, set() of a subarray, or Buffer.copy, for header-sized copies (110 bytes) from a
 * capture chunk into a 65536 x 128-byte ring. Run: `node dist/bench/packet-bytes-copy.js`.
 */
const COPIES = 5_000_000;
const LENGTH = 110;
const source = Buffer.alloc(1 << 20);
for (let i = 0; i < source.length; i++) source[i] = i & 0xff;
const ring = new Uint8Array(65536 * 128);

function byteLoop(): void {
  for (let k = 0; k < COPIES; k++) {
    const from = (k * 211) & 0xfff00;
    const to = (k & 65535) * 128;
    for (let i = 0; i < LENGTH; i++) ring[to + i] = source[from + i] as number;
  }
}

function setSubarray(): void {
  for (let k = 0; k < COPIES; k++) {
    const from = (k * 211) & 0xfff00;
    ring.set(source.subarray(from, from + LENGTH), (k & 65535) * 128);
  }
}

function bufferCopy(): void {
  for (let k = 0; k < COPIES; k++) {
    const from = (k * 211) & 0xfff00;
    source.copy(ring, (k & 65535) * 128, from, from + LENGTH);
  }
}

for (let round = 0; round < 2; round++) {
  for (const f of [byteLoop, setSubarray, bufferCopy]) {
    const start = process.hrtime.bigint();
    f();
    console.log(`${f.name.padEnd(12)} ${(Number(process.hrtime.bigint() - start) / COPIES).toFixed(1)} ns per copy`);
  }
}
