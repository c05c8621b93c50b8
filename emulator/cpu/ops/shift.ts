// Group 2 shifts and rotates (C0, C1, D0-D3: ROL ROR RCL RCR SHL/SAL SHR SAR) and the double
// shifts SHLD/SHRD (0F A4/A5/AC/AD), SDM Vol. 2B "RCL/RCR/ROL/ROR", "SAL/SAR/SHL/SHR", "SHLD", "SHRD".
//
// Handlers are chosen at decode time per operand size, register/memory form and count source
// (immediate — D0/D1 are the immediate form with count 1 — or CL); the operation is in i.imm2.
// The count is masked to 5 bits (6 bits for 64-bit operands). A masked count of 0 changes no flag,
// but the destination is still written back: a 32-bit register destination is zero-extended and a
// memory destination receives a write (the Intel host faults on a read-only page for
// `shl dword [m], 0`).
//
// Undefined cases, resolved as the Intel host (Ice Lake-class Xeon) does, measured natively:
//  - OF when the masked count is not 1: computed as for a 1-bit operation on the ORIGINAL operand
//    (except ROL/ROR of a REGISTER by an immediate count (C0/C1), which leave OF unchanged unless
//    the masked count is 1 — with the count in CL, or a memory operand, they compute it):
//      SHL/SAL, ROL, RCL: MSB(dest) XOR bit(size-2)(dest)    SHR: MSB(dest)    SAR: 0
//      ROR: MSB(dest) XOR LSB(dest)    RCR: MSB(dest) XOR CF(before)
//      SHLD: MSB(dest) XOR bit(size-2)(dest)    SHRD: MSB(dest) XOR LSB(src)
//  - AF after a shift (SHL/SHR/SAR/SHLD/SHRD with non-zero count): cleared.
//  - SHL/SHR/SAR of 8/16-bit operands with count >= size: result and CF as if shifting an
//    unbounded value (SHL/SHR: result 0, CF = the last bit shifted out, i.e. bit 0 for SHL by exactly
//    8/16 and 0 beyond; SAR: all sign bits and CF = sign).
//  - ROL/ROR whose count is a non-zero multiple of the size: value unchanged, CF = LSB (ROL) or
//    MSB (ROR) of the result, OF as above. RCL/RCR of 8/16-bit operands whose count is a multiple of
//    9/17: nothing changes, flags included (the rotate amount is count mod 9/17, SDM pseudocode).
//  - SHLD/SHRD with a 16-bit operand and count 17-31: the result is the 48-bit value
//    dest:src:dest shifted by count (SHLD takes bits 47..32 of it shifted left, SHRD bits 15..0 of it
//    shifted right), CF the last bit shifted out of it; SF/ZF/PF from the result, OF as above.
import type { Cpu } from '../state.ts';
import { RCX, CF, PF, AF, ZF, SF, OF } from '../state.ts';
import type { Insn, Handler } from '../insn.ts';
import { def, Imm } from '../decoder.ts';
import { setArith, getArith, LF_EAGER } from '../flags.ts';
import { get8, set8, set16, set32 } from '../regs.ts';
import { rd8, rd16, rd32, rd64, wr8, wr16, wr32, wr64, rdRmw8, rdRmw16, rdRmw32, rdRmw64 } from '../memaccess.ts';

export const ROL = 0, ROR = 1, RCL = 2, RCR = 3, SHL = 4, SHR = 5, SAL = 6, SAR = 7;
/** ROL/ROR of a register by an immediate count other than 1 (decode-time sub-operations): OF unchanged. */
const ROL_I = 8, ROR_I = 9;

/** PF for each byte value. */
const PARITY = new Uint8Array(256);
for (let k = 0; k < 256; k++) PARITY[k] = ((0x9669 >> ((k ^ (k >> 4)) & 15)) & 1) << 2;

/** Flags of a shift (not a rotate): CF and OF given, SF/ZF/PF from the result, AF = 0. */
function shiftFlags(c: Cpu, cf: number, of: number, zero: boolean, sign: number, low: number): void {
  c.lfOp = LF_EAGER; // eager flags, as setArith does (inlined: this is the hot path)
  c.lfEager = cf | (of !== 0 ? OF : 0) | (zero ? ZF : 0) | (sign !== 0 ? SF : 0) | PARITY[low & 0xff];
}

