// Scalar IEEE-754 kernels for SSE/SSE2 (SDM Vol. 1 4.8, 4.9, 10.2.3, 11.5): operands and results
// are bit patterns (doubles as int32 halves, singles as int32), so NaN payloads, signed zeros and
// the "QNaN indefinite" are exact. JavaScript numbers are binary64 with round-to-nearest-even, so
// x+y, x*y, x/y and Math.sqrt give the RN result; the sign of the rounding error (exact − rounded)
// is computed exactly (TwoSum / Dekker TwoProduct on scaled significands), which gives the other
// MXCSR.RC modes, the precision flag and overflow/underflow without BigInt or allocation.
//
// Exception model (SDM Vol. 1 11.5.2, 11.5.3, Table 4-7 NaN rules, 4.9.2 precedence):
// - pre-computation: IE (SNaN operand, invalid operation, and for MIN/MAX/COMIS/ordered compares
//   any NaN), then ZE (finite / 0), then DE (denormal operand, only if none of the above);
// - post-computation: OE, UE (tiny after rounding, and inexact when UM is masked), PE;
// - FTZ (bit 15) with UM masked flushes tiny results to a signed zero and sets UE and PE.
// - an unmasked OE/UE leaves the destination unchanged; PE is then set only if the result rounded
//   with an unbounded exponent is inexact (as recorded on hardware: tests/conformance/vectors).
// DAZ is not supported (MXCSR_MASK = 0xFFBF), so denormals are always processed.
// Handlers call fpBegin, compute every lane, then fpCheck before writing anything: an unmasked
// exception leaves the destination unchanged (11.5.3.2) and raises #XM (or #UD).
import type { Cpu } from '../state.ts';
import { simdFault } from './sse-common.ts';

export const IE = 1, DE = 2, ZE = 4, OE = 8, UE = 16, PE = 32;
const PRE = IE | DE | ZE;
const UM = 1 << 11, FTZ = 1 << 15;
const RN = 0, RD = 1, RU = 2, RZ = 3;

/** Flags detected by the current instruction. */
let fl = 0;
/**
 * PE as reported together with an unmasked OE or UE: then no result is delivered, and PE tells
 * whether the result rounded with an unbounded exponent is inexact (recorded hardware vectors).
 */
let pu = 0;
/** MXCSR at the start of the instruction. */
let mx = 0x1f80;
/** Double results (int32 halves). */
export let rLo = 0, rHi = 0;

export function fpBegin(c: Cpu): void { fl = 0; pu = 0; mx = c.mxcsr; }

/** Merge the detected flags into MXCSR; raise for unmasked ones (before the destination is written). */
export function fpCheck(c: Cpu): void {
  const f = fl;
  if (f === 0) return;
  const unmasked = f & ~(c.mxcsr >> 7) & 0x3f;
  if ((unmasked & PRE) !== 0) { c.mxcsr |= f & PRE; simdFault(c); }
  // Unmasked overflow/underflow: the operands are left unchanged (SDM Vol. 1 11.5.2.4/11.5.2.5,
  // 4.9.1.4/4.9.1.5); PE then reflects the unbounded-exponent result (pu), not the masked response.
  if ((unmasked & (OE | UE)) !== 0) { c.mxcsr |= (f & ~PE) | pu; simdFault(c); }
  c.mxcsr |= f;
  if (unmasked !== 0) simdFault(c);
}

// ---------------------------------------------------------------- bit-pattern helpers
const F64 = new Float64Array(1), F64I = new Int32Array(F64.buffer);
const F32 = new Float32Array(1), F32I = new Int32Array(F32.buffer);

export function dbl(lo: number, hi: number): number { F64I[0] = lo; F64I[1] = hi; return F64[0]; }
/** rLo/rHi ← bits of x (x not NaN). */
function put(x: number): void { F64[0] = x; rLo = F64I[0]; rHi = F64I[1]; }
export function flt(v: number): number { F32I[0] = v; return F32[0]; }
/** Bits of an exactly representable single x (x not NaN). */
function fbits(x: number): number { F32[0] = x; return F32I[0]; }

const QNAN_D_HI = 0xfff80000 | 0; // QNaN indefinite, double (low half 0)
const QNAN_F = 0xffc00000 | 0;    // QNaN indefinite, single

