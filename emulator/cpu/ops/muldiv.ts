// MUL, IMUL, DIV, IDIV (group 3, F6/F7 ModRM.reg 4-7, picked through alu.ts) and the two- and
// three-operand IMUL forms 0F AF, 69, 6B (SDM Vol. 2A "IMUL", "MUL", "DIV", "IDIV").
//
// Handlers are chosen at decode time per operation, operand size and register/memory form.
// 64-bit products and quotients are computed on 32-bit halves and 16-bit limbs; no BigInt.
//
// Flags (SDM: CF and OF defined; SF, ZF, AF, PF undefined for MUL/IMUL; all six undefined for
// DIV/IDIV). What we do is what the Intel host (Ice Lake-class Xeon) does, measured natively:
//  - MUL/IMUL (all forms): CF = OF = "significant bits lost"; SF = bit 7/15/31/63 of the low half of
//    the product (the part written to AL/AX/EAX/RAX or the destination); PF = parity of its low byte;
//    ZF = 0 and AF = 0 always.
//  - DIV/IDIV: all six arithmetic flags are left unchanged.
//  - IDIV accepts a quotient equal to the most negative value (e.g. -128 for 8 bits), as the SDM's
//    pseudocode says and the host does; #DE for divide by zero and for any other overflow.
import type { Cpu } from '../state.ts';
import { RAX, RDX, CF, OF, SF } from '../state.ts';
import type { Insn, Handler } from '../insn.ts';
import { def, Imm } from '../decoder.ts';
import { LF_EAGER } from '../flags.ts';
import { get8, set16, set32 } from '../regs.ts';
import { rd8, rd16, rd32, rd64 } from '../memaccess.ts';
import { de } from '../fault.ts';

const TWO32 = 4294967296;

/** PF for each byte value (even number of set bits). */
const PARITY = new Uint8Array(256);
for (let k = 0; k < 256; k++) PARITY[k] = ((0x9669 >> ((k ^ (k >> 4)) & 15)) & 1) << 2;

/** Flags after a multiply: CF=OF=ovf, SF from the low half's sign bit, PF from its low byte, ZF=AF=0. */
function mulFlags(c: Cpu, ovf: boolean, signBit: number, lowByte: number): void {
  c.lfOp = LF_EAGER; // eager flags, as setArith does (written directly on the hot path)
  c.lfEager = (ovf ? CF | OF : 0) | (signBit !== 0 ? SF : 0) | PARITY[lowByte & 0xff];
}

/** High 32 bits of the unsigned product of two 32-bit values (int32 result). */
export function mulhu32(a: number, b: number): number {
  // The double product is within 2^12 of the true one; subtracting the exact low half and
  // rounding the quotient by 2^32 recovers the high half exactly.
  return Math.round(((a >>> 0) * (b >>> 0) - (Math.imul(a, b) >>> 0)) / TWO32) | 0;
}

/** High 32 bits of the signed product of two int32 values (int32 result). */
function mulhs32(a: number, b: number): number {
  return Math.round(((a | 0) * (b | 0) - (Math.imul(a, b) >>> 0)) / TWO32) | 0;
}

// 128-bit product limbs (int32, little-endian) written by umul128/smul128.
let p0 = 0, p1 = 0, p2 = 0, p3 = 0;

/** Unsigned 64×64 → 128 multiply of (aH:aL) and (bH:bL) into p3:p2:p1:p0. */
function umul128(aL: number, aH: number, bL: number, bH: number): void {
  const llH = mulhu32(aL, bL), lhL = Math.imul(aL, bH), lhH = mulhu32(aL, bH);
  const hlL = Math.imul(aH, bL), hlH = mulhu32(aH, bL), hhL = Math.imul(aH, bH), hhH = mulhu32(aH, bH);
  p0 = Math.imul(aL, bL);
  const s1 = (llH >>> 0) + (lhL >>> 0) + (hlL >>> 0);
  const c1 = Math.floor(s1 / TWO32);
  p1 = s1 | 0;
  const s2 = (lhH >>> 0) + (hlH >>> 0) + (hhL >>> 0) + c1;
  const c2 = Math.floor(s2 / TWO32);
  p2 = s2 | 0;
  p3 = ((hhH >>> 0) + c2) | 0;
}