/** Flags of a rotate: only CF and OF change; of < 0 keeps OF too. */
function rotFlags(c: Cpu, cf: number, of: number): void {
  if (of < 0) setArith(c, (getArith(c) & (PF | AF | ZF | SF | OF)) | cf);
  else setArith(c, (getArith(c) & (PF | AF | ZF | SF)) | cf | (of !== 0 ? OF : 0));
}

// ---------------------------------------------------------------- 8/16-bit core
/**
 * Shift/rotate a value of `bits` (8 or 16) by the masked count n (1..31); v is zero-extended.
 * Returns the result (masked) and sets the flags.
 */
function shSmall(c: Cpu, op: number, bits: number, v: number, n: number): number {
  const mask = (1 << bits) - 1, top = bits - 1;
  const of1 = ((v >> top) ^ (v >> (top - 1))) & 1; // MSB xor next bit, used by SHL/ROL/RCL
  let r: number;
  switch (op) {
    case ROL: case ROL_I: {
      const t = n & top; // n mod bits
      r = t === 0 ? v : ((v << t) | (v >>> (bits - t))) & mask;
      rotFlags(c, r & 1, op === ROL ? of1 : -1);
      return r;
    }
    case ROR: case ROR_I: {
      const t = n & top;
      r = t === 0 ? v : ((v >>> t) | (v << (bits - t))) & mask;
      rotFlags(c, (r >> top) & 1, op === ROR ? ((v >> top) ^ v) & 1 : -1);
      return r;
    }
    case RCL: {
      const t = n % (bits + 1);
      if (t === 0) return v;
      const cf = getArith(c) & CF;
      const x = v | (cf << bits); // bits+1 wide
      const y = (x << t) | (x >>> (bits + 1 - t));
      rotFlags(c, (y >> bits) & 1, of1);
      return y & mask;
    }
    case RCR: {
      const t = n % (bits + 1);
      if (t === 0) return v;
      const cf = getArith(c) & CF;
      const x = v | (cf << bits);
      const y = (x >>> t) | (x << (bits + 1 - t));
      rotFlags(c, (y >> bits) & 1, ((v >> top) ^ cf) & 1);
      return y & mask;
    }
    case SHL: case SAL: {
      const w = v << n; // n <= 31 and v < 2^16: bits above `bits` hold what was shifted out
      r = w & mask;
      shiftFlags(c, n <= bits ? (w >>> bits) & 1 : 0, of1, r === 0, r >> top, r);
      return r;
    }
    case SHR: {
      r = n < bits ? v >>> n : 0;
      shiftFlags(c, n <= bits ? (v >>> (n - 1)) & 1 : 0, v >> top, r === 0, r >> top, r);
      return r;
    }
    default: { // SAR
      const s = (v << (32 - bits)) >> (32 - bits); // sign-extended
      const k = n < bits ? n : bits - 1;
      r = (s >> k) & mask;
      shiftFlags(c, (s >> (n <= bits ? n - 1 : bits - 1)) & 1, 0, r === 0, r >> top, r);
      return r;
    }
  }
}

// ---------------------------------------------------------------- 32-bit core
/** Shift/rotate an int32 by the masked count n (1..31). */
function sh32(c: Cpu, op: number, v: number, n: number): number {
  let r: number;
  switch (op) {
    case ROL: case ROL_I:
      r = (v << n) | (v >>> (32 - n));
      rotFlags(c, r & 1, op === ROL ? ((v >>> 31) ^ (v >>> 30)) & 1 : -1);
      return r;
    case ROR: case ROR_I:
      r = (v >>> n) | (v << (32 - n));
      rotFlags(c, r >>> 31, op === ROR ? ((v >>> 31) ^ v) & 1 : -1);
      return r;
    case RCL: {
      const cf = getArith(c) & CF;
      r = n === 1 ? (v << 1) | cf : (v << n) | (cf << (n - 1)) | (v >>> (33 - n));
      rotFlags(c, (v >>> (32 - n)) & 1, ((v >>> 31) ^ (v >>> 30)) & 1);
      return r;
    }
    case RCR: {
      const cf = getArith(c) & CF;
      r = n === 1 ? (v >>> 1) | (cf << 31) : (v >>> n) | (cf << (32 - n)) | (v << (33 - n));
      rotFlags(c, (v >>> (n - 1)) & 1, (v >>> 31) ^ cf);
      return r;
    }
    case SHL: case SAL:
      r = v << n;
      shiftFlags(c, (v >>> (32 - n)) & 1, ((v >>> 31) ^ (v >>> 30)) & 1, r === 0, r >>> 31, r);
      return r;
    case SHR:
      r = v >>> n;
      shiftFlags(c, (v >>> (n - 1)) & 1, v >>> 31, r === 0, r >>> 31, r);
      return r | 0;
    default: // SAR
      r = v >> n;
      shiftFlags(c, (v >> (n - 1)) & 1, 0, r === 0, r >>> 31, r);
      return r;
  }
}

