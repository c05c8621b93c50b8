// SSE/SSE2 floating point. Expected results come from an independent exact reference (BigInt
// rationals rounded per IEEE 754 in sse-helpers.ts) or from JS Math (binary64, round to nearest),
// and from the SDM's tables: NaN rules (Vol. 1 Table 4-7 / Appendix E Table E-1), MINSD/MAXSD,
// COMISD/UCOMISD EFLAGS (Vol. 2A COMISD), CVTTSD2SI integer indefinite (Vol. 2A CVTTSD2SI),
// MXCSR flags and unmasked-exception behaviour (Vol. 1 11.5, Vol. 3A 13.1.5).
import { describe, it, expect } from 'vitest';
import { RAX } from '../../emulator/cpu/state.ts';
const R12 = 12;
import {
  cpu, hx, setSd, getSd, setQ, getQ, setX, getX, dbits, bitsd, fbits, bitsf, runOne, DATA,
  roundRat, ratOfD, ratOfF, F64, F32, RN, RD, RU, RZ, rng,
} from './sse-helpers.ts';
import type { Harness } from '../helpers/cpu-harness.ts';

const IE = 1, DE = 2, ZE = 4, OE = 8, UE = 16, PE = 32;
const CF = 1, PF = 4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800;
const MX = 0x1f80;
const QNAN_D = 0xfff8000000000000n;
const QNAN_F = 0xffc00000;

const ENC = {
  addsd: 'f20f58c1', subsd: 'f20f5cc1', mulsd: 'f20f59c1', divsd: 'f20f5ec1', sqrtsd: 'f20f51c1',
  minsd: 'f20f5dc1', maxsd: 'f20f5fc1',
  addss: 'f30f58c1', subss: 'f30f5cc1', mulss: 'f30f59c1', divss: 'f30f5ec1', sqrtss: 'f30f51c1',
  minss: 'f30f5dc1', maxss: 'f30f5fc1',
};

// ---------------------------------------------------------------- reference arithmetic
type Op = 'add' | 'sub' | 'mul' | 'div' | 'sqrt';
function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  // Newton's iteration from a power of two above the root; decreases monotonically to floor(sqrt n).
  let x = 1n << BigInt(Math.ceil(n.toString(2).length / 2));
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}
/** Exact rational of a op b, or for sqrt a rational with a sticky bit that rounds identically. */
function exact(op: Op, a: [bigint, bigint], b: [bigint, bigint]): [bigint, bigint] {
  const [an, ad] = a, [bn, bd] = b;
  switch (op) {
    case 'add': return [an * bd + bn * ad, ad * bd];
    case 'sub': return [an * bd - bn * ad, ad * bd];
    case 'mul': return [an * bn, ad * bd];
    case 'div': return bn < 0n ? [-an * bd, ad * -bn] : [an * bd, ad * bn];
    default: {
      // sqrt(bn/bd): scale by 4^k so the integer root has ~200 bits; append a sticky bit.
      const k = 200n + BigInt(Math.max(0, bd.toString(2).length - bn.toString(2).length));
      const X = (bn << (2n * k)) / bd;
      const s = isqrt(X);
      const inexact = s * s * bd !== bn << (2n * k);
      return [2n * s + (inexact ? 1n : 0n), 1n << (k + 1n)];
    }
  }
}

