// Bit test and bit scan (SDM Vol. 2A "BT", "BTC", "BTR", "BTS", "BSF", "BSR", "LZCNT", "POPCNT",
// Vol. 2B "TZCNT"): 0F A3/AB/B3/BB (register bit offset), 0F BA /4-/7 (immediate bit offset),
// 0F BC/BD (BSF/BSR; with F3: TZCNT/LZCNT), F3 0F B8 (POPCNT; without F3 the opcode is #UD).
//
// Bit-string addressing (SDM Vol. 2A "BT", Vol. 1 3.4.3 fig. 3-2 / 3.7.5): with a memory operand and a
// register bit offset, the offset is a signed operand-size integer; the instruction accesses the
// operand-size unit at  EA + (size/8) * floor(offset / size)  (wrapping at the address size) and
// tests bit offset mod size of it. An immediate offset is taken modulo the operand size.
//
// Flags (undefined cases resolved as the Intel host, an Ice Lake-class Xeon, does — measured natively):
//  - BT/BTS/BTR/BTC: CF = the selected bit; ZF, SF, OF, AF, PF all unchanged.
//  - BSF/BSR: source non-zero: ZF = 0, PF = parity of the result index, CF = OF = SF = AF = 0.
//    Source zero: ZF = 1, PF = 1, CF = OF = SF = AF = 0, and the destination is not written at all
//    (for a 32-bit destination in 64-bit mode the upper half is kept too).
//  - TZCNT/LZCNT: CF = (source == 0), ZF = (result == 0), OF = SF = AF = PF = 0.
//  - POPCNT (defined): ZF = (source == 0), the others 0.
// LOCK is accepted only on the memory forms of BTS/BTR/BTC (#UD otherwise).
import type { Cpu } from '../state.ts';
import { CF, PF, ZF, SS, FS } from '../state.ts';
import type { Insn, Handler } from '../insn.ts';
import { def, Imm } from '../decoder.ts';
import { setArith, getArith } from '../flags.ts';
import { set16, set32 } from '../regs.ts';
import { rd16, rd32, rd64, wr16, wr32, wr64, rdRmw16, rdRmw32, rdRmw64 } from '../memaccess.ts';
import { raise, GP, SSV } from '../fault.ts';

export const BT = 0, BTS = 1, BTR = 2, BTC = 3;
const TWO32 = 4294967296;

function pf8(v: number): number {
  return ((0x9669 >> ((v ^ (v >> 4)) & 15)) & 1) << 2;
}

// ---------------------------------------------------------------- BT family core
/** Record CF = bit; other arithmetic flags unchanged. */
function setCf(c: Cpu, bit: number): void {
  setArith(c, (getArith(c) & ~CF) | bit);
}

/** Apply op to a 32-bit (or smaller, zero-extended) value at bit position b (0..31). */
function btApply(c: Cpu, op: number, v: number, b: number): number {
  setCf(c, (v >>> b) & 1);
  switch (op) {
    case BTS: return v | (1 << b);
    case BTR: return v & ~(1 << b);
    case BTC: return v ^ (1 << b);
    default: return v;
  }
}
/** 64-bit form: bit b (0..63) of (hi:lo); returns the low half, the high half in c.tmpHi. */
function btApply64(c: Cpu, op: number, lo: number, hi: number, b: number): number {
  if (b < 32) { c.tmpHi = hi; return btApply(c, op, lo, b); }
  c.tmpHi = btApply(c, op, hi, b - 32);
  return lo;
}

// ---------------------------------------------------------------- bit-string addresses
/** i.ea with `delta` bytes added to the displacement (wraps at the address size like any EA). */
function eaPlus(c: Cpu, i: Insn, delta: number): number {
  const d = i.disp;
  i.disp = d + delta;
  try {
    return i.ea(c, i);
  } finally {
    i.disp = d;
  }
}

/**
 * Exact EA + (dHi:dLo) for 64-bit addressing when the byte offset is too large to be carried in the
 * displacement as a double (|offset| >= 2^52 bytes). The result is canonical only if the base/index
 * registers hold non-canonical values that the offset cancels; computed exactly anyway.
 */