/** Subtract (xH:xL) from the high 64 bits of the product (p3:p2). */
function subHigh(xL: number, xH: number): void {
  const lo = (p2 >>> 0) - (xL >>> 0);
  p2 = lo | 0;
  p3 = (p3 - xH - (lo < 0 ? 1 : 0)) | 0;
}

/** Signed 64×64 → 128 multiply into p3:p2:p1:p0. */
function smul128(aL: number, aH: number, bL: number, bH: number): void {
  umul128(aL, aH, bL, bH);
  // Two's complement correction: a_signed = a_unsigned - 2^64·[a<0].
  if (aH < 0) subHigh(bL, bH);
  if (bH < 0) subHigh(aL, aH);
}

// ---------------------------------------------------------------- one-operand MUL / IMUL
function mul8(c: Cpu, b: number): void {
  const r = (c.rl[RAX] & 0xff) * b;
  set16(c, RAX, r);
  mulFlags(c, r > 0xff, r & 0x80, r);
}
function imul8(c: Cpu, b: number): void {
  const r = ((c.rl[RAX] << 24) >> 24) * ((b << 24) >> 24);
  set16(c, RAX, r);
  mulFlags(c, r !== (r << 24) >> 24, r & 0x80, r);
}
function mul16(c: Cpu, b: number): void {
  const r = (c.rl[RAX] & 0xffff) * (b & 0xffff);
  set16(c, RAX, r);
  set16(c, RDX, r >>> 16);
  mulFlags(c, r > 0xffff, r & 0x8000, r);
}
function imul16(c: Cpu, b: number): void {
  const r = ((c.rl[RAX] << 16) >> 16) * ((b << 16) >> 16);
  set16(c, RAX, r);
  set16(c, RDX, r >> 16);
  mulFlags(c, r !== (r << 16) >> 16, r & 0x8000, r);
}
function mul32(c: Cpu, b: number): void {
  const a = c.rl[RAX];
  const lo = Math.imul(a, b), hi = mulhu32(a, b);
  set32(c, RAX, lo);
  set32(c, RDX, hi);
  mulFlags(c, hi !== 0, lo >>> 31, lo);
}
function imul32(c: Cpu, b: number): void {
  const a = c.rl[RAX];
  const lo = Math.imul(a, b), hi = mulhs32(a, b);
  set32(c, RAX, lo);
  set32(c, RDX, hi);
  mulFlags(c, hi !== lo >> 31, lo >>> 31, lo);
}
function mul64(c: Cpu, bL: number, bH: number): void {
  umul128(c.rl[RAX], c.rh[RAX], bL, bH);
  c.rl[RAX] = p0; c.rh[RAX] = p1; c.rl[RDX] = p2; c.rh[RDX] = p3;
  mulFlags(c, (p2 | p3) !== 0, p1 >>> 31, p0);
}
function imul64(c: Cpu, bL: number, bH: number): void {
  smul128(c.rl[RAX], c.rh[RAX], bL, bH);
  c.rl[RAX] = p0; c.rh[RAX] = p1; c.rl[RDX] = p2; c.rh[RDX] = p3;
  const ext = p1 >> 31;
  mulFlags(c, p2 !== ext || p3 !== ext, p1 >>> 31, p0);
}

// ---------------------------------------------------------------- DIV / IDIV
// Quotient and remainder of the last division (halves, int32).
let qL = 0, qH = 0, rL = 0, rH = 0;

/** Unsigned (hi:lo) / d with hi < d < 2^32 (all as uint32 numbers): quotient in qL, remainder in rL. */
function udiv64by32(hi: number, lo: number, d: number): void {
  // Two steps of 16-bit long division; every intermediate stays below 2^48 (exact in a double).
  let t = hi * 65536 + (lo >>> 16);
  const q1 = Math.floor(t / d);
  t = (t - q1 * d) * 65536 + (lo & 0xffff);
  const q0 = Math.floor(t / d);
  qL = (q1 * 65536 + q0) | 0;
  rL = (t - q0 * d) | 0;
}

// Scratch for the long division (16-bit limbs).
const U = new Int32Array(9);
const V = new Int32Array(4);
const Q = new Int32Array(8);

/**
 * Unsigned 128 / 64 division (n3:n2:n1:n0) / (dH:dL) with (n3:n2) < (dH:dL), so the quotient fits in
 * 64 bits. Quotient in qH:qL, remainder in rH:rL.
 */