// ---------------------------------------------------------------- 64-bit helpers (halves)
/** High half of the last 64-bit result. */
let oHi = 0;

/** (hi:lo) << n for 0 <= n <= 64: returns the low half, high half in oHi. */
function shl64(lo: number, hi: number, n: number): number {
  if (n === 0) { oHi = hi; return lo; }
  if (n < 32) { oHi = (hi << n) | (lo >>> (32 - n)); return lo << n; }
  if (n < 64) { oHi = lo << (n - 32); return 0; }
  oHi = 0; return 0;
}
/** Logical (hi:lo) >>> n for 0 <= n <= 64. */
function shr64(lo: number, hi: number, n: number): number {
  if (n === 0) { oHi = hi; return lo; }
  if (n < 32) { oHi = hi >>> n; return (lo >>> n) | (hi << (32 - n)); }
  if (n < 64) { oHi = 0; return hi >>> (n - 32); }
  oHi = 0; return 0;
}
/** Bit k (0..63) of (hi:lo). */
function bit64(lo: number, hi: number, k: number): number {
  return k < 32 ? (lo >>> k) & 1 : (hi >>> (k - 32)) & 1;
}

/** Shift/rotate (hi:lo) by the masked count n (1..63): returns the low half, high half in c.tmpHi. */
function sh64(c: Cpu, op: number, lo: number, hi: number, n: number): number {
  let rl: number, rh: number;
  const of1 = ((hi >>> 31) ^ (hi >>> 30)) & 1;
  switch (op) {
    case ROL: case ROL_I: {
      const al = shl64(lo, hi, n), ah = oHi;
      const bl = shr64(lo, hi, 64 - n);
      rl = al | bl; rh = ah | oHi;
      rotFlags(c, rl & 1, op === ROL ? of1 : -1);
      break;
    }
    case ROR: case ROR_I: {
      const al = shr64(lo, hi, n), ah = oHi;
      const bl = shl64(lo, hi, 64 - n);
      rl = al | bl; rh = ah | oHi;
      rotFlags(c, rh >>> 31, op === ROR ? ((hi >>> 31) ^ lo) & 1 : -1);
      break;
    }
    case RCL: {
      // 65-bit rotate of CF:hi:lo: (v << n) | (CF << (n-1)) | (v >>> (65-n)).
      const cf = getArith(c) & CF;
      const al = shl64(lo, hi, n), ah = oHi;
      const bl = shr64(lo, hi, 65 - n);
      rl = al | bl; rh = ah | oHi;
      if (n - 1 < 32) rl |= cf << (n - 1); else rh |= cf << (n - 33);
      rotFlags(c, bit64(lo, hi, 64 - n), of1);
      break;
    }
    case RCR: {
      const cf = getArith(c) & CF;
      const al = shr64(lo, hi, n), ah = oHi;
      const bl = shl64(lo, hi, 65 - n);
      rl = al | bl; rh = ah | oHi;
      if (64 - n < 32) rl |= cf << (64 - n); else rh |= cf << (32 - n);
      rotFlags(c, bit64(lo, hi, n - 1), (hi >>> 31) ^ cf);
      break;
    }
    case SHL: case SAL:
      rl = shl64(lo, hi, n); rh = oHi;
      shiftFlags(c, bit64(lo, hi, 64 - n), of1, (rl | rh) === 0, rh >>> 31, rl);
      break;
    case SHR:
      rl = shr64(lo, hi, n); rh = oHi;
      shiftFlags(c, bit64(lo, hi, n - 1), hi >>> 31, (rl | rh) === 0, rh >>> 31, rl);
      break;
    default: { // SAR
      const s = hi >> 31;
      if (n < 32) { rl = (lo >>> n) | (hi << (32 - n)); rh = hi >> n; }
      else { rl = hi >> (n - 32); rh = s; }
      shiftFlags(c, bit64(lo, hi, n - 1), 0, (rl | rh) === 0, rh >>> 31, rl);
      break;
    }
  }
  c.tmpHi = rh | 0;
  return rl | 0;
}