function isNanD(lo: number, hi: number): boolean { return (hi & 0x7ff00000) === 0x7ff00000 && ((hi & 0xfffff) | lo) !== 0; }
function isSnanD(lo: number, hi: number): boolean { return isNanD(lo, hi) && (hi & 0x80000) === 0; }
function isDenD(lo: number, hi: number): boolean { return (hi & 0x7ff00000) === 0 && ((hi & 0xfffff) | lo) !== 0; }
function isZeroD(lo: number, hi: number): boolean { return ((hi & 0x7fffffff) | lo) === 0; }
function isInfD(lo: number, hi: number): boolean { return (hi & 0x7fffffff) === 0x7ff00000 && lo === 0; }
function isNanF(v: number): boolean { return (v & 0x7f800000) === 0x7f800000 && (v & 0x7fffff) !== 0; }
function isSnanF(v: number): boolean { return isNanF(v) && (v & 0x400000) === 0; }
function isDenF(v: number): boolean { return (v & 0x7f800000) === 0 && (v & 0x7fffff) !== 0; }

const TWO32 = 4294967296;
const MAX_D = 1.7976931348623157e308, MIN_NORM_D = 2.2250738585072014e-308, TWO1023 = 8.98846567431158e307;
const MAX_F = 3.4028234663852886e38, MIN_NORM_F = 1.1754943508222875e-38, TWO128 = 340282366920938463463374607431768211456;

/** 2^n for -1022 <= n <= 1023, built from bits. */
function pow2(n: number): number { F64I[0] = 0; F64I[1] = (n + 1023) << 20; return F64[0]; }
/** x · 2^n, exact when the result and every step stay in range. */
function ldexp(x: number, n: number): number {
  while (n > 1000) { x *= pow2(1000); n -= 1000; }
  while (n < -1000) { x *= pow2(-1000); n += 1000; }
  return x * pow2(n);
}
let ex = 0;
/** |x| as m · 2^ex with m in [1, 2) (x finite, nonzero, given by its bits). */
function frexpD(lo: number, hi: number): number {
  let e = (hi >>> 20) & 0x7ff;
  if (e === 0) { // denormal: scale into the normal range first
    F64I[0] = lo; F64I[1] = hi & 0x7fffffff;
    F64[0] *= 18446744073709551616; // 2^64
    lo = F64I[0]; hi = F64I[1];
    e = ((hi >>> 20) & 0x7ff) - 64;
  }
  ex = e - 1023;
  F64I[0] = lo; F64I[1] = (hi & 0xfffff) | 0x3ff00000;
  return F64[0];
}

/** Dekker's TwoProduct error: a·b = p + err exactly, for p = fl(a·b) well inside the range. */
const SPLIT = 134217729; // 2^27 + 1
function prodErr(a: number, b: number, p: number): number {
  let t = SPLIT * a; const ah = t - (t - a), al = a - ah;
  t = SPLIT * b; const bh = t - (t - b), bl = b - bh;
  return al * bl - (((p - ah * bh) - al * bh) - ah * bl);
}
function sign(x: number): number { return x > 0 ? 1 : x < 0 ? -1 : 0; }

/** Next double above / below a positive magnitude (R >= 0 / R > 0). */
function upD(R: number): number { F64[0] = R; const lo = (F64I[0] + 1) | 0; if (lo === 0) F64I[1] = (F64I[1] + 1) | 0; F64I[0] = lo; return F64[0]; }
function downD(R: number): number { F64[0] = R; const lo = F64I[0]; if (lo === 0) F64I[1] = (F64I[1] - 1) | 0; F64I[0] = (lo - 1) | 0; return F64[0]; }
function upF(R: number): number { F32[0] = R; F32I[0] = (F32I[0] + 1) | 0; return F32[0]; }
function downF(R: number): number { F32[0] = R; F32I[0] = (F32I[0] - 1) | 0; return F32[0]; }

/** Does the rounding mode move magnitudes up ("away") / down ("toward zero") for this sign? */
function away(neg: boolean): boolean { const rc = (mx >> 13) & 3; return rc === RU ? !neg : rc === RD ? neg : false; }
function towardZero(neg: boolean): boolean { const rc = (mx >> 13) & 3; return rc === RZ || (rc === RU && neg) || (rc === RD && !neg); }

/**
 * Finish a double result of nonzero exact value: R = round-to-nearest magnitude (Infinity when the
 * finite operands overflowed), e = sign(|exact| − R). Applies RC, OE/UE/PE and FTZ; sets rLo/rHi.
 * `below`: for R = Infinity, the exact magnitude is below 2^1024, so rounding toward zero gives
 * MAX_D without overflow (overflow is judged with an unbounded exponent, SDM Vol. 1 4.9.1.4).
 */