function udiv128by64(n3: number, n2: number, n1: number, n0: number, dL: number, dH: number): void {
  if (dH === 0) {
    // 96-bit dividend (n3 is 0 because n3:n2 < d < 2^32) by a 32-bit divisor: four 16-bit steps.
    const d = dL >>> 0;
    let t = (n2 >>> 0) * 65536 + (n1 >>> 16);
    const q3 = Math.floor(t / d);
    t = (t - q3 * d) * 65536 + (n1 & 0xffff);
    const q2 = Math.floor(t / d);
    t = (t - q2 * d) * 65536 + (n0 >>> 16);
    const q1 = Math.floor(t / d);
    t = (t - q1 * d) * 65536 + (n0 & 0xffff);
    const q0 = Math.floor(t / d);
    qH = (q3 * 65536 + q2) | 0;
    qL = (q1 * 65536 + q0) | 0;
    rL = (t - q0 * d) | 0;
    rH = 0;
    return;
  }
  // Divisor of 3 or 4 limbs: schoolbook long division in base 2^16 (Knuth, TAOCP Vol. 2 4.3.1,
  // Algorithm D). Normalize so the top divisor limb has bit 15 set.
  const s = Math.clz32(dH) & 15; // shift within the top 16-bit limb of the divisor
  let x3 = n3, x2 = n2, x1 = n1, x0 = n0, y1 = dH, y0 = dL, top = 0;
  if (s !== 0) {
    top = n3 >>> (32 - s);
    x3 = (n3 << s) | (n2 >>> (32 - s)); x2 = (n2 << s) | (n1 >>> (32 - s));
    x1 = (n1 << s) | (n0 >>> (32 - s)); x0 = n0 << s;
    y1 = (dH << s) | (dL >>> (32 - s)); y0 = dL << s;
  }
  U[0] = x0 & 0xffff; U[1] = x0 >>> 16; U[2] = x1 & 0xffff; U[3] = x1 >>> 16;
  U[4] = x2 & 0xffff; U[5] = x2 >>> 16; U[6] = x3 & 0xffff; U[7] = x3 >>> 16; U[8] = top;
  V[0] = y0 & 0xffff; V[1] = y0 >>> 16; V[2] = y1 & 0xffff; V[3] = y1 >>> 16;
  const n = V[3] !== 0 ? 4 : 3;
  const vTop = V[n - 1], vNext = V[n - 2];
  for (let j = 8 - n; j >= 0; j--) {
    // Estimate the quotient limb from the top two dividend limbs, then refine with the next one.
    const num = U[j + n] * 65536 + U[j + n - 1];
    let qhat = Math.floor(num / vTop);
    let rhat = num - qhat * vTop;
    while (qhat >= 65536 || qhat * vNext > rhat * 65536 + U[j + n - 2]) {
      qhat--;
      rhat += vTop;
      if (rhat >= 65536) break;
    }
    // Multiply and subtract qhat·V from U[j .. j+n].
    let borrow = 0;
    for (let k = 0; k < n; k++) {
      const p = qhat * V[k];
      const t = U[k + j] - borrow - (p & 0xffff);
      U[k + j] = t & 0xffff;
      borrow = (p >>> 16) - (t >> 16);
    }
    const t = U[j + n] - borrow;
    U[j + n] = t & 0xffff;
    if (t < 0) {
      // qhat was one too large: add the divisor back.
      qhat--;
      let carry = 0;
      for (let k = 0; k < n; k++) {
        const sum = U[k + j] + V[k] + carry;
        U[k + j] = sum & 0xffff;
        carry = sum >>> 16;
      }
      U[j + n] = (U[j + n] + carry) & 0xffff;
    }
    Q[j] = qhat;
  }
  qL = Q[0] | (Q[1] << 16);
  qH = Q[2] | (Q[3] << 16);
  // Remainder: U[0..3] shifted back right by s.
  const r0 = U[0] | (U[1] << 16), r1 = U[2] | (U[3] << 16);
  rL = s === 0 ? r0 : (r0 >>> s) | (r1 << (32 - s));
  rH = s === 0 ? r1 : r1 >>> s;
}

/** Unsigned a < b for 64-bit halves. */
function ltu64(aL: number, aH: number, bL: number, bH: number): boolean {
  return (aH >>> 0) < (bH >>> 0) || (aH === bH && (aL >>> 0) < (bL >>> 0));
}

