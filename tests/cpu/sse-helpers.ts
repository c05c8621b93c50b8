// Helpers shared by the SSE tests: XMM access, encodings as hex strings (produced with
// `as --64 -msyntax=intel -mnaked-reg` + objdump, the instruction text kept beside each), fault
// capture through a 64-bit IDT, and an independent reference for IEEE rounding built on BigInt
// rationals (so expected results never come from the code under test).
import { makeCpu, installIdt64, type Harness, DATA } from '../helpers/cpu-harness.ts';
import { RSP } from '../../emulator/cpu/state.ts';

export { DATA };
export const IDT = 0x7000;
export const HANDLERS = 0x8000;

/** Bytes from a hex string ("f20f58c1"); several strings are concatenated. */
export function hx(...s: string[]): number[] {
  const t = s.join('');
  const out: number[] = [];
  for (let k = 0; k < t.length; k += 2) out.push(parseInt(t.slice(k, k + 2), 16));
  return out;
}

export function cpu(): Harness {
  const h = makeCpu();
  const handlers: Record<number, number> = {};
  for (let v = 0; v < 32; v++) handlers[v] = HANDLERS + v * 16;
  installIdt64(h, IDT, handlers);
  return h;
}

/** Dword lanes of xmm r as unsigned numbers. */
export function getX(h: Harness, r: number): number[] {
  return [0, 1, 2, 3].map((k) => h.cpu.xmm[r * 4 + k] >>> 0);
}
export function setX(h: Harness, r: number, d: number[]): void {
  for (let k = 0; k < 4; k++) h.cpu.xmm[r * 4 + k] = d[k] | 0;
}
/** Quadword lanes as bigints. */
export function getQ(h: Harness, r: number): [bigint, bigint] {
  const d = getX(h, r).map(BigInt);
  return [d[0] | (d[1] << 32n), d[2] | (d[3] << 32n)];
}
export function setQ(h: Harness, r: number, lo: bigint, hi = 0n): void {
  setX(h, r, [Number(lo & 0xffffffffn), Number(lo >> 32n & 0xffffffffn), Number(hi & 0xffffffffn), Number(hi >> 32n & 0xffffffffn)]);
}
/** Bytes of xmm r. */
export function getB(h: Harness, r: number): number[] {
  return Array.from(new Uint8Array(h.cpu.xmm.buffer, h.cpu.xmm.byteOffset + r * 16, 16));
}
export function setB(h: Harness, r: number, b: number[]): void {
  new Uint8Array(h.cpu.xmm.buffer, h.cpu.xmm.byteOffset + r * 16, 16).set(b);
}

const f64 = new Float64Array(1), u64 = new BigUint64Array(f64.buffer);
const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
export function dbits(x: number): bigint { f64[0] = x; return u64[0]; }
export function bitsd(b: bigint): number { u64[0] = b; return f64[0]; }
export function fbits(x: number): number { f32[0] = x; return u32[0]; }
export function bitsf(b: number): number { u32[0] = b >>> 0; return f32[0]; }
/** Set the low double of xmm r (and optionally the high one). */
export function setSd(h: Harness, r: number, lo: number, hi = 0): void { setQ(h, r, dbits(lo), dbits(hi)); }
export function getSd(h: Harness, r: number): number { return bitsd(getQ(h, r)[0]); }

/**
 * Run one instruction; return the vector of the exception it raised (the IDT sends vector v to
 * HANDLERS + 16 v), or -1 if it completed. `code` receives the pushed error code for #GP.
 */
export function runOne(h: Harness, bytes: number[]): { vector: number; code: number } {
  h.exec(bytes, 1);
  const rip = h.cpu.rip;
  if (rip >= HANDLERS && rip < HANDLERS + 32 * 16) {
    const vector = (rip - HANDLERS) / 16;
    const hasCode = [8, 10, 11, 12, 13, 14, 17].includes(vector);
    const code = hasCode ? h.mem.view.getUint32(h.cpu.rl[RSP] >>> 0, true) : 0;
    return { vector, code };
  }
  return { vector: -1, code: 0 };
}

// ---------------------------------------------------------------- reference rounding
export const RN = 0, RD = 1, RU = 2, RZ = 3;
interface Fmt { p: number; emin: number; emax: number; ebits: number }
export const F64 = { p: 53, emin: -1022, emax: 1023, ebits: 11 };
export const F32 = { p: 24, emin: -126, emax: 127, ebits: 8 };