function fin64(R: number, e: number, neg: boolean, below = false, ux = -1): void {
  let lf = 0;
  if (R === Infinity) {
    if (towardZero(neg)) { lf = below ? PE : OE | PE; R = MAX_D; } else lf = OE | PE;
  } else {
    if (e !== 0) {
      lf = PE;
      if (e > 0 && away(neg)) R = upD(R);
      else if (e < 0 && towardZero(neg)) R = downD(R);
      if (R === Infinity) lf |= OE;
    }
    if (R < MIN_NORM_D) { // tiny (SDM Vol. 1 11.5.2.5)
      if ((mx & UM) === 0) lf |= UE;
      else if ((mx & FTZ) !== 0) { lf |= UE | PE; R = 0; }
      else if (e !== 0) lf |= UE;
    }
  }
  fl |= lf;
  // ux: is the result rounded to 53 bits with an unbounded exponent inexact (-1: as e says)?
  pu |= (lf & (OE | UE)) !== 0 ? ((ux >= 0 ? ux !== 0 : e !== 0) ? PE : 0) : lf & PE;
  put(neg ? -R : R);
}

/** Does the double D (> 0) need more than 24 significant bits (single rounding, unbounded exponent)? */
function sig24Inexact(D: number): boolean {
  F64[0] = D < MIN_NORM_D ? D * 18446744073709551616 : D; // a denormal double: normalize (× 2^64) first
  return (F64I[0] & 0x1fffffff) !== 0;
}

/** Same for a single result: D = exact value or its RN double, eD = sign(|exact| − D); returns bits. */
function fin32(D: number, eD: number, neg: boolean): number {
  let R = Math.fround(D);
  let e: number;
  let lf = 0;
  if (R !== D) {
    if (eD !== 0) {
      // D itself was rounded: a D exactly halfway between two singles must not tie-break to even.
      const lo = R < D ? R : downF(R);
      const hi = R < D ? upF(R) : (R === Infinity ? TWO128 : R);
      if (D - lo === hi - D) R = eD > 0 ? (hi > MAX_F ? Infinity : hi) : lo;
    }
    e = D > R ? 1 : D < R ? -1 : eD;
  } else e = eD;
  if (R === Infinity) {
    // Rounded toward zero, values below 2^128 give MAX_F without overflow (unbounded exponent).
    const below = D < TWO128 || (D === TWO128 && eD < 0);
    if (towardZero(neg)) { lf = below ? PE : OE | PE; R = MAX_F; } else { lf = OE | PE; R = Infinity; }
  } else {
    if (e !== 0) {
      lf = PE;
      if (e > 0 && away(neg)) R = upF(R);
      else if (e < 0 && towardZero(neg)) R = downF(R);
      if (R === Infinity) lf |= OE;
    }
    if (R < MIN_NORM_F) {
      if ((mx & UM) === 0) lf |= UE;
      else if ((mx & FTZ) !== 0) { lf |= UE | PE; R = 0; }
      else if (e !== 0) lf |= UE;
    }
  }
  fl |= lf;
  if ((lf & (OE | UE)) === 0) pu |= lf & PE;
  else if (eD !== 0 || sig24Inexact(D)) pu |= PE;
  return fbits(neg ? -R : R);
}

/** Exact-zero sum: +0 unless both operands are -0, or RC = down and not both +0 (IEEE 754 6.3). */
function zeroSum(x: number, y: number): number {
  const bothNeg = 1 / x < 0 && 1 / y < 0;
  if (bothNeg) return -0;
  const bothPos = x === 0 && y === 0 && 1 / x > 0 && 1 / y > 0;
  return ((mx >> 13) & 3) === RD && !bothPos ? -0 : 0;
}

// ---------------------------------------------------------------- double-precision operations
export const K_ADD = 0, K_MUL = 1, K_SUB = 4, K_MIN = 5, K_DIV = 6, K_MAX = 7, K_SQRT = 8;