function div8(c: Cpu, b: number): void {
  if (b === 0) de(c);
  const n = c.rl[RAX] & 0xffff;
  const q = Math.floor(n / b);
  if (q > 0xff) de(c);
  set16(c, RAX, ((n - q * b) << 8) | q);
}
function idiv8(c: Cpu, b: number): void {
  const d = (b << 24) >> 24;
  if (d === 0) de(c);
  const n = (c.rl[RAX] << 16) >> 16;
  const q = Math.trunc(n / d);
  if (q > 127 || q < -128) de(c);
  set16(c, RAX, (((n - q * d) & 0xff) << 8) | (q & 0xff));
}
function div16(c: Cpu, b: number): void {
  const d = b & 0xffff;
  if (d === 0) de(c);
  const n = ((c.rl[RDX] & 0xffff) * 65536) + (c.rl[RAX] & 0xffff);
  const q = Math.floor(n / d);
  if (q > 0xffff) de(c);
  set16(c, RAX, q);
  set16(c, RDX, n - q * d);
}
function idiv16(c: Cpu, b: number): void {
  const d = (b << 16) >> 16;
  if (d === 0) de(c);
  const n = (c.rl[RDX] << 16) | (c.rl[RAX] & 0xffff);
  const q = Math.trunc(n / d);
  if (q > 32767 || q < -32768) de(c);
  set16(c, RAX, q);
  set16(c, RDX, n - q * d);
}
function div32(c: Cpu, b: number): void {
  const d = b >>> 0;
  const hi = c.rl[RDX] >>> 0;
  if (d === 0 || hi >= d) de(c); // divide by zero, or the quotient needs more than 32 bits
  udiv64by32(hi, c.rl[RAX], d);
  set32(c, RAX, qL);
  set32(c, RDX, rL);
}
function idiv32(c: Cpu, b: number): void {
  const d = b | 0;
  if (d === 0) de(c);
  let lo = c.rl[RAX], hi = c.rl[RDX];
  const nNeg = hi < 0;
  if (nNeg) { lo = -lo | 0; hi = (~hi + (lo === 0 ? 1 : 0)) | 0; } // 64-bit negate
  const ad = d < 0 ? -d : d; // |d| as a number (2^31 for the most negative)
  if ((hi >>> 0) >= ad) de(c);
  udiv64by32(hi >>> 0, lo, ad);
  const qNeg = nNeg !== d < 0;
  const qm = qL >>> 0;
  if (qNeg ? qm > 0x80000000 : qm > 0x7fffffff) de(c);
  set32(c, RAX, qNeg ? -qm | 0 : qm | 0);
  set32(c, RDX, nNeg ? -rL | 0 : rL);
}
function div64(c: Cpu, bL: number, bH: number): void {
  if ((bL | bH) === 0) de(c);
  const n3 = c.rh[RDX], n2 = c.rl[RDX];
  if (!ltu64(n2, n3, bL, bH)) de(c);
  udiv128by64(n3, n2, c.rh[RAX], c.rl[RAX], bL, bH);
  c.rl[RAX] = qL; c.rh[RAX] = qH; c.rl[RDX] = rL; c.rh[RDX] = rH;
}
function idiv64(c: Cpu, bL: number, bH: number): void {
  if ((bL | bH) === 0) de(c);
  let n0 = c.rl[RAX], n1 = c.rh[RAX], n2 = c.rl[RDX], n3 = c.rh[RDX];
  const nNeg = n3 < 0;
  if (nNeg) {
    // 128-bit two's complement negate: invert and add one.
    n0 = ~n0; n1 = ~n1; n2 = ~n2; n3 = ~n3;
    n0 = (n0 + 1) | 0;
    if (n0 === 0) { n1 = (n1 + 1) | 0; if (n1 === 0) { n2 = (n2 + 1) | 0; if (n2 === 0) n3 = (n3 + 1) | 0; } }
  }
  const dNeg = bH < 0;
  let dL = bL, dH = bH;
  if (dNeg) { dL = -bL | 0; dH = (~bH + (dL === 0 ? 1 : 0)) | 0; }
  if (!ltu64(n2, n3, dL, dH)) de(c);
  udiv128by64(n3, n2, n1, n0, dL, dH);
  const qNeg = nNeg !== dNeg;
  // |quotient| may be 2^63 only when the quotient is negative.
  if (qH < 0 && !(qNeg && qH === (0x80000000 | 0) && qL === 0)) de(c);
  let oL = qL, oH = qH;
  if (qNeg) { oL = -qL | 0; oH = (~qH + (oL === 0 ? 1 : 0)) | 0; }
  let sL = rL, sH = rH;
  if (nNeg) { sL = -rL | 0; sH = (~rH + (sL === 0 ? 1 : 0)) | 0; }
  c.rl[RAX] = oL; c.rh[RAX] = oH; c.rl[RDX] = sL; c.rh[RDX] = sH;
}

