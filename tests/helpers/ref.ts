// Shared pieces of the tests' independent reference models: RFLAGS bit values (SDM Vol. 1 3.4.3),
// a seeded PRNG, and BigInt helpers. Reference code only; nothing here runs the emulator.
export const CF = 1, PF = 4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800;
export const ARITH = CF | PF | AF | ZF | SF | OF;

/** mulberry32: a small deterministic 32-bit PRNG. */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

export function mask(bits: number): bigint { return (1n << BigInt(bits)) - 1n; }

/** PF of a result: set when the low byte has an even number of 1 bits. */
export function parity(v: bigint): number {
  let b = Number(v & 0xffn), p = 0;
  while (b) { p ^= b & 1; b >>= 1; }
  return p ? 0 : PF;
}