// ---------------------------------------------------------------- group 2 handlers
// Count sources: "I" handlers use i.imm (already masked at decode time; D0/D1 set it to 1),
// "C" handlers use CL masked at run time.
type H = Handler;
const cl5 = (c: Cpu): number => c.rl[RCX] & 0x1f;
const cl6 = (c: Cpu): number => c.rl[RCX] & 0x3f;

function sh8(c: Cpu, op: number, v: number, n: number): number { return n === 0 ? v : shSmall(c, op, 8, v, n); }
function sh16(c: Cpu, op: number, v: number, n: number): number { return n === 0 ? v : shSmall(c, op, 16, v & 0xffff, n); }
function sh32Count(c: Cpu, op: number, v: number, n: number): number { return n === 0 ? v : sh32(c, op, v, n); }
function sh64Count(c: Cpu, op: number, lo: number, hi: number, n: number): number {
  if (n === 0) { c.tmpHi = hi; return lo; }
  return sh64(c, op, lo, hi, n);
}

// [size index] for register/immediate, register/CL, memory/immediate, memory/CL.
const G2_RI: H[] = [
  (c, i) => { set8(c, i.rm, sh8(c, i.imm2, get8(c, i.rm), i.imm)); },
  (c, i) => { set16(c, i.rm, sh16(c, i.imm2, c.rl[i.rm], i.imm)); },
  (c, i) => { set32(c, i.rm, sh32Count(c, i.imm2, c.rl[i.rm], i.imm)); },
  (c, i) => { const lo = sh64Count(c, i.imm2, c.rl[i.rm], c.rh[i.rm], i.imm); c.rl[i.rm] = lo; c.rh[i.rm] = c.tmpHi; },
];
const G2_RC: H[] = [
  (c, i) => { set8(c, i.rm, sh8(c, i.imm2, get8(c, i.rm), cl5(c))); },
  (c, i) => { set16(c, i.rm, sh16(c, i.imm2, c.rl[i.rm], cl5(c))); },
  (c, i) => { set32(c, i.rm, sh32Count(c, i.imm2, c.rl[i.rm], cl5(c))); },
  (c, i) => { const lo = sh64Count(c, i.imm2, c.rl[i.rm], c.rh[i.rm], cl6(c)); c.rl[i.rm] = lo; c.rh[i.rm] = c.tmpHi; },
];
const G2_MI: H[] = [
  (c, i) => { const a = i.ea(c, i); wr8(c, a, sh8(c, i.imm2, rdRmw8(c, a), i.imm)); },
  (c, i) => { const a = i.ea(c, i); wr16(c, a, sh16(c, i.imm2, rdRmw16(c, a), i.imm)); },
  (c, i) => { const a = i.ea(c, i); wr32(c, a, sh32Count(c, i.imm2, rdRmw32(c, a), i.imm)); },
  (c, i) => { const a = i.ea(c, i); const v = rdRmw64(c, a); const lo = sh64Count(c, i.imm2, v, c.tmpHi, i.imm); wr64(c, a, lo, c.tmpHi); },
];
const G2_MC: H[] = [
  (c, i) => { const a = i.ea(c, i); wr8(c, a, sh8(c, i.imm2, rdRmw8(c, a), cl5(c))); },
  (c, i) => { const a = i.ea(c, i); wr16(c, a, sh16(c, i.imm2, rdRmw16(c, a), cl5(c))); },
  (c, i) => { const a = i.ea(c, i); wr32(c, a, sh32Count(c, i.imm2, rdRmw32(c, a), cl5(c))); },
  (c, i) => { const a = i.ea(c, i); const v = rdRmw64(c, a); const lo = sh64Count(c, i.imm2, v, c.tmpHi, cl6(c)); wr64(c, a, lo, c.tmpHi); },
];

function sizeIdx(size: number): number { return size === 8 ? 0 : size === 16 ? 1 : size === 32 ? 2 : 3; }