/** Two-operand NaN rule for SSE (SDM Vol. 1 Table 4-7): first NaN operand, quieted; IE on SNaN. */
function nanD(aLo: number, aHi: number, bLo: number, bHi: number): boolean {
  const an = isNanD(aLo, aHi), bn = isNanD(bLo, bHi);
  if (!an && !bn) return false;
  if (isSnanD(aLo, aHi) || isSnanD(bLo, bHi)) fl |= IE;
  if (an) { rLo = aLo; rHi = aHi | 0x80000; } else { rLo = bLo; rHi = bHi | 0x80000; }
  return true;
}
function indefD(): void { fl |= IE; rLo = 0; rHi = QNAN_D_HI; }

/** 1 if the significand product ma·mb (quotient ma/mb) does not fit in 53 bits, else 0. */
function sigInexact(k: number, ma: number, mb: number): number {
  if (k === K_MUL) { const p = ma * mb; return prodErr(ma, mb, p) !== 0 ? 1 : 0; }
  const q = ma / mb, p = q * mb;
  return (ma - p) - prodErr(q, mb, p) !== 0 ? 1 : 0;
}

/** rLo:rHi ← a op b (a = first/destination operand, b = second/source). */
export function opD(k: number, aLo: number, aHi: number, bLo: number, bHi: number): void {
  switch (k) {
    case K_ADD: case K_SUB: {
      if (nanD(aLo, aHi, bLo, bHi)) return;
      const x = dbl(aLo, aHi); let y = dbl(bLo, bHi);
      if (k === K_SUB) y = -y;
      if ((x === Infinity && y === -Infinity) || (x === -Infinity && y === Infinity)) { indefD(); return; }
      if (isDenD(aLo, aHi) || isDenD(bLo, bHi)) fl |= DE;
      const r = x + y;
      if (r === Infinity || r === -Infinity) {
        if (x === r || y === r) { put(r); return; } // an infinite operand: exact
        // Both operands are then at least 2^969, so halving them is exact: is |x+y| >= 2^1024?
        const xs = x * 0.5, ys = y * 0.5, rs = xs + ys, bs = rs - xs;
        const es = (xs - (rs - bs)) + (ys - bs), as = Math.abs(rs), em = rs < 0 ? -es : es;
        fin64(Infinity, 1, r < 0, as < TWO1023 || (as === TWO1023 && em < 0), es !== 0 ? 1 : 0);
        return;
      }
      if (r === 0) { put(zeroSum(x, y)); return; } // sums that small are exact
      const bb = r - x;
      const err = (x - (r - bb)) + (y - bb); // TwoSum: x + y = r + err exactly
      const neg = r < 0;
      fin64(neg ? -r : r, neg ? -sign(err) : sign(err), neg);
      return;
    }
    case K_MUL: case K_DIV: {
      if (nanD(aLo, aHi, bLo, bHi)) return;
      const neg = ((aHi ^ bHi) >> 31) !== 0;
      const aZ = isZeroD(aLo, aHi), bZ = isZeroD(bLo, bHi), aI = isInfD(aLo, aHi), bI = isInfD(bLo, bHi);
      const den = isDenD(aLo, aHi) || isDenD(bLo, bHi);
      if (k === K_MUL) {
        if ((aZ && bI) || (aI && bZ)) { indefD(); return; }
        if (den) fl |= DE;
        if (aI || bI) { put(neg ? -Infinity : Infinity); return; }
        if (aZ || bZ) { put(neg ? -0 : 0); return; }
      } else {
        if ((aZ && bZ) || (aI && bI)) { indefD(); return; }
        if (bZ && !aI) { fl |= ZE; put(neg ? -Infinity : Infinity); return; } // ZE outranks DE; ∞ / 0 is exact
        if (den) fl |= DE;
        if (aI) { put(neg ? -Infinity : Infinity); return; }
        if (bI || aZ) { put(neg ? -0 : 0); return; }
      }
      const ma = frexpD(aLo, aHi), ea = ex;
      const mb = frexpD(bLo, bHi), eb = ex;
      const x = Math.abs(dbl(aLo, aHi)), y = Math.abs(dbl(bLo, bHi));
      let R: number, E: number;
      if (k === K_MUL) { R = x * y; E = ea + eb; } else { R = x / y; E = ea - eb; }
      if (R === Infinity) {
        // Overflowed: is the exact m·2^E below 2^1024? m = ma·mb in [1,4) or ma/mb in (0.5,2).
        let m: number, em: number;
        if (k === K_MUL) { m = ma * mb; em = sign(prodErr(ma, mb, m)); }
        else { m = ma / mb; const p = m * mb; em = sign((ma - p) - prodErr(m, mb, p)); }
        const t = pow2(1024 - E);
        fin64(R, 1, neg, m < t || (m === t && em < 0), em !== 0 ? 1 : 0);
        return;
      }
      if (R === 0) { fin64(0, 1, neg, false, sigInexact(k, ma, mb)); return; }
      // Error sign of R against the exact ma·mb (or ma/mb) · 2^E, on significands near 1.
      const Rs = ldexp(R, -E);
      let e: number;
      if (k === K_MUL) { const p = ma * mb; e = sign((p - Rs) + prodErr(ma, mb, p)); }
      else { const p = Rs * mb; e = sign((ma - p) - prodErr(Rs, mb, p)); }
      fin64(R, e, neg, false, R < MIN_NORM_D ? sigInexact(k, ma, mb) : -1);
      return;
    }
    case K_MIN: case K_MAX: {
      // MINSD/MAXSD: any NaN or two zeros → the second (source) operand as is (SDM Vol. 2B MINSD).
      if (isNanD(aLo, aHi) || isNanD(bLo, bHi)) { fl |= IE; rLo = bLo; rHi = bHi; return; }
      if (isDenD(aLo, aHi) || isDenD(bLo, bHi)) fl |= DE;
      const x = dbl(aLo, aHi), y = dbl(bLo, bHi);
      if (k === K_MIN ? x < y : x > y) { rLo = aLo; rHi = aHi; } else { rLo = bLo; rHi = bHi; }
      return;
    }
    default: { // K_SQRT of the second operand
      if (isNanD(bLo, bHi)) { if (isSnanD(bLo, bHi)) fl |= IE; rLo = bLo; rHi = bHi | 0x80000; return; }
      if (isZeroD(bLo, bHi)) { rLo = bLo; rHi = bHi; return; } // sqrt(-0) = -0
      if (bHi < 0) { indefD(); return; }
      if (isInfD(bLo, bHi)) { rLo = bLo; rHi = bHi; return; }
      if (isDenD(bLo, bHi)) fl |= DE;
      let m = frexpD(bLo, bHi), e = ex;
      if ((e & 1) !== 0) { m *= 2; e -= 1; }
      const R = Math.sqrt(dbl(bLo, bHi));
      const Rs = ldexp(R, -(e / 2));
      const p = Rs * Rs;
      fin64(R, sign((m - p) - prodErr(Rs, Rs, p)), false);
    }
  }
}