/** Exact rational of a finite double/single: [num, den] with den a power of two. */
export function ratOfD(x: number): [bigint, bigint] { return ratOfBits(dbits(x), F64); }
export function ratOfF(bits: number): [bigint, bigint] { return ratOfBits(BigInt(bits >>> 0), F32); }
function ratOfBits(b: bigint, f: Fmt): [bigint, bigint] {
  const fb = BigInt(f.p - 1), eb = BigInt(f.ebits);
  const neg = (b >> (fb + eb)) & 1n;
  const e = Number((b >> fb) & ((1n << eb) - 1n));
  let m = b & ((1n << fb) - 1n);
  let exp: number;
  if (e === 0) exp = f.emin - (f.p - 1);
  else { m |= 1n << fb; exp = e - (f.emax) - (f.p - 1); }
  let num = neg ? -m : m, den = 1n;
  if (exp >= 0) num <<= BigInt(exp); else den <<= BigInt(-exp);
  return [num, den];
}

function bitLen(x: bigint): number { return x === 0n ? 0 : x.toString(2).length; }

/**
 * Round num/den (den > 0, value nonzero) to the format with rounding mode rc. Returns the bit
 * pattern and whether the result is inexact / overflowed / tiny (after rounding, unbounded exponent).
 */
export function roundRat(num: bigint, den: bigint, f: Fmt, rc: number): { bits: bigint; inexact: boolean; overflow: boolean; tiny: boolean } {
  const neg = num < 0n;
  let n = neg ? -num : num;
  // exponent e with 2^e <= n/den < 2^(e+1)
  let e = bitLen(n) - bitLen(den);
  const ge = (a: bigint, b: bigint, k: number) => (k >= 0 ? a >= b << BigInt(k) : a << BigInt(-k) >= b);
  if (!ge(n, den, e)) e--;
  const up = (m: bigint, rem: bigint, half: bigint) => {
    // decide rounding of m + rem/(2*half) where rem in [0, 2*half)
    if (rem === 0n) return m;
    switch (rc) {
      case RN: return rem > half || (rem === half && (m & 1n) === 1n) ? m + 1n : m;
      case RD: return neg ? m + 1n : m;
      case RU: return neg ? m : m + 1n;
      default: return m;
    }
  };
  // significand scale: unbounded exponent first (tininess), then bounded.
  const quant = (scale: number) => {
    // m = floor(n / (den * 2^scale)), rem as numerator over den*2^scale
    let q: bigint, r: bigint, d: bigint;
    if (scale >= 0) { d = den << BigInt(scale); q = n / d; r = n % d; }
    else { const nn = n << BigInt(-scale); d = den; q = nn / d; r = nn % d; }
    // compare 2r with d
    const m = up(q, 2n * r, d);
    return { m, inexact: r !== 0n };
  };
  const unb = quant(e - (f.p - 1));
  let eu = e; let mu = unb.m;
  if (mu === 1n << BigInt(f.p)) { mu >>= 1n; eu++; }
  const tiny = eu < f.emin;
  const scale = Math.max(e, f.emin) - (f.p - 1);
  const b = quant(scale);
  let m = b.m, exp = scale + (f.p - 1);
  if (m === 1n << BigInt(f.p)) { m >>= 1n; exp++; }
  const signBit = neg ? 1n << BigInt(f.p - 1 + f.ebits) : 0n;
  const fb = BigInt(f.p - 1);
  if (exp > f.emax) {
    const toInf = rc === RN || (rc === RU && !neg) || (rc === RD && neg);
    const maxBits = ((BigInt(2 * f.emax) << fb) | ((1n << fb) - 1n));
    const infBits = BigInt(2 * f.emax + 1) << fb;
    return { bits: signBit | (toInf ? infBits : maxBits), inexact: true, overflow: true, tiny: false };
  }
  let bits: bigint;
  if (m < (1n << fb)) bits = m; // subnormal (or zero)
  else bits = (BigInt(exp + f.emax) << fb) | (m - (1n << fb));
  return { bits: signBit | bits, inexact: b.inexact, overflow: false, tiny };
}

/** A deterministic pseudo-random generator (xorshift32). */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
}