/** The ModRM.reg opcode extension (regs.ts keeps it in bits 2:0 for byte registers too). */
function ext(i: Insn): number { return i.reg & 7; }

/** count: 'imm' (C0/C1: i.imm), 1 (D0/D1), 'cl' (D2/D3). LOCK is #UD. */
function pickGrp2(count: 'imm' | 'one' | 'cl') {
  return (i: Insn): Handler | undefined => {
    if (i.lock) return undefined;
    i.imm2 = ext(i);
    const k = sizeIdx(i.opSize);
    if (count === 'cl') return i.mod === 3 ? G2_RC[k] : G2_MC[k];
    i.imm = count === 'one' ? 1 : i.imm & (i.opSize === 64 ? 0x3f : 0x1f);
    // ROL/ROR of a register by an immediate (C0/C1) other than 1 leave OF unchanged on the Intel
    // host; by CL, by 1, or with a memory operand they compute it.
    if (i.mod === 3 && i.imm !== 1 && (i.imm2 === ROL || i.imm2 === ROR)) i.imm2 = i.imm2 === ROL ? ROL_I : ROR_I;
    return i.mod === 3 ? G2_RI[k] : G2_MI[k];
  };
}
def(0xc0, { name: 'grp2 Eb,Ib', modrm: true, imm: Imm.Ib, byte: true, pick: pickGrp2('imm') });
def(0xc1, { name: 'grp2 Ev,Ib', modrm: true, imm: Imm.Ib, pick: pickGrp2('imm') });
def(0xd0, { name: 'grp2 Eb,1', modrm: true, imm: Imm.None, byte: true, pick: pickGrp2('one') });
def(0xd1, { name: 'grp2 Ev,1', modrm: true, imm: Imm.None, pick: pickGrp2('one') });
def(0xd2, { name: 'grp2 Eb,CL', modrm: true, imm: Imm.None, byte: true, pick: pickGrp2('cl') });
def(0xd3, { name: 'grp2 Ev,CL', modrm: true, imm: Imm.None, pick: pickGrp2('cl') });

// ---------------------------------------------------------------- SHLD / SHRD
// i.imm2: 0 = SHLD, 1 = SHRD. d = destination, s = source (the G register), n = masked count.

/** 16-bit double shift, n = 1..31 (see the header comment for n > 16). */
function dsh16(c: Cpu, right: number, d: number, s: number, n: number): number {
  d &= 0xffff; s &= 0xffff;
  let r: number, cf: number, of: number;
  if (right === 0) {
    // bits 47..32 of (d:s:d) << n
    if (n <= 16) { r = ((d << n) | (s >>> (16 - n))) & 0xffff; cf = (d >>> (16 - n)) & 1; }
    else { const m = n - 16; r = ((s << m) | (d >>> (16 - m))) & 0xffff; cf = (s >>> (16 - m)) & 1; }
    of = ((d >> 15) ^ (d >> 14)) & 1;
  } else {
    // bits 15..0 of (d:s:d) >>> n
    if (n <= 16) { r = ((d >>> n) | (s << (16 - n))) & 0xffff; cf = (d >>> (n - 1)) & 1; }
    else { const m = n - 16; r = ((s >>> m) | (d << (16 - m))) & 0xffff; cf = (s >>> (m - 1)) & 1; }
    of = ((d >> 15) ^ s) & 1;
  }
  shiftFlags(c, cf, of, r === 0, r >> 15, r);
  return r;
}
function dsh32(c: Cpu, right: number, d: number, s: number, n: number): number {
  let r: number, cf: number, of: number;
  if (right === 0) {
    r = (d << n) | (s >>> (32 - n));
    cf = (d >>> (32 - n)) & 1;
    of = ((d >>> 31) ^ (d >>> 30)) & 1;
  } else {
    r = (d >>> n) | (s << (32 - n));
    cf = (d >>> (n - 1)) & 1;
    of = ((d >>> 31) ^ s) & 1;
  }
  shiftFlags(c, cf, of, r === 0, r >>> 31, r);
  return r;
}
function dsh64(c: Cpu, right: number, dl: number, dh: number, sl: number, sh: number, n: number): number {
  let rl: number, rh: number, cf: number, of: number;
  if (right === 0) {
    rl = shl64(dl, dh, n); rh = oHi;
    rl |= shr64(sl, sh, 64 - n); rh |= oHi;
    cf = bit64(dl, dh, 64 - n);
    of = ((dh >>> 31) ^ (dh >>> 30)) & 1;
  } else {
    rl = shr64(dl, dh, n); rh = oHi;
    rl |= shl64(sl, sh, 64 - n); rh |= oHi;
    cf = bit64(dl, dh, n - 1);
    of = ((dh >>> 31) ^ sl) & 1;
  }
  shiftFlags(c, cf, of, (rl | rh) === 0, rh >>> 31, rl);
  c.tmpHi = rh;
  return rl;
}
function ds16(c: Cpu, i: Insn, d: number, n: number): number { return n === 0 ? d : dsh16(c, i.imm2, d, c.rl[i.reg], n); }
function ds32(c: Cpu, i: Insn, d: number, n: number): number { return n === 0 ? d : dsh32(c, i.imm2, d, c.rl[i.reg], n); }
function ds64(c: Cpu, i: Insn, dl: number, dh: number, n: number): number {
  if (n === 0) { c.tmpHi = dh; return dl; }
  return dsh64(c, i.imm2, dl, dh, c.rl[i.reg], c.rh[i.reg], n);
}