// ---------------------------------------------------------------- single-precision operations
function nanF(a: number, b: number): number | undefined {
  const an = isNanF(a), bn = isNanF(b);
  if (!an && !bn) return undefined;
  if (isSnanF(a) || isSnanF(b)) fl |= IE;
  return (an ? a : b) | 0x400000;
}

/** Single a op b, computed in double (exact or with its error sign), rounded once to single. */
export function opF(k: number, a: number, b: number): number {
  switch (k) {
    case K_ADD: case K_SUB: {
      const n = nanF(a, b); if (n !== undefined) return n;
      const x = flt(a); let y = flt(b);
      if (k === K_SUB) y = -y;
      if ((x === Infinity && y === -Infinity) || (x === -Infinity && y === Infinity)) { fl |= IE; return QNAN_F; }
      if (isDenF(a) || isDenF(b)) fl |= DE;
      if (x === Infinity || x === -Infinity) return fbits(x);
      if (y === Infinity || y === -Infinity) return fbits(y);
      const r = x + y;
      if (r === 0) return fbits(zeroSum(x, y));
      const bb = r - x;
      const err = sign((x - (r - bb)) + (y - bb));
      const neg = r < 0;
      return fin32(neg ? -r : r, neg ? -err : err, neg);
    }
    case K_MUL: case K_DIV: {
      const n = nanF(a, b); if (n !== undefined) return n;
      const neg = ((a ^ b) >> 31) !== 0;
      const x = Math.abs(flt(a)), y = Math.abs(flt(b));
      const den = isDenF(a) || isDenF(b);
      if (k === K_MUL) {
        if ((x === 0 && y === Infinity) || (x === Infinity && y === 0)) { fl |= IE; return QNAN_F; }
        if (den) fl |= DE;
        if (x === Infinity || y === Infinity) return neg ? 0xff800000 | 0 : 0x7f800000;
        if (x === 0 || y === 0) return neg ? 0x80000000 | 0 : 0;
        return fin32(x * y, 0, neg); // a product of two singles is exact in double
      }
      if ((x === 0 && y === 0) || (x === Infinity && y === Infinity)) { fl |= IE; return QNAN_F; }
      if (y === 0 && x !== Infinity) { fl |= ZE; return neg ? 0xff800000 | 0 : 0x7f800000; }
      if (den) fl |= DE;
      if (x === Infinity) return neg ? 0xff800000 | 0 : 0x7f800000;
      if (y === Infinity || x === 0) return neg ? 0x80000000 | 0 : 0;
      const R = x / y, p = R * y;
      return fin32(R, sign((x - p) - prodErr(R, y, p)), neg);
    }
    case K_MIN: case K_MAX: {
      if (isNanF(a) || isNanF(b)) { fl |= IE; return b; }
      if (isDenF(a) || isDenF(b)) fl |= DE;
      const x = flt(a), y = flt(b);
      return (k === K_MIN ? x < y : x > y) ? a : b;
    }
    default: {
      if (isNanF(b)) { if (isSnanF(b)) fl |= IE; return b | 0x400000; }
      if ((b & 0x7fffffff) === 0) return b;
      if (b < 0) { fl |= IE; return QNAN_F; }
      if (b === 0x7f800000) return b;
      if (isDenF(b)) fl |= DE;
      const x = flt(b), R = Math.sqrt(x), p = R * R;
      return fin32(R, sign((x - p) - prodErr(R, R, p)), false);
    }
  }
}