// ---------------------------------------------------------------- group 3 handlers
// Index: [op - 4][size index], op = MUL IMUL DIV IDIV; separate register and memory tables.
type H = Handler;
const G3_R: H[][] = [
  [(c, i) => mul8(c, get8(c, i.rm)), (c, i) => mul16(c, c.rl[i.rm]), (c, i) => mul32(c, c.rl[i.rm]), (c, i) => mul64(c, c.rl[i.rm], c.rh[i.rm])],
  [(c, i) => imul8(c, get8(c, i.rm)), (c, i) => imul16(c, c.rl[i.rm]), (c, i) => imul32(c, c.rl[i.rm]), (c, i) => imul64(c, c.rl[i.rm], c.rh[i.rm])],
  [(c, i) => div8(c, get8(c, i.rm)), (c, i) => div16(c, c.rl[i.rm]), (c, i) => div32(c, c.rl[i.rm]), (c, i) => div64(c, c.rl[i.rm], c.rh[i.rm])],
  [(c, i) => idiv8(c, get8(c, i.rm)), (c, i) => idiv16(c, c.rl[i.rm]), (c, i) => idiv32(c, c.rl[i.rm]), (c, i) => idiv64(c, c.rl[i.rm], c.rh[i.rm])],
];
const G3_M: H[][] = [
  [(c, i) => mul8(c, rd8(c, i.ea(c, i))), (c, i) => mul16(c, rd16(c, i.ea(c, i))), (c, i) => mul32(c, rd32(c, i.ea(c, i))),
    (c, i) => { const lo = rd64(c, i.ea(c, i)); mul64(c, lo, c.tmpHi); }],
  [(c, i) => imul8(c, rd8(c, i.ea(c, i))), (c, i) => imul16(c, rd16(c, i.ea(c, i))), (c, i) => imul32(c, rd32(c, i.ea(c, i))),
    (c, i) => { const lo = rd64(c, i.ea(c, i)); imul64(c, lo, c.tmpHi); }],
  [(c, i) => div8(c, rd8(c, i.ea(c, i))), (c, i) => div16(c, rd16(c, i.ea(c, i))), (c, i) => div32(c, rd32(c, i.ea(c, i))),
    (c, i) => { const lo = rd64(c, i.ea(c, i)); div64(c, lo, c.tmpHi); }],
  [(c, i) => idiv8(c, rd8(c, i.ea(c, i))), (c, i) => idiv16(c, rd16(c, i.ea(c, i))), (c, i) => idiv32(c, rd32(c, i.ea(c, i))),
    (c, i) => { const lo = rd64(c, i.ea(c, i)); idiv64(c, lo, c.tmpHi); }],
];

function sizeIdx(size: number): number { return size === 8 ? 0 : size === 16 ? 1 : size === 32 ? 2 : 3; }

/**
 * Group 3 ModRM.reg 4-7 (F6/F7): MUL, IMUL, DIV, IDIV. Called by alu.ts at decode time.
 * LOCK is not allowed (#UD).
 */
export function pickMulDiv(i: Insn): Handler | undefined {
  // The opcode extension is ModRM.reg; regs.ts keeps it in bits 2:0 for byte registers too.
  const op = i.reg & 7;
  if (op < 4 || i.lock) return undefined;
  const k = sizeIdx(i.opSize);
  return i.mod === 3 ? G3_R[op - 4][k] : G3_M[op - 4][k];
}