// [size index - 1] (16, 32, 64)
const DS_RI: H[] = [
  (c, i) => { set16(c, i.rm, ds16(c, i, c.rl[i.rm], i.imm)); },
  (c, i) => { set32(c, i.rm, ds32(c, i, c.rl[i.rm], i.imm)); },
  (c, i) => { const lo = ds64(c, i, c.rl[i.rm], c.rh[i.rm], i.imm); c.rl[i.rm] = lo; c.rh[i.rm] = c.tmpHi; },
];
const DS_RC: H[] = [
  (c, i) => { set16(c, i.rm, ds16(c, i, c.rl[i.rm], cl5(c))); },
  (c, i) => { set32(c, i.rm, ds32(c, i, c.rl[i.rm], cl5(c))); },
  (c, i) => { const lo = ds64(c, i, c.rl[i.rm], c.rh[i.rm], cl6(c)); c.rl[i.rm] = lo; c.rh[i.rm] = c.tmpHi; },
];
const DS_MI: H[] = [
  (c, i) => { const a = i.ea(c, i); wr16(c, a, ds16(c, i, rdRmw16(c, a), i.imm)); },
  (c, i) => { const a = i.ea(c, i); wr32(c, a, ds32(c, i, rdRmw32(c, a), i.imm)); },
  (c, i) => { const a = i.ea(c, i); const v = rdRmw64(c, a); const lo = ds64(c, i, v, c.tmpHi, i.imm); wr64(c, a, lo, c.tmpHi); },
];
const DS_MC: H[] = [
  (c, i) => { const a = i.ea(c, i); wr16(c, a, ds16(c, i, rdRmw16(c, a), cl5(c))); },
  (c, i) => { const a = i.ea(c, i); wr32(c, a, ds32(c, i, rdRmw32(c, a), cl5(c))); },
  (c, i) => { const a = i.ea(c, i); const v = rdRmw64(c, a); const lo = ds64(c, i, v, c.tmpHi, cl6(c)); wr64(c, a, lo, c.tmpHi); },
];

function pickDsh(right: number, byCl: boolean) {
  return (i: Insn): Handler | undefined => {
    if (i.lock) return undefined;
    i.imm2 = right;
    const k = i.opSize === 16 ? 0 : i.opSize === 32 ? 1 : 2;
    if (byCl) return i.mod === 3 ? DS_RC[k] : DS_MC[k];
    i.imm &= i.opSize === 64 ? 0x3f : 0x1f;
    return i.mod === 3 ? DS_RI[k] : DS_MI[k];
  };
}
def(0x1a4, { name: 'shld Ev,Gv,Ib', modrm: true, imm: Imm.Ib, pick: pickDsh(0, false) });
def(0x1a5, { name: 'shld Ev,Gv,CL', modrm: true, imm: Imm.None, pick: pickDsh(0, true) });
def(0x1ac, { name: 'shrd Ev,Gv,Ib', modrm: true, imm: Imm.Ib, pick: pickDsh(1, false) });
def(0x1ad, { name: 'shrd Ev,Gv,CL', modrm: true, imm: Imm.None, pick: pickDsh(1, true) });