// ---------------------------------------------------------------- compares
/**
 * CMPSD/CMPSS/CMPPD/CMPPS predicate 0-7 (SDM Vol. 2A CMPPD Table 3-1): EQ LT LE UNORD NEQ NLT NLE ORD.
 * LT/LE/NLT/NLE signal IE on any NaN, the others only on SNaN. Returns true/false.
 */
export function cmpD(pred: number, aLo: number, aHi: number, bLo: number, bHi: number): boolean {
  const un = isNanD(aLo, aHi) || isNanD(bLo, bHi);
  if (un) {
    if ((pred & 3) === 1 || (pred & 3) === 2 || isSnanD(aLo, aHi) || isSnanD(bLo, bHi)) fl |= IE;
  } else if (isDenD(aLo, aHi) || isDenD(bLo, bHi)) fl |= DE;
  return cmpPred(pred, un, dbl(aLo, aHi), dbl(bLo, bHi));
}
export function cmpF(pred: number, a: number, b: number): boolean {
  const un = isNanF(a) || isNanF(b);
  if (un) {
    if ((pred & 3) === 1 || (pred & 3) === 2 || isSnanF(a) || isSnanF(b)) fl |= IE;
  } else if (isDenF(a) || isDenF(b)) fl |= DE;
  return cmpPred(pred, un, flt(a), flt(b));
}
function cmpPred(pred: number, un: boolean, x: number, y: number): boolean {
  switch (pred) {
    case 0: return !un && x === y;
    case 1: return !un && x < y;
    case 2: return !un && x <= y;
    case 3: return un;
    case 4: return un || x !== y;
    case 5: return un || !(x < y);
    case 6: return un || !(x <= y);
    default: return !un;
  }
}

/**
 * COMISD/UCOMISD/COMISS/UCOMISS result as EFLAGS bits ZF PF CF (SDM Vol. 2A COMISD):
 * unordered 111, greater 000, less 001, equal 100. `signalQnan`: COMIS* signal IE on QNaN too.
 */
export function comiD(aLo: number, aHi: number, bLo: number, bHi: number, signalQnan: boolean): number {
  if (isNanD(aLo, aHi) || isNanD(bLo, bHi)) {
    if (signalQnan || isSnanD(aLo, aHi) || isSnanD(bLo, bHi)) fl |= IE;
    return 0x45;
  }
  if (isDenD(aLo, aHi) || isDenD(bLo, bHi)) fl |= DE;
  const x = dbl(aLo, aHi), y = dbl(bLo, bHi);
  return x < y ? 0x01 : x > y ? 0 : 0x40;
}
export function comiF(a: number, b: number, signalQnan: boolean): number {
  if (isNanF(a) || isNanF(b)) {
    if (signalQnan || isSnanF(a) || isSnanF(b)) fl |= IE;
    return 0x45;
  }
  if (isDenF(a) || isDenF(b)) fl |= DE;
  const x = flt(a), y = flt(b);
  return x < y ? 0x01 : x > y ? 0 : 0x40;
}

