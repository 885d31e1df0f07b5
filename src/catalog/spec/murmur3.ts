// MurmurHash3 x86 32-bit (seed 0 by default), the hash the Iceberg spec fixes for the bucket[N] transform.
// PURE: no IO, no clock, no randomness.

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

function mixK(k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, C2);
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/** The signed 32-bit MurmurHash3 x86_32 of `bytes`. */
export function murmur3x86_32(bytes: Uint8Array, seed = 0): number {
  let h = seed | 0;
  const blocks = bytes.length >>> 2;
  for (let i = 0; i < blocks; i++) {
    const o = i * 4;
    const k = (bytes[o] ?? 0) | ((bytes[o + 1] ?? 0) << 8) | ((bytes[o + 2] ?? 0) << 16) | ((bytes[o + 3] ?? 0) << 24);
    h ^= mixK(k);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = blocks * 4;
  const rest = bytes.length & 3;
  if (rest > 0) {
    let k = 0;
    if (rest === 3) k ^= (bytes[tail + 2] ?? 0) << 16;
    if (rest >= 2) k ^= (bytes[tail + 1] ?? 0) << 8;
    k ^= bytes[tail] ?? 0;
    h ^= mixK(k);
  }
  h ^= bytes.length;
  return fmix(h) | 0;
}
