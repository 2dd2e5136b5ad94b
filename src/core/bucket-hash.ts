/**
 * Where a job lives.
 *
 * `bucket = hash(jobId) mod bucketCount`, with `hash` = 32-bit FNV-1a over the UTF-8 bytes of the
 * lowercase job id, followed by MurmurHash3's `fmix32` finaliser (FNV-1a alone mixes its low bits
 * poorly, and `mod bucketCount` keeps only low bits). The hash is part of the storage format:
 * changing it would move every stored job, so it is fixed here and pinned by a unit test with
 * known values.
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const encoder = new TextEncoder();

export function jobHash(jobId: string): number {
  const bytes = encoder.encode(jobId.toLowerCase());
  let h = FNV_OFFSET;
  for (const byte of bytes) {
    h ^= byte;
    h = Math.imul(h, FNV_PRIME);
  }
  // fmix32
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function bucketOf(jobId: string, bucketCount: number): number {
  return jobHash(jobId) % bucketCount;
}