function eaHuge64(c: Cpu, i: Insn, dLo: number, dHi: number): number {
  let lo = (i.disp >>> 0) + (dLo >>> 0);
  let hi = (i.disp >> 31) + dHi;
  const b = i.base;
  if (b === 16) {
    const r = c.nextRip;
    const rh = Math.floor(r / TWO32);
    lo += r - rh * TWO32; hi += rh;
  } else if (b >= 0) { lo += c.rl[b] >>> 0; hi += c.rh[b]; }
  const x = i.index;
  if (x >= 0) {
    const s = i.scale, xl = c.rl[x] >>> 0;
    lo += (xl << s) >>> 0;
    hi += s === 0 ? c.rh[x] : (c.rh[x] << s) | (xl >>> (32 - s));
  }
  const carry = Math.floor(lo / TWO32);
  hi = (hi + carry) | 0;
  lo -= carry * TWO32;
  if (i.seg >= FS) {
    // Add the segment base as 64-bit halves, then require a canonical result.
    const base = c.segBase[i.seg];
    const bh = Math.floor(base / TWO32);
    let l2 = lo + (base - bh * TWO32);
    const c2 = Math.floor(l2 / TWO32);
    l2 -= c2 * TWO32;
    hi = (hi + bh + c2) | 0;
    lo = l2;
  }
  if (((hi << 16) >> 16) !== hi) raise(c, i.seg === SS ? SSV : GP, 0);
  return hi * TWO32 + lo;
}

/** Address of the 16-bit unit holding bit (signed 16-bit register offset) of the string at EA. */
function bitAddr16(c: Cpu, i: Insn): number {
  return eaPlus(c, i, (((c.rl[i.reg] << 16) >> 16) >> 4) * 2);
}
function bitAddr32(c: Cpu, i: Insn): number {
  return eaPlus(c, i, (c.rl[i.reg] >> 5) * 4);
}
function bitAddr64(c: Cpu, i: Insn): number {
  // qword index = offset >> 6 (arithmetic), as hi:lo halves; byte offset = index * 8.
  const lo = c.rl[i.reg], hi = c.rh[i.reg];
  const qHi = hi >> 6, qLo = ((hi << 26) | (lo >>> 6)) >>> 0;
  // With a 32-bit address size only the low 32 bits of the byte offset matter (the EA wraps).
  if (i.addrSize !== 64) return eaPlus(c, i, (qLo << 3) | 0);
  // |byte offset| < 2^52: exact as a double displacement.
  if (qHi >= -0x20000 && qHi < 0x20000) return eaPlus(c, i, (qHi * TWO32 + qLo) * 8);
  const bLo = (qLo << 3) | 0, bHi = (qHi << 3) | (qLo >>> 29);
  return eaHuge64(c, i, bLo, bHi);
}