// ---------------------------------------------------------------- IMUL Gv,Ev / Gv,Ev,Iz / Gv,Ev,Ib
/** Truncated signed products; flags set; 64-bit result low half returned, high half in c.tmpHi. */
function imul2x16(c: Cpu, a: number, b: number): number {
  const r = ((a << 16) >> 16) * ((b << 16) >> 16);
  mulFlags(c, r !== (r << 16) >> 16, r & 0x8000, r);
  return r;
}
function imul2x32(c: Cpu, a: number, b: number): number {
  const lo = Math.imul(a, b);
  mulFlags(c, mulhs32(a, b) !== lo >> 31, lo >>> 31, lo);
  return lo;
}
function imul2x64(c: Cpu, aL: number, aH: number, bL: number, bH: number): number {
  if (aH === aL >> 31 && bH === bL >> 31) {
    // Both operands are sign-extended 32-bit values: the product always fits in 64 bits.
    const lo = Math.imul(aL, bL), hi = mulhs32(aL, bL);
    c.tmpHi = hi;
    mulFlags(c, false, hi >>> 31, lo);
    return lo;
  }
  smul128(aL, aH, bL, bH);
  const ext = p1 >> 31;
  c.tmpHi = p1;
  mulFlags(c, p2 !== ext || p3 !== ext, p1 >>> 31, p0);
  return p0;
}

// G = G * E
const IMUL_GE_R: H[] = [
  (c, i) => { set16(c, i.reg, imul2x16(c, c.rl[i.reg], c.rl[i.rm])); },
  (c, i) => { set32(c, i.reg, imul2x32(c, c.rl[i.reg], c.rl[i.rm])); },
  (c, i) => { const lo = imul2x64(c, c.rl[i.reg], c.rh[i.reg], c.rl[i.rm], c.rh[i.rm]); c.rl[i.reg] = lo; c.rh[i.reg] = c.tmpHi; },
];
const IMUL_GE_M: H[] = [
  (c, i) => { set16(c, i.reg, imul2x16(c, c.rl[i.reg], rd16(c, i.ea(c, i)))); },
  (c, i) => { set32(c, i.reg, imul2x32(c, c.rl[i.reg], rd32(c, i.ea(c, i)))); },
  (c, i) => {
    const bL = rd64(c, i.ea(c, i));
    const lo = imul2x64(c, c.rl[i.reg], c.rh[i.reg], bL, c.tmpHi);
    c.rl[i.reg] = lo; c.rh[i.reg] = c.tmpHi;
  },
];
// G = E * imm (imm sign-extended to the operand size by the decoder)
const IMUL_GEI_R: H[] = [
  (c, i) => { set16(c, i.reg, imul2x16(c, c.rl[i.rm], i.imm)); },
  (c, i) => { set32(c, i.reg, imul2x32(c, c.rl[i.rm], i.imm)); },
  (c, i) => { const lo = imul2x64(c, c.rl[i.rm], c.rh[i.rm], i.imm, i.imm >> 31); c.rl[i.reg] = lo; c.rh[i.reg] = c.tmpHi; },
];
const IMUL_GEI_M: H[] = [
  (c, i) => { set16(c, i.reg, imul2x16(c, rd16(c, i.ea(c, i)), i.imm)); },
  (c, i) => { set32(c, i.reg, imul2x32(c, rd32(c, i.ea(c, i)), i.imm)); },
  (c, i) => {
    const aL = rd64(c, i.ea(c, i));
    const lo = imul2x64(c, aL, c.tmpHi, i.imm, i.imm >> 31);
    c.rl[i.reg] = lo; c.rh[i.reg] = c.tmpHi;
  },
];

function pickImul(r: H[], m: H[]) {
  return (i: Insn): Handler | undefined => {
    if (i.lock) return undefined;
    const k = i.opSize === 16 ? 0 : i.opSize === 32 ? 1 : 2;
    return i.mod === 3 ? r[k] : m[k];
  };
}
def(0x1af, { name: 'imul Gv,Ev', modrm: true, imm: Imm.None, pick: pickImul(IMUL_GE_R, IMUL_GE_M) });
def(0x69, { name: 'imul Gv,Ev,Iz', modrm: true, imm: Imm.Iz, pick: pickImul(IMUL_GEI_R, IMUL_GEI_M) });
def(0x6b, { name: 'imul Gv,Ev,Ib', modrm: true, imm: Imm.Ib, pick: pickImul(IMUL_GEI_R, IMUL_GEI_M) });