// ---------------------------------------------------------------- conversions
/** CVTSS2SD: exact; SNaN → QNaN with IE (payload kept), denormal → DE. */
export function f2d(a: number): void {
  if (isNanF(a)) {
    if (isSnanF(a)) fl |= IE;
    rHi = (a & 0x80000000) | 0x7ff80000 | ((a & 0x3fffff) >>> 3);
    rLo = (a & 7) << 29;
    return;
  }
  if (isDenF(a)) fl |= DE;
  put(flt(a));
}
/** CVTSD2SS: rounded by MXCSR.RC; NaN payload truncated to its upper bits. Returns single bits. */
export function d2f(lo: number, hi: number): number {
  if (isNanD(lo, hi)) {
    if (isSnanD(lo, hi)) fl |= IE;
    return (hi & 0x80000000) | 0x7fc00000 | ((hi & 0x7ffff) << 3) | (lo >>> 29);
  }
  const x = dbl(lo, hi);
  if (x === 0 || x === Infinity || x === -Infinity) return fbits(x);
  if (isDenD(lo, hi)) fl |= DE;
  return x < 0 ? fin32(-x, 0, true) : fin32(x, 0, false);
}

/** CVTSI2SD of the signed integer hi:lo (hi = sign extension for 32-bit sources). */
export function i2d(lo: number, hi: number): void {
  const h = hi * TWO32, l = lo >>> 0;
  const r = h + l;
  if (r === 0) { rLo = 0; rHi = 0; return; }
  const bb = r - h;
  const err = sign((h - (r - bb)) + (l - bb));
  const neg = r < 0;
  fin64(neg ? -r : r, neg ? -err : err, neg);
}
/** CVTSI2SS of the signed integer hi:lo; returns single bits. */
export function i2f(lo: number, hi: number): number {
  const h = hi * TWO32, l = lo >>> 0;
  const r = h + l;
  if (r === 0) return 0;
  const bb = r - h;
  const err = sign((h - (r - bb)) + (l - bb));
  const neg = r < 0;
  return fin32(neg ? -r : r, neg ? -err : err, neg);
}

/**
 * CVT(T)SD2SI / CVT(T)SS2SI of x (a finite or infinite number, or NaN): rounded by MXCSR.RC, or
 * truncated; NaN or out of range → IE and the integer indefinite 0x80000000 / 0x8000000000000000.
 * Result in rLo (and rHi for 64-bit).
 */
export function toInt(x: number, trunc: boolean, is64: boolean): void {
  let v: number;
  if (x !== x) v = NaN;
  else {
    switch (trunc ? RZ : (mx >> 13) & 3) {
      case RN: {
        v = Math.floor(x);
        const d = x - v;
        if (d > 0.5 || (d === 0.5 && v % 2 !== 0)) v += 1;
        break;
      }
      case RD: v = Math.floor(x); break;
      case RU: v = Math.ceil(x); break;
      default: v = Math.trunc(x);
    }
  }
  const ok = is64 ? v >= -9223372036854775808 && v < 9223372036854775808 : v >= -2147483648 && v <= 2147483647;
  if (!ok) { fl |= IE; rLo = 0; rHi = 0x80000000 | 0; if (!is64) rLo = 0x80000000 | 0; return; }
  if (v !== x) fl |= PE;
  rLo = (v % TWO32) | 0;
  rHi = Math.floor(v / TWO32) | 0;
}

// ---------------------------------------------------------------- approximations
/**
 * RCPSS/RSQRTSS. The SDM only bounds the relative error (|err| <= 1.5·2^-12); this returns the
 * correctly rounded single of 1/x and 1/sqrt(x), which satisfies the bound but is not bit-identical
 * to any particular Intel part. Denormal inputs count as zero, tiny results flush to zero, no flags.
 */
export function rcpF(a: number, rsqrt: boolean): number {
  if (isNanF(a)) return a | 0x400000;
  const neg = a < 0;
  if ((a & 0x7f800000) === 0) return neg ? 0xff800000 | 0 : 0x7f800000; // ±0 and denormals
  if (rsqrt && neg) return QNAN_F;
  if ((a & 0x7fffffff) === 0x7f800000) return a & 0x80000000; // ±inf → ±0
  const x = flt(a);
  const r = Math.fround(rsqrt ? 1 / Math.sqrt(x) : 1 / x);
  if (Math.abs(r) < MIN_NORM_F) return a & 0x80000000;
  return fbits(r);
}