// ---------------------------------------------------------------- BT handlers
// imm2 = op. "G" = register bit offset, "I" = immediate bit offset (masked at decode time into i.imm).
type H = Handler;
// BT (no write), per size 16/32/64
const BT_RG: H[] = [
  (c, i) => { setCf(c, (c.rl[i.rm] >>> (c.rl[i.reg] & 15)) & 1); },
  (c, i) => { setCf(c, (c.rl[i.rm] >>> (c.rl[i.reg] & 31)) & 1); },
  (c, i) => { const b = c.rl[i.reg] & 63; setCf(c, b < 32 ? (c.rl[i.rm] >>> b) & 1 : (c.rh[i.rm] >>> (b - 32)) & 1); },
];
const BT_RI: H[] = [
  (c, i) => { setCf(c, (c.rl[i.rm] >>> i.imm) & 1); },
  (c, i) => { setCf(c, (c.rl[i.rm] >>> i.imm) & 1); },
  (c, i) => { const b = i.imm; setCf(c, b < 32 ? (c.rl[i.rm] >>> b) & 1 : (c.rh[i.rm] >>> (b - 32)) & 1); },
];
const BT_MG: H[] = [
  (c, i) => { setCf(c, (rd16(c, bitAddr16(c, i)) >>> (c.rl[i.reg] & 15)) & 1); },
  (c, i) => { setCf(c, (rd32(c, bitAddr32(c, i)) >>> (c.rl[i.reg] & 31)) & 1); },
  (c, i) => {
    const lo = rd64(c, bitAddr64(c, i)), b = c.rl[i.reg] & 63;
    setCf(c, b < 32 ? (lo >>> b) & 1 : (c.tmpHi >>> (b - 32)) & 1);
  },
];
const BT_MI: H[] = [
  (c, i) => { setCf(c, (rd16(c, i.ea(c, i)) >>> i.imm) & 1); },
  (c, i) => { setCf(c, (rd32(c, i.ea(c, i)) >>> i.imm) & 1); },
  (c, i) => { const lo = rd64(c, i.ea(c, i)), b = i.imm; setCf(c, b < 32 ? (lo >>> b) & 1 : (c.tmpHi >>> (b - 32)) & 1); },
];
// BTS/BTR/BTC (write back), per size
const BTX_RG: H[] = [
  (c, i) => { set16(c, i.rm, btApply(c, i.imm2, c.rl[i.rm] & 0xffff, c.rl[i.reg] & 15)); },
  (c, i) => { set32(c, i.rm, btApply(c, i.imm2, c.rl[i.rm], c.rl[i.reg] & 31)); },
  (c, i) => { const lo = btApply64(c, i.imm2, c.rl[i.rm], c.rh[i.rm], c.rl[i.reg] & 63); c.rl[i.rm] = lo; c.rh[i.rm] = c.tmpHi; },
];
const BTX_RI: H[] = [
  (c, i) => { set16(c, i.rm, btApply(c, i.imm2, c.rl[i.rm] & 0xffff, i.imm)); },
  (c, i) => { set32(c, i.rm, btApply(c, i.imm2, c.rl[i.rm], i.imm)); },
  (c, i) => { const lo = btApply64(c, i.imm2, c.rl[i.rm], c.rh[i.rm], i.imm); c.rl[i.rm] = lo; c.rh[i.rm] = c.tmpHi; },
];
const BTX_MG: H[] = [
  (c, i) => { const a = bitAddr16(c, i); wr16(c, a, btApply(c, i.imm2, rdRmw16(c, a), c.rl[i.reg] & 15)); },
  (c, i) => { const a = bitAddr32(c, i); wr32(c, a, btApply(c, i.imm2, rdRmw32(c, a), c.rl[i.reg] & 31)); },
  (c, i) => {
    const a = bitAddr64(c, i);
    const v = rdRmw64(c, a);
    const lo = btApply64(c, i.imm2, v, c.tmpHi, c.rl[i.reg] & 63);
    wr64(c, a, lo, c.tmpHi);
  },
];
const BTX_MI: H[] = [
  (c, i) => { const a = i.ea(c, i); wr16(c, a, btApply(c, i.imm2, rdRmw16(c, a), i.imm)); },
  (c, i) => { const a = i.ea(c, i); wr32(c, a, btApply(c, i.imm2, rdRmw32(c, a), i.imm)); },
  (c, i) => {
    const a = i.ea(c, i);
    const v = rdRmw64(c, a);
    const lo = btApply64(c, i.imm2, v, c.tmpHi, i.imm);
    wr64(c, a, lo, c.tmpHi);
  },
];

function pickBt(i: Insn, op: number, immForm: boolean): Handler | undefined {
  // LOCK: only BTS/BTR/BTC with a memory destination.
  if (i.lock && (op === BT || i.mod === 3)) return undefined;
  i.imm2 = op;
  const k = i.opSize === 16 ? 0 : i.opSize === 32 ? 1 : 2;
  if (immForm) {
    i.imm &= i.opSize - 1;
    if (op === BT) return i.mod === 3 ? BT_RI[k] : BT_MI[k];
    return i.mod === 3 ? BTX_RI[k] : BTX_MI[k];
  }
  if (op === BT) return i.mod === 3 ? BT_RG[k] : BT_MG[k];
  return i.mod === 3 ? BTX_RG[k] : BTX_MG[k];
}
def(0x1a3, { name: 'bt Ev,Gv', modrm: true, imm: Imm.None, pick: (i) => pickBt(i, BT, false) });
def(0x1ab, { name: 'bts Ev,Gv', modrm: true, lockable: true, imm: Imm.None, pick: (i) => pickBt(i, BTS, false) });
def(0x1b3, { name: 'btr Ev,Gv', modrm: true, lockable: true, imm: Imm.None, pick: (i) => pickBt(i, BTR, false) });
def(0x1bb, { name: 'btc Ev,Gv', modrm: true, lockable: true, imm: Imm.None, pick: (i) => pickBt(i, BTC, false) });
// Group 8: /4 BT, /5 BTS, /6 BTR, /7 BTC; /0-/3 are invalid.
def(0x1ba, {
  name: 'grp8 Ev,Ib', modrm: true, imm: Imm.Ib, lockable: true,
  pick: (i) => { const r = i.reg & 7; return r < 4 ? undefined : pickBt(i, r - 4, true); },
});