/** A random finite nonzero double; `e` fixes the biased exponent when given (0 = subnormal). */
function randD(r: () => number, e?: number): number {
  const exp = e ?? r() % 2047;
  const hi = ((r() & 1) << 31) | (exp << 20) | (r() & 0xfffff);
  let lo = r() | 0;
  if (exp === 0 && (hi & 0xfffff) === 0 && lo === 0) lo = 1;
  return bitsd((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
}
function randF(r: () => number, e?: number): number {
  const exp = e ?? r() % 255;
  let v = ((r() & 1) << 31) | (exp << 23) | (r() & 0x7fffff);
  if (exp === 0 && (v & 0x7fffff) === 0) v |= 1;
  return v >>> 0;
}
function biasedD(x: number): number { return Number((dbits(x) >> 52n) & 0x7ffn); }
function clampE(e: number, max: number): number { return Math.max(0, Math.min(max, e)); }

/** Operand pairs: wide exponents, close exponents (cancellation), products/quotients near the range ends. */
function pairsD(op: Op, n: number, seed: number): [number, number][] {
  const r = rng(seed);
  const out: [number, number][] = [];
  for (let k = 0; k < n; k++) {
    const a = randD(r);
    const kind = k % 4;
    let b: number;
    if (kind === 0) b = randD(r);
    else if (kind === 1) b = randD(r, clampE(biasedD(a) + (r() % 7) - 3, 2046));
    else {
      // aim the result exponent near the subnormal range (kind 2) or the overflow threshold (kind 3)
      const target = kind === 2 ? -1075 + (r() % 60) : 1000 + (r() % 30);
      const ea = biasedD(a) - 1023;
      const eb = op === 'mul' ? target - ea : ea - target;
      b = randD(r, clampE(eb + 1023, 2046));
    }
    out.push([a, b]);
  }
  return out;
}

function flagsExpected(res: ReturnType<typeof roundRat>, den: boolean): number {
  let f = den ? DE : 0;
  if (res.overflow) f |= OE | PE;
  else {
    if (res.inexact) f |= PE;
    if (res.tiny && res.inexact) f |= UE;
  }
  return f;
}

function runSd(h: Harness, enc: string, a: number, b: number, rc: number): { bits: bigint; hi: bigint; flags: number } {
  h.cpu.mxcsr = MX | (rc << 13);
  setQ(h, 0, dbits(a), 0x0123456789abcdefn);
  setQ(h, 1, dbits(b), 0xfedcba9876543210n);
  h.exec(hx(enc));
  const [lo, hi] = getQ(h, 0);
  return { bits: lo, hi, flags: h.cpu.mxcsr & 0x3f };
}
function isDenD(x: number): boolean { return x !== 0 && Math.abs(x) < 2.2250738585072014e-308; }

describe('SSE2 scalar double arithmetic against an exact reference, all rounding modes', () => {
  const h = cpu();
  for (const op of ['add', 'sub', 'mul', 'div', 'sqrt'] as Op[]) {
    it(`${op}sd: 400 operand pairs × RN/RD/RU/RZ, result bits and PE/OE/UE/DE flags`, () => {
      const pairs = pairsD(op, 400, 0x1234 + op.length * 77 + op.charCodeAt(0));
      let checked = 0;
      for (const [a0, b0] of pairs) {
        const a = a0, b = op === 'sqrt' ? Math.abs(b0) : b0;
        const ex = exact(op, ratOfD(a), ratOfD(b));
        if (ex[0] === 0n) continue;
        for (const rc of [RN, RD, RU, RZ]) {
          const want = roundRat(ex[0], ex[1], F64, rc);
          const got = runSd(h, ENC[`${op}sd` as keyof typeof ENC], a, b, rc);
          const den = op === 'sqrt' ? isDenD(b) : isDenD(a) || isDenD(b);
          if (got.bits !== want.bits || got.flags !== flagsExpected(want, den)) {
            throw new Error(`${op}sd ${a} ${b} rc=${rc}: got ${got.bits.toString(16)} flags ${got.flags.toString(16)}, want ${want.bits.toString(16)} flags ${flagsExpected(want, den).toString(16)}`);
          }
          expect(got.hi).toBe(0x0123456789abcdefn); // upper quadword of the destination is kept
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(1000);
    });
  }
  it('round to nearest agrees with JS arithmetic (an independent binary64 implementation)', () => {
    const r = rng(99);
    for (let k = 0; k < 300; k++) {
      const a = randD(r), b = randD(r);
      expect(runSd(h, ENC.addsd, a, b, RN).bits).toBe(dbits(a + b));
      expect(runSd(h, ENC.subsd, a, b, RN).bits).toBe(dbits(a - b));
      expect(runSd(h, ENC.mulsd, a, b, RN).bits).toBe(dbits(a * b));
      expect(runSd(h, ENC.divsd, a, b, RN).bits).toBe(dbits(a / b));
      expect(runSd(h, ENC.sqrtsd, a, Math.abs(b), RN).bits).toBe(dbits(Math.sqrt(Math.abs(b))));
    }
  });
  it('exact zero sums: +0, except -0 when rounding down (IEEE 754 6.3)', () => {
    expect(runSd(h, ENC.subsd, 1.5, 1.5, RN).bits).toBe(0n);
    expect(runSd(h, ENC.subsd, 1.5, 1.5, RD).bits).toBe(dbits(-0));
    expect(runSd(h, ENC.addsd, -0, -0, RN).bits).toBe(dbits(-0));
    expect(runSd(h, ENC.addsd, 0, -0, RN).bits).toBe(0n);
    expect(runSd(h, ENC.addsd, 0, 0, RD).bits).toBe(0n);
  });
});

describe('SSE scalar single arithmetic against an exact reference', () => {
  const h = cpu();
  const ops: Op[] = ['add', 'sub', 'mul', 'div', 'sqrt'];
  for (const op of ops) {
    it(`${op}ss: 400 operand pairs × 4 rounding modes`, () => {
      const r = rng(0x777 + op.charCodeAt(1));
      let checked = 0;
      for (let k = 0; k < 400; k++) {
        const a = randF(r);
        const kind = k % 3;
        let b = kind === 0 ? randF(r) : randF(r, clampE(((a >>> 23) & 0xff) + (r() % 7) - 3, 254));
        if (kind === 2) {
          const target = k % 2 ? -150 + (r() % 30) : 100 + (r() % 30);
          const ea = ((a >>> 23) & 0xff) - 127;
          b = randF(r, clampE((op === 'mul' ? target - ea : ea - target) + 127, 254));
        }
        if (op === 'sqrt') b &= 0x7fffffff;
        const ex = exact(op, ratOfF(a), ratOfF(b));
        if (ex[0] === 0n) continue;
        const den = (op !== 'sqrt' && (a & 0x7f800000) === 0) || (b & 0x7f800000) === 0;
        for (const rc of [RN, RD, RU, RZ]) {
          const want = roundRat(ex[0], ex[1], F32, rc);
          h.cpu.mxcsr = MX | (rc << 13);
          setX(h, 0, [a, 0x11111111, 0x22222222, 0x33333333]);
          setX(h, 1, [b, 0x44444444, 0x55555555, 0x66666666]);
          h.exec(hx(ENC[`${op}ss` as keyof typeof ENC]));
          const got = getX(h, 0);
          const flags = h.cpu.mxcsr & 0x3f;
          if (BigInt(got[0]) !== want.bits || flags !== flagsExpected(want, den)) {
            throw new Error(`${op}ss ${a.toString(16)} ${b.toString(16)} rc=${rc}: got ${got[0].toString(16)}/${flags}, want ${want.bits.toString(16)}/${flagsExpected(want, den)}`);
          }
          expect(got.slice(1)).toEqual([0x11111111, 0x22222222, 0x33333333]);
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(1000);
    });
  }
});

describe('special operands (SDM Vol. 1 Table 4-7, Appendix E Table E-1)', () => {
  const h = cpu();
  const snan = bitsd(0x7ff4000000000001n), qnan = bitsd(0x7ffc000000000002n);
  it('first NaN operand wins, quieted; SNaN raises IE', () => {
    let r = runSd(h, ENC.addsd, snan, 1, RN);
    expect(r.bits).toBe(0x7ffc000000000001n); expect(r.flags).toBe(IE);
    h.cpu.mxcsr = MX;
    setQ(h, 0, 0x7ff4000000000001n); setQ(h, 1, 0x7ffc000000000002n);
    h.exec(hx(ENC.mulsd));
    expect(getQ(h, 0)[0]).toBe(0x7ffc000000000001n); // SNaN1 op QNaN2 → SNaN1 quieted
    h.cpu.mxcsr = MX;
    setQ(h, 0, 0x7ffc000000000002n); setQ(h, 1, 0x7ff4000000000001n);
    h.exec(hx(ENC.subsd));
    expect(getQ(h, 0)[0]).toBe(0x7ffc000000000002n); // QNaN1 op SNaN2 → QNaN1, IE
    expect(h.cpu.mxcsr & 0x3f).toBe(IE);
    r = runSd(h, ENC.divsd, 2, qnan, RN);
    expect(r.bits).toBe(dbits(qnan)); expect(r.flags).toBe(0); // QNaN alone: no exception
    r = runSd(h, ENC.sqrtsd, 0, snan, RN);
    expect(r.bits).toBe(0x7ffc000000000001n); expect(r.flags).toBe(IE);
  });
  it('invalid operations give the QNaN indefinite FFF8000000000000H', () => {
    expect(runSd(h, ENC.addsd, Infinity, -Infinity, RN)).toMatchObject({ bits: QNAN_D, flags: IE });
    expect(runSd(h, ENC.subsd, Infinity, Infinity, RN)).toMatchObject({ bits: QNAN_D, flags: IE });
    expect(runSd(h, ENC.mulsd, 0, -Infinity, RN)).toMatchObject({ bits: QNAN_D, flags: IE });
    expect(runSd(h, ENC.divsd, 0, -0, RN)).toMatchObject({ bits: QNAN_D, flags: IE });
    expect(runSd(h, ENC.divsd, Infinity, Infinity, RN)).toMatchObject({ bits: QNAN_D, flags: IE });
    expect(runSd(h, ENC.sqrtsd, 0, -1, RN)).toMatchObject({ bits: QNAN_D, flags: IE });
    expect(runSd(h, ENC.sqrtsd, 0, -0, RN)).toMatchObject({ bits: dbits(-0), flags: 0 });
  });
  it('finite / 0 raises ZE and gives a signed infinity; ∞ / 0 does not', () => {
    expect(runSd(h, ENC.divsd, -3, 0, RN)).toMatchObject({ bits: dbits(-Infinity), flags: ZE });
    expect(runSd(h, ENC.divsd, 3, -0, RN)).toMatchObject({ bits: dbits(-Infinity), flags: ZE });
    expect(runSd(h, ENC.divsd, Infinity, 0, RN)).toMatchObject({ bits: dbits(Infinity), flags: 0 });
    expect(runSd(h, ENC.divsd, 1e-310, 0, RN)).toMatchObject({ bits: dbits(Infinity), flags: ZE }); // ZE outranks DE
  });
  it('overflow: ∞ when rounding away, the largest finite value toward zero (SDM Vol. 1 4.9.1.4)', () => {
    expect(runSd(h, ENC.mulsd, 1e308, 10, RN)).toMatchObject({ bits: dbits(Infinity), flags: OE | PE });
    expect(runSd(h, ENC.mulsd, 1e308, 10, RZ)).toMatchObject({ bits: dbits(Number.MAX_VALUE), flags: OE | PE });
    expect(runSd(h, ENC.mulsd, -1e308, 10, RU)).toMatchObject({ bits: dbits(-Number.MAX_VALUE), flags: OE | PE });
    expect(runSd(h, ENC.mulsd, -1e308, 10, RD)).toMatchObject({ bits: dbits(-Infinity), flags: OE | PE });
  });
  it('overflow is judged with an unbounded exponent: just below 2^1024 toward zero is MAX without OE', () => {
    const x = (1 + 2 ** -27) * 2 ** 512, y = (2 - 2 ** -26) * 2 ** 511; // x·y = (2 − 2^-53)·2^1023
    const M = Number.MAX_VALUE;
    for (const [rc, v, f] of [[RN, Infinity, OE | PE], [RZ, M, PE], [RD, M, PE], [RU, Infinity, OE | PE]] as const) {
      expect(runSd(h, ENC.mulsd, x, y, rc), `mul rc=${rc}`).toMatchObject({ bits: dbits(v), flags: f });
      expect(runSd(h, ENC.addsd, M, 2 ** 970, rc), `add rc=${rc}`).toMatchObject({ bits: dbits(v), flags: f });
      const ex = exact('div', ratOfD(x), ratOfD(1 / y)), want = roundRat(ex[0], ex[1], F64, rc);
      expect(runSd(h, ENC.divsd, x, 1 / y, rc), `div rc=${rc}`).toMatchObject({ bits: want.bits, flags: flagsExpected(want, false) });
    }
    expect(runSd(h, ENC.mulsd, 2 ** 1000, 2 ** 30, RZ)).toMatchObject({ bits: dbits(M), flags: OE | PE });
  });
  it('MINSD/MAXSD return the second operand for NaNs (IE, even QNaN) and for two zeros', () => {
    expect(runSd(h, ENC.minsd, qnan, 5, RN)).toMatchObject({ bits: dbits(5), flags: IE });
    expect(runSd(h, ENC.maxsd, 5, qnan, RN)).toMatchObject({ bits: dbits(qnan), flags: IE });
    expect(runSd(h, ENC.minsd, 0, -0, RN).bits).toBe(dbits(-0));
    expect(runSd(h, ENC.minsd, -0, 0, RN).bits).toBe(0n);
    expect(runSd(h, ENC.maxsd, -0, 0, RN).bits).toBe(0n);
    expect(runSd(h, ENC.minsd, -7, 3, RN).bits).toBe(dbits(-7));
    expect(runSd(h, ENC.maxsd, -7, 3, RN).bits).toBe(dbits(3));
    expect(runSd(h, ENC.minsd, 5e-324, 1, RN)).toMatchObject({ bits: dbits(5e-324), flags: DE });
  });
  it('FTZ flushes tiny results to signed zero with UE and PE', () => {
    h.cpu.mxcsr = MX | 0x8000;
    setSd(h, 0, -1e-300); setSd(h, 1, 1e-10);
    h.exec(hx(ENC.mulsd));
    expect(getQ(h, 0)[0]).toBe(dbits(-0));
    expect(h.cpu.mxcsr & 0x3f).toBe(UE | PE);
  });
  it('single precision: NaN quieting, indefinite FFC00000H, overflow to ∞', () => {
    h.cpu.mxcsr = MX;
    setX(h, 0, [0x7f800001, 0, 0, 0]); setX(h, 1, [fbits(1), 0, 0, 0]);
    h.exec(hx(ENC.addss));
    expect(getX(h, 0)[0]).toBe(0x7fc00001);
    expect(h.cpu.mxcsr & 0x3f).toBe(IE);
    h.cpu.mxcsr = MX;
    setX(h, 0, [fbits(0), 0, 0, 0]); setX(h, 1, [fbits(0), 0, 0, 0]);
    h.exec(hx(ENC.divss));
    expect(getX(h, 0)[0]).toBe(QNAN_F);
    h.cpu.mxcsr = MX;
    setX(h, 0, [fbits(3e38), 0, 0, 0]); setX(h, 1, [fbits(3e38), 0, 0, 0]);
    h.exec(hx(ENC.addss));
    expect(getX(h, 0)[0]).toBe(0x7f800000);
    expect(h.cpu.mxcsr & 0x3f).toBe(OE | PE);
  });
});

describe('packed arithmetic', () => {
  const h = cpu();
  it('ADDPD/MULPD/SQRTPD work lane by lane', () => {
    h.cpu.mxcsr = MX;
    setSd(h, 0, 1.5, -2.25); setSd(h, 1, 0.1, 1e300);
    h.exec(hx('660f58c1')); // addpd xmm0, xmm1
    expect(getQ(h, 0)).toEqual([dbits(1.5 + 0.1), dbits(-2.25 + 1e300)]);
    setSd(h, 0, 3, -0.5); setSd(h, 1, 7, 1e-3);
    h.exec(hx('660f59c1')); // mulpd
    expect(getQ(h, 0)).toEqual([dbits(21), dbits(-0.5 * 1e-3)]);
    setSd(h, 1, 2, 81);
    h.exec(hx('660f51c1')); // sqrtpd xmm0, xmm1
    expect(getQ(h, 0)).toEqual([dbits(Math.SQRT2), dbits(9)]);
  });
  it('ADDPS/DIVPS on four singles (computed with Math.fround)', () => {
    const a = [1.5, -2, 3.25, 1e10], b = [0.1, 3, -7, 3e-5];
    setX(h, 0, a.map(fbits)); setX(h, 1, b.map(fbits));
    h.exec(hx('0f58c1')); // addps
    expect(getX(h, 0)).toEqual(a.map((x, k) => fbits(Math.fround(Math.fround(x) + Math.fround(b[k])))));
    setX(h, 0, a.map(fbits));
    h.exec(hx('0f5ec1')); // divps
    expect(getX(h, 0)).toEqual(a.map((x, k) => fbits(Math.fround(Math.fround(x) / Math.fround(b[k])))));
  });
  it('a memory m128 operand must be 16-byte aligned (#GP(0)); m64 of ADDSD need not be', () => {
    h.mem.view.setFloat64(DATA + 8, 2.5, true); h.mem.view.setFloat64(DATA + 16, 4, true);
    h.setReg(7, BigInt(DATA + 8)); // rdi
    setSd(h, 0, 1, 1);
    expect(runOne(h, hx('660f5807'))).toEqual({ vector: 13, code: 0 }); // addpd xmm0, [rdi]
    expect(getQ(h, 0)).toEqual([dbits(1), dbits(1)]);
    h.setReg(7, BigInt(DATA + 8));
    setSd(h, 0, 1, 1);
    h.exec(hx('f20f5807')); // addsd xmm0, [rdi]
    expect(getSd(h, 0)).toBe(3.5);
    h.mem.view.setFloat64(DATA, -1, true);
    h.setReg(7, BigInt(DATA));
    setSd(h, 0, 1, 1);
    h.exec(hx('660f5807')); // addpd xmm0, [rdi] aligned: [-1, 2.5]
    expect(getQ(h, 0)).toEqual([dbits(0), dbits(3.5)]);
  });
  it('REX.R/REX.B reach xmm8-15', () => {
    setSd(h, 8, 10, 77); setSd(h, 9, 0.5);
    h.exec(hx('f2450f58c1')); // addsd xmm8, xmm9
    expect(getQ(h, 8)).toEqual([dbits(10.5), dbits(77)]);
  });
});

describe('compares', () => {
  const h = cpu();
  const snan = bitsd(0x7ff0000000000001n), qnan = NaN;
  function comi(enc: string, a: number, b: number): { f: number; mx: number } {
    h.cpu.mxcsr = MX;
    h.cpu.lfOp = 0; h.cpu.lfEager = CF | PF | AF | ZF | SF | OF; // all set beforehand
    setSd(h, 0, a); setSd(h, 1, b);
    h.exec(hx(enc));
    return { f: h.rflags() & (CF | PF | AF | ZF | SF | OF), mx: h.cpu.mxcsr & 0x3f };
  }
  it('COMISD/UCOMISD flags: unordered 111, greater 000, less 001, equal 100; OF SF AF cleared', () => {
    for (const enc of ['660f2fc1', '660f2ec1']) {
      expect(comi(enc, 2, 1).f).toBe(0);
      expect(comi(enc, 1, 2).f).toBe(CF);
      expect(comi(enc, 3, 3).f).toBe(ZF);
      expect(comi(enc, -0, 0).f).toBe(ZF); // the sign of zero is ignored
      expect(comi(enc, qnan, 1).f).toBe(ZF | PF | CF);
      expect(comi(enc, -Infinity, 1e308).f).toBe(CF);
    }
  });
  it('COMISD signals IE on QNaN, UCOMISD only on SNaN', () => {
    expect(comi('660f2fc1', qnan, 1).mx).toBe(IE);
    expect(comi('660f2ec1', qnan, 1).mx).toBe(0);
    expect(comi('660f2ec1', 1, snan).mx).toBe(IE);
    expect(comi('660f2ec1', 5e-324, 1).mx).toBe(DE);
  });
  it('COMISS/UCOMISS on singles', () => {
    h.cpu.mxcsr = MX;
    setX(h, 0, [fbits(1.5), 0, 0, 0]); setX(h, 1, [fbits(2.5), 0, 0, 0]);
    h.exec(hx('0f2fc1'));
    expect(h.rflags() & (CF | PF | ZF)).toBe(CF);
    setX(h, 1, [0x7fc00000, 0, 0, 0]);
    h.exec(hx('0f2ec1'));
    expect(h.rflags() & (CF | PF | ZF)).toBe(CF | PF | ZF);
    expect(h.cpu.mxcsr & IE).toBe(0);
  });
  it('CMPccSD/PD/SS/PS predicates 0-7 (SDM Vol. 2A CMPPD Table 3-1)', () => {
    const vals: [number, number][] = [[1, 2], [2, 1], [3, 3], [NaN, 1]];
    const ref = (p: number, a: number, b: number) => {
      const un = a !== a || b !== b;
      return [a === b, a < b, a <= b, un, un || a !== b, un || !(a < b), un || !(a <= b), !un][p];
    };
    for (let p = 0; p < 8; p++) {
      for (const [a, b] of vals) {
        h.cpu.mxcsr = MX;
        setSd(h, 0, a, 9); setSd(h, 1, b);
        h.exec(hx('f20fc2c1', p.toString(16).padStart(2, '0'))); // cmpsd xmm0, xmm1, p
        expect(getQ(h, 0)).toEqual([ref(p, a, b) ? 0xffffffffffffffffn : 0n, dbits(9)]);
        const signaling = p === 1 || p === 2 || p === 5 || p === 6;
        expect(h.cpu.mxcsr & IE).toBe(a !== a && signaling ? IE : 0);
      }
      // packed single: four lanes at once
      h.cpu.mxcsr = MX;
      setX(h, 0, vals.map(([a]) => fbits(a))); setX(h, 1, vals.map(([, b]) => fbits(b)));
      h.exec(hx('0fc2c1', p.toString(16).padStart(2, '0'))); // cmpps xmm0, xmm1, p
      expect(getX(h, 0)).toEqual(vals.map(([a, b]) => (ref(p, a, b) ? 0xffffffff : 0)));
    }
    setSd(h, 0, 1, NaN); setSd(h, 1, 1, 2);
    h.exec(hx('660fc2c104')); // cmpneqpd
    expect(getQ(h, 0)).toEqual([0n, 0xffffffffffffffffn]);
    setX(h, 0, [fbits(1), 5, 6, 7]); setX(h, 1, [fbits(2), 0, 0, 0]);
    h.exec(hx('f30fc2c101')); // cmpltss
    expect(getX(h, 0)).toEqual([0xffffffff, 5, 6, 7]);
  });
});

describe('conversions', () => {
  const h = cpu();
  function cvtToInt(enc: string, x: number, rc = RN): { v: bigint; mx: number } {
    h.cpu.mxcsr = MX | (rc << 13);
    h.setReg(RAX, 0xdeadbeefcafebaben);
    setSd(h, 1, x);
    h.exec(hx(enc));
    return { v: h.reg(RAX), mx: h.cpu.mxcsr & 0x3f };
  }
  it('CVTTSD2SI truncates; NaN and out-of-range give the integer indefinite with IE', () => {
    expect(cvtToInt('f20f2cc1', 1.9)).toEqual({ v: 1n, mx: PE });
    expect(cvtToInt('f20f2cc1', -1.9)).toEqual({ v: 0xffffffffn, mx: PE }); // r32 write zero-extends
    expect(cvtToInt('f20f2cc1', 42)).toEqual({ v: 42n, mx: 0 });
    expect(cvtToInt('f20f2cc1', NaN)).toEqual({ v: 0x80000000n, mx: IE });
    expect(cvtToInt('f20f2cc1', 2147483648)).toEqual({ v: 0x80000000n, mx: IE });
    expect(cvtToInt('f20f2cc1', 2147483647.9)).toEqual({ v: 0x7fffffffn, mx: PE });
    expect(cvtToInt('f20f2cc1', -2147483648.5)).toEqual({ v: 0x80000000n, mx: PE });
    expect(cvtToInt('f20f2cc1', -2147483649)).toEqual({ v: 0x80000000n, mx: IE });
    expect(cvtToInt('f20f2cc1', Infinity)).toEqual({ v: 0x80000000n, mx: IE });
    expect(cvtToInt('f2480f2cc1', -1.5)).toEqual({ v: 0xffffffffffffffffn, mx: PE });
    expect(cvtToInt('f2480f2cc1', 2 ** 62 + 2 ** 40)).toEqual({ v: BigInt(2 ** 62 + 2 ** 40), mx: 0 });
    expect(cvtToInt('f2480f2cc1', -(2 ** 63))).toEqual({ v: 0x8000000000000000n, mx: 0 });
    expect(cvtToInt('f2480f2cc1', 2 ** 63)).toEqual({ v: 0x8000000000000000n, mx: IE });
    expect(cvtToInt('f2480f2cc1', NaN)).toEqual({ v: 0x8000000000000000n, mx: IE });
  });
  it('CVTSD2SI rounds by MXCSR.RC (nearest-even, down, up, toward zero)', () => {
    expect(cvtToInt('f20f2dc1', 2.5).v).toBe(2n);
    expect(cvtToInt('f20f2dc1', 3.5).v).toBe(4n);
    expect(cvtToInt('f20f2dc1', -2.5).v).toBe(0xfffffffen);
    expect(cvtToInt('f20f2dc1', 2.4).v).toBe(2n);
    expect(cvtToInt('f20f2dc1', -2.5, RD).v).toBe(0xfffffffdn);
    expect(cvtToInt('f20f2dc1', 2.1, RU).v).toBe(3n);
    expect(cvtToInt('f20f2dc1', -2.9, RZ).v).toBe(0xfffffffen);
    expect(cvtToInt('f2480f2dc1', -2.5, RN).v).toBe(0xfffffffffffffffen);
  });
  it('CVTTSS2SI / CVTSS2SI (64-bit)', () => {
    h.cpu.mxcsr = MX;
    setX(h, 1, [fbits(-7.75), 0, 0, 0]);
    h.exec(hx('f30f2cc1')); // cvttss2si eax, xmm1
    expect(h.reg(RAX)).toBe(0xfffffff9n);
    setX(h, 1, [fbits(1e19), 0, 0, 0]);
    h.exec(hx('f3480f2dc1')); // cvtss2si rax, xmm1
    expect(h.reg(RAX)).toBe(0x8000000000000000n);
    expect(h.cpu.mxcsr & IE).toBe(IE);
  });
  it('CVTSI2SD from r32, r64 and memory; 64-bit sources round by RC', () => {
    h.cpu.mxcsr = MX;
    h.setReg(RAX, 0xffffffff_fffffff9n); // eax = -7
    setSd(h, 0, 0, 5);
    h.exec(hx('f20f2ac0')); // cvtsi2sd xmm0, eax
    expect(getQ(h, 0)).toEqual([dbits(-7), dbits(5)]);
    h.setReg(RAX, (1n << 53n) + 1n);
    h.exec(hx('f2480f2ac0')); // cvtsi2sd xmm0, rax: 2^53+1 ties to even
    expect(getSd(h, 0)).toBe(2 ** 53);
    expect(h.cpu.mxcsr & 0x3f).toBe(PE);
    h.cpu.mxcsr = MX | (RU << 13);
    h.exec(hx('f2480f2ac0'));
    expect(getSd(h, 0)).toBe(2 ** 53 + 2);
    h.cpu.mxcsr = MX;
    h.setReg(RAX, 0x8000000000000000n);
    h.exec(hx('f2480f2ac0'));
    expect(getSd(h, 0)).toBe(-(2 ** 63));
    h.mem.view.setInt32(DATA + 4, -123456, true);
    h.setReg(7, BigInt(DATA + 4));
    h.exec(hx('f20f2a07')); // cvtsi2sd xmm0, dword [rdi]
    expect(getSd(h, 0)).toBe(-123456);
    h.mem.view.setBigInt64(DATA + 8, -(1n << 40n), true);
    h.setReg(7, BigInt(DATA + 8));
    h.exec(hx('f2480f2a07')); // cvtsi2sd xmm0, qword [rdi]
    expect(getSd(h, 0)).toBe(-(2 ** 40));
  });
  it('CVTSI2SS rounds: 0x7fffffff → 2^31 (nearest), 2147483520 (toward zero)', () => {
    h.cpu.mxcsr = MX;
    h.setReg(RAX, 0x7fffffffn);
    setX(h, 0, [0, 1, 2, 3]);
    h.exec(hx('f30f2ac0'));
    expect(getX(h, 0)).toEqual([fbits(2 ** 31), 1, 2, 3]);
    h.cpu.mxcsr = MX | (RZ << 13);
    h.exec(hx('f30f2ac0'));
    expect(getX(h, 0)[0]).toBe(fbits(2147483520));
    // 64-bit source whose double rounding would tie wrongly: 2^60 + 2^36 + 1 → above the midpoint
    h.cpu.mxcsr = MX;
    h.setReg(RAX, (1n << 60n) + (1n << 36n) + 1n);
    h.exec(hx('f3480f2ac0'));
    expect(getX(h, 0)[0]).toBe(fbits(2 ** 60 + 2 ** 37));
  });
  it('CVTSD2SS / CVTSS2SD: rounding, overflow, NaN quieting, denormal operand', () => {
    h.cpu.mxcsr = MX;
    setSd(h, 1, 0.1); setX(h, 0, [0, 7, 8, 9]);
    h.exec(hx('f20f5ac1'));
    expect(getX(h, 0)).toEqual([fbits(Math.fround(0.1)), 7, 8, 9]);
    expect(h.cpu.mxcsr & 0x3f).toBe(PE);
    h.cpu.mxcsr = MX;
    setSd(h, 1, 1e300);
    h.exec(hx('f20f5ac1'));
    expect(getX(h, 0)[0]).toBe(0x7f800000);
    expect(h.cpu.mxcsr & 0x3f).toBe(OE | PE);
    h.cpu.mxcsr = MX | (RZ << 13);
    h.exec(hx('f20f5ac1'));
    expect(getX(h, 0)[0]).toBe(0x7f7fffff);
    h.cpu.mxcsr = MX;
    setQ(h, 1, 0xfff4000000000000n | 0x123n << 29n);
    h.exec(hx('f20f5ac1'));
    expect(getX(h, 0)[0]).toBe(0xffe00123); // quieted, top payload bits kept
    expect(h.cpu.mxcsr & 0x3f).toBe(IE);
    h.cpu.mxcsr = MX;
    setX(h, 1, [0x7f800123, 0, 0, 0]);
    setQ(h, 0, 0n, 0x55n);
    h.exec(hx('f30f5ac1')); // cvtss2sd of an SNaN
    expect(getQ(h, 0)).toEqual([0x7ff8000000000000n | (0x123n << 29n), 0x55n]);
    expect(h.cpu.mxcsr & 0x3f).toBe(IE);
    h.cpu.mxcsr = MX;
    setSd(h, 1, -5e-324); // a denormal double converts to -0: DE, then UE and PE
    h.exec(hx('f20f5ac1'));
    expect(getX(h, 0)[0]).toBe(0x80000000);
    expect(h.cpu.mxcsr & 0x3f).toBe(DE | UE | PE);
    h.cpu.mxcsr = MX;
    setX(h, 1, [1, 0, 0, 0]); // smallest single denormal
    h.exec(hx('f30f5ac1'));
    expect(getSd(h, 0)).toBe(bitsf(1));
    expect(h.cpu.mxcsr & 0x3f).toBe(DE);
  });
  it('CVTSD2SS against the exact reference: random doubles near the single range, all rounding modes', () => {
    const r = rng(4242);
    for (let k = 0; k < 600; k++) {
      const e = k % 3 === 0 ? 1023 - 160 + (r() % 40) : k % 3 === 1 ? 1023 + 120 + (r() % 10) : 1023 - 126 + (r() % 254);
      const x = randD(r, e);
      const [n, dd] = ratOfD(x);
      for (const rc of [RN, RD, RU, RZ]) {
        const want = roundRat(n, dd, F32, rc);
        h.cpu.mxcsr = MX | (rc << 13);
        setSd(h, 1, x);
        h.exec(hx('f20f5ac1'));
        expect(BigInt(getX(h, 0)[0]), `${x} rc=${rc}`).toBe(want.bits);
        expect(h.cpu.mxcsr & 0x3f, `${x} rc=${rc}`).toBe(flagsExpected(want, false));
      }
    }
  });
  it('CVTSD2SS just above FLT_MAX: toward zero gives FLT_MAX without OE (unbounded exponent)', () => {
    const x = 2 ** 128 - 2 ** 102; // FLT_MAX + 3/4 ulp
    for (const [rc, bits, flags] of [[RN, 0x7f800000, OE | PE], [RZ, 0x7f7fffff, PE], [RD, 0x7f7fffff, PE], [RU, 0x7f800000, OE | PE]]) {
      h.cpu.mxcsr = MX | (rc << 13);
      setSd(h, 1, x);
      h.exec(hx('f20f5ac1'));
      expect(getX(h, 0)[0]).toBe(bits);
      expect(h.cpu.mxcsr & 0x3f).toBe(flags);
    }
    h.cpu.mxcsr = MX | (RZ << 13);
    setSd(h, 1, -(2 ** 129));
    h.exec(hx('f20f5ac1'));
    expect(getX(h, 0)[0]).toBe(0xff7fffff);
    expect(h.cpu.mxcsr & 0x3f).toBe(OE | PE);
  });
  it('packed conversions: CVTDQ2PD, CVTTPD2DQ, CVTPD2DQ, CVTDQ2PS, CVT(T)PS2DQ, CVTPS2PD, CVTPD2PS', () => {
    h.cpu.mxcsr = MX;
    setX(h, 1, [0xfffffffb, 100, 9, 9]);
    h.exec(hx('f30fe6c1')); // cvtdq2pd
    expect(getQ(h, 0)).toEqual([dbits(-5), dbits(100)]);
    setSd(h, 1, -2.7, 1e10);
    h.exec(hx('660fe6c1')); // cvttpd2dq
    expect(getX(h, 0)).toEqual([0xfffffffe, 0x80000000, 0, 0]);
    expect(h.cpu.mxcsr & IE).toBe(IE);
    h.cpu.mxcsr = MX;
    setSd(h, 1, -2.5, 3.5);
    h.exec(hx('f20fe6c1')); // cvtpd2dq
    expect(getX(h, 0)).toEqual([0xfffffffe, 4, 0, 0]);
    setX(h, 1, [1, 0xffffffff, 0x7fffffff, 16777217]);
    h.exec(hx('0f5bc1')); // cvtdq2ps
    expect(getX(h, 0)).toEqual([fbits(1), fbits(-1), fbits(2 ** 31), fbits(16777216)]);
    setX(h, 1, [fbits(1.5), fbits(-1.5), fbits(2.5), fbits(1e20)]);
    h.exec(hx('660f5bc1')); // cvtps2dq
    expect(getX(h, 0)).toEqual([2, 0xfffffffe, 2, 0x80000000]);
    h.exec(hx('f30f5bc1')); // cvttps2dq
    expect(getX(h, 0)).toEqual([1, 0xffffffff, 2, 0x80000000]);
    setX(h, 1, [fbits(0.1), fbits(-3), 5, 6]);
    h.exec(hx('0f5ac1')); // cvtps2pd
    expect(getQ(h, 0)).toEqual([dbits(Math.fround(0.1)), dbits(-3)]);
    setSd(h, 1, 0.1, -1e-50);
    h.exec(hx('660f5ac1')); // cvtpd2ps
    expect(getX(h, 0)).toEqual([fbits(0.1), fbits(-0), 0, 0]);
  });
  it('CVTTSD2SI r64 with a memory source and REX.R (r12)', () => {
    h.cpu.mxcsr = MX;
    h.mem.view.setFloat64(DATA + 24, -1e15 - 0.5, true);
    h.setReg(7, BigInt(DATA + 24));
    h.exec(hx('f24c0f2c27')); // cvttsd2si r12, [rdi]
    expect(h.reg(R12)).toBe(BigInt.asUintN(64, -1000000000000000n));
  });
  it('RCPSS/RSQRTPS are within 1.5·2^-12 relative error; special values per SDM', () => {
    h.cpu.mxcsr = MX;
    setX(h, 1, [fbits(3), 0, 0, 0]); setX(h, 0, [0, 1, 2, 3]);
    h.exec(hx('f30f53c1')); // rcpss
    const r = bitsf(getX(h, 0)[0]);
    expect(Math.abs(r - 1 / 3) / (1 / 3)).toBeLessThanOrEqual(1.5 * 2 ** -12);
    expect(getX(h, 0).slice(1)).toEqual([1, 2, 3]);
    setX(h, 1, [fbits(4), fbits(0), fbits(-1), fbits(Infinity)]);
    h.exec(hx('0f52c1')); // rsqrtps
    const v = getX(h, 0);
    expect(Math.abs(bitsf(v[0]) - 0.5)).toBeLessThanOrEqual(0.5 * 1.5 * 2 ** -12);
    expect(v.slice(1)).toEqual([0x7f800000, QNAN_F, 0]);
    expect(h.cpu.mxcsr & 0x3f).toBe(0); // RCP/RSQRT raise no SIMD exceptions
  });
});

describe('unmasked SIMD floating-point exceptions (SDM Vol. 1 11.5.3.2, Vol. 3A 13.1.5)', () => {
  it('an unmasked ZE raises #XM and leaves the destination unchanged', () => {
    const h = cpu();
    h.cpu.mxcsr = MX & ~(ZE << 7);
    setSd(h, 0, 1, 2); setSd(h, 1, 0);
    expect(runOne(h, hx(ENC.divsd)).vector).toBe(19);
    expect(getQ(h, 0)).toEqual([dbits(1), dbits(2)]);
    expect(h.cpu.mxcsr & 0x3f).toBe(ZE);
  });
  it('with CR4.OSXMMEXCPT = 0 the same condition raises #UD', () => {
    const h = cpu();
    h.cpu.cr4 &= ~0x400;
    h.cpu.mxcsr = MX & ~(ZE << 7);
    setSd(h, 0, 1); setSd(h, 1, 0);
    expect(runOne(h, hx(ENC.divsd)).vector).toBe(6);
    expect(getSd(h, 0)).toBe(1);
  });
  it('an unmasked post-computation exception (PE) also faults without writing', () => {
    const h = cpu();
    h.cpu.mxcsr = MX & ~(PE << 7);
    setSd(h, 0, 1); setSd(h, 1, 3);
    expect(runOne(h, hx(ENC.divsd)).vector).toBe(19);
    expect(getSd(h, 0)).toBe(1);
    expect(h.cpu.mxcsr & 0x3f).toBe(PE);
    setSd(h, 1, 4); // exact: no exception
    expect(runOne(h, hx(ENC.divsd)).vector).toBe(-1);
    expect(getSd(h, 0)).toBe(0.25);
  });
  it('unmasked IE on COMISD leaves EFLAGS untouched; masked exceptions combined with it are still flagged', () => {
    const h = cpu();
    h.cpu.mxcsr = MX & ~(IE << 7);
    h.cpu.lfOp = 0; h.cpu.lfEager = CF;
    setSd(h, 0, NaN); setSd(h, 1, 1);
    expect(runOne(h, hx('660f2fc1')).vector).toBe(19);
    expect(h.rflags() & (CF | ZF | PF)).toBe(CF);
    expect(h.cpu.mxcsr & 0x3f).toBe(IE);
  });
  it('an unmasked UE fires for a tiny exact result too (SDM Vol. 1 11.5.2.5)', () => {
    const h = cpu();
    h.cpu.mxcsr = MX & ~(UE << 7);
    setSd(h, 0, 2 ** -1000); setSd(h, 1, 2 ** -40);
    expect(runOne(h, hx(ENC.mulsd)).vector).toBe(19);
    expect(h.cpu.mxcsr & 0x3f).toBe(UE);
  });
});