// ---------------------------------------------------------------- BSF / BSR / TZCNT / LZCNT / POPCNT
/** Trailing zero count of a non-zero int32. */
function ctz32(v: number): number { return 31 - Math.clz32(v & -v); }
function popcnt32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

const ZF_PF = ZF | PF;
// Each core takes the source (16-bit values zero-extended; 64-bit as halves) and returns the result,
// or -1 when the destination must not be written (BSF/BSR with a zero source).
function bsf32(c: Cpu, v: number): number {
  if (v === 0) { setArith(c, ZF_PF); return -1; }
  const r = ctz32(v);
  setArith(c, pf8(r));
  return r;
}
function bsf64(c: Cpu, lo: number, hi: number): number {
  if ((lo | hi) === 0) { setArith(c, ZF_PF); return -1; }
  const r = lo !== 0 ? ctz32(lo) : 32 + ctz32(hi);
  setArith(c, pf8(r));
  return r;
}
function bsr32(c: Cpu, v: number): number {
  if (v === 0) { setArith(c, ZF_PF); return -1; }
  const r = 31 - Math.clz32(v);
  setArith(c, pf8(r));
  return r;
}
function bsr64(c: Cpu, lo: number, hi: number): number {
  if ((lo | hi) === 0) { setArith(c, ZF_PF); return -1; }
  const r = hi !== 0 ? 63 - Math.clz32(hi) : 31 - Math.clz32(lo);
  setArith(c, pf8(r));
  return r;
}
/** TZCNT with operand width `w` (16 or 32): v is zero-extended to 32 bits. */
function tzcnt(c: Cpu, v: number, w: number): number {
  const r = v === 0 ? w : ctz32(v);
  setArith(c, (v === 0 ? CF : 0) | (r === 0 ? ZF : 0));
  return r;
}
function tzcnt64(c: Cpu, lo: number, hi: number): number {
  const r = lo !== 0 ? ctz32(lo) : hi !== 0 ? 32 + ctz32(hi) : 64;
  setArith(c, (r === 64 ? CF : 0) | (r === 0 ? ZF : 0));
  return r;
}
/** LZCNT of a 16-bit (zero-extended) value. */
function lzcnt16(c: Cpu, v: number): number {
  const r = Math.clz32(v) - 16;
  setArith(c, (v === 0 ? CF : 0) | (r === 0 ? ZF : 0));
  return r;
}
function lzcnt32(c: Cpu, v: number): number {
  const r = Math.clz32(v);
  setArith(c, (v === 0 ? CF : 0) | (r === 0 ? ZF : 0));
  return r;
}
function lzcnt64(c: Cpu, lo: number, hi: number): number {
  const r = hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
  setArith(c, (r === 64 ? CF : 0) | (r === 0 ? ZF : 0));
  return r;
}
function popcnt(c: Cpu, v: number): number {
  setArith(c, v === 0 ? ZF : 0);
  return popcnt32(v);
}
function popcnt64(c: Cpu, lo: number, hi: number): number {
  setArith(c, (lo | hi) === 0 ? ZF : 0);
  return popcnt32(lo) + popcnt32(hi);
}

// Writers: BSF/BSR skip the write on -1; the counting instructions always write.
function w16(c: Cpu, r: number, v: number): void { if (v >= 0) set16(c, r, v); }
function w32(c: Cpu, r: number, v: number): void { if (v >= 0) set32(c, r, v); }
function w64(c: Cpu, r: number, v: number): void { if (v >= 0) { c.rl[r] = v; c.rh[r] = 0; } }

// Tables [op][size 16/32/64], op: 0 BSF, 1 BSR, 2 TZCNT, 3 LZCNT, 4 POPCNT.
const SCAN_R: H[][] = [
  [(c, i) => w16(c, i.reg, bsf32(c, c.rl[i.rm] & 0xffff)), (c, i) => w32(c, i.reg, bsf32(c, c.rl[i.rm])),
    (c, i) => w64(c, i.reg, bsf64(c, c.rl[i.rm], c.rh[i.rm]))],
  [(c, i) => w16(c, i.reg, bsr32(c, c.rl[i.rm] & 0xffff)), (c, i) => w32(c, i.reg, bsr32(c, c.rl[i.rm])),
    (c, i) => w64(c, i.reg, bsr64(c, c.rl[i.rm], c.rh[i.rm]))],
  [(c, i) => set16(c, i.reg, tzcnt(c, c.rl[i.rm] & 0xffff, 16)), (c, i) => set32(c, i.reg, tzcnt(c, c.rl[i.rm], 32)),
    (c, i) => w64(c, i.reg, tzcnt64(c, c.rl[i.rm], c.rh[i.rm]))],
  [(c, i) => set16(c, i.reg, lzcnt16(c, c.rl[i.rm] & 0xffff)), (c, i) => set32(c, i.reg, lzcnt32(c, c.rl[i.rm])),
    (c, i) => w64(c, i.reg, lzcnt64(c, c.rl[i.rm], c.rh[i.rm]))],
  [(c, i) => set16(c, i.reg, popcnt(c, c.rl[i.rm] & 0xffff)), (c, i) => set32(c, i.reg, popcnt(c, c.rl[i.rm])),
    (c, i) => w64(c, i.reg, popcnt64(c, c.rl[i.rm], c.rh[i.rm]))],
];
const SCAN_M: H[][] = [
  [(c, i) => w16(c, i.reg, bsf32(c, rd16(c, i.ea(c, i)))), (c, i) => w32(c, i.reg, bsf32(c, rd32(c, i.ea(c, i)))),
    (c, i) => { const lo = rd64(c, i.ea(c, i)); w64(c, i.reg, bsf64(c, lo, c.tmpHi)); }],
  [(c, i) => w16(c, i.reg, bsr32(c, rd16(c, i.ea(c, i)))), (c, i) => w32(c, i.reg, bsr32(c, rd32(c, i.ea(c, i)))),
    (c, i) => { const lo = rd64(c, i.ea(c, i)); w64(c, i.reg, bsr64(c, lo, c.tmpHi)); }],
  [(c, i) => set16(c, i.reg, tzcnt(c, rd16(c, i.ea(c, i)), 16)), (c, i) => set32(c, i.reg, tzcnt(c, rd32(c, i.ea(c, i)), 32)),
    (c, i) => { const lo = rd64(c, i.ea(c, i)); w64(c, i.reg, tzcnt64(c, lo, c.tmpHi)); }],
  [(c, i) => set16(c, i.reg, lzcnt16(c, rd16(c, i.ea(c, i)))), (c, i) => set32(c, i.reg, lzcnt32(c, rd32(c, i.ea(c, i)))),
    (c, i) => { const lo = rd64(c, i.ea(c, i)); w64(c, i.reg, lzcnt64(c, lo, c.tmpHi)); }],
  [(c, i) => set16(c, i.reg, popcnt(c, rd16(c, i.ea(c, i)))), (c, i) => set32(c, i.reg, popcnt(c, rd32(c, i.ea(c, i)))),
    (c, i) => { const lo = rd64(c, i.ea(c, i)); w64(c, i.reg, popcnt64(c, lo, c.tmpHi)); }],
];

function pickScan(i: Insn, op: number): Handler | undefined {
  if (i.lock) return undefined;
  const k = i.opSize === 16 ? 0 : i.opSize === 32 ? 1 : 2;
  return i.mod === 3 ? SCAN_R[op][k] : SCAN_M[op][k];
}
// The F3 prefix selects TZCNT/LZCNT/POPCNT (CPUID BMI1 / LZCNT (ABM) / POPCNT must be reported).
def(0x1bc, { name: 'bsf/tzcnt Gv,Ev', modrm: true, imm: Imm.None, pick: (i) => pickScan(i, i.rep === 0xf3 ? 2 : 0) });
def(0x1bd, { name: 'bsr/lzcnt Gv,Ev', modrm: true, imm: Imm.None, pick: (i) => pickScan(i, i.rep === 0xf3 ? 3 : 1) });
// 0F B8 without F3 is JMPE (IA-64 only): #UD on x86-64 processors.
def(0x1b8, { name: 'popcnt Gv,Ev', modrm: true, imm: Imm.None, pick: (i) => (i.rep === 0xf3 ? pickScan(i, 4) : undefined) });
