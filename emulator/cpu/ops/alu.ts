// ADD OR ADC SBB AND SUB XOR CMP, TEST, INC DEC NEG NOT (SDM Vol. 2A/2B), with lazy flags.
// Handlers are chosen at decode time per operand size and register/memory form.
import type { Cpu } from '../state.ts';
import type { Insn, Handler } from '../insn.ts';
import { def, Imm } from '../decoder.ts';
import { K_ADD, K_ADC, K_SUB, K_SBB, K_LOGIC, K_INC, K_DEC, getCF } from '../flags.ts';
import { get8, set8, set16, set32 } from '../regs.ts';
import { rd8, rd16, rd32, rd64, wr8, wr16, wr32, wr64, rdRmw8, rdRmw16, rdRmw32, rdRmw64 } from '../memaccess.ts';
import { pickMulDiv } from './muldiv.ts';

// ALU operation numbers = ModRM.reg of group 1 and bits 5:3 of opcodes 00-3F.
export const ADD = 0, OR = 1, ADC = 2, SBB = 3, AND = 4, SUB = 5, XOR = 6, CMP = 7;
const MASK = [0xff, 0xffff];

/** 8/16-bit ALU: returns the result masked to the size; records lazy flags. s: 0 (8) or 1 (16). */
function aluSmall(c: Cpu, op: number, s: number, a: number, b: number): number {
  const m = MASK[s];
  a &= m; b &= m;
  let r: number, k: number;
  switch (op) {
    case ADD: r = a + b; k = K_ADD; break;
    case OR: r = a | b; k = K_LOGIC; break;
    case ADC: { const cf = getCF(c); c.lfCf = cf; r = a + b + cf; k = K_ADC; break; }
    case SBB: { const cf = getCF(c); c.lfCf = cf; r = a - b - cf; k = K_SBB; break; }
    case AND: r = a & b; k = K_LOGIC; break;
    case SUB: case CMP: r = a - b; k = K_SUB; break;
    default: r = a ^ b; k = K_LOGIC; break;
  }
  r &= m;
  c.lfOp = k * 4 + s; c.lfRes = r; c.lfA = a; c.lfB = b;
  return r;
}

/** 32-bit ALU on int32 values. */
export function alu32(c: Cpu, op: number, a: number, b: number): number {
  let r: number, k: number;
  switch (op) {
    case ADD: r = (a + b) | 0; k = K_ADD; break;
    case OR: r = a | b; k = K_LOGIC; break;
    case ADC: { const cf = getCF(c); c.lfCf = cf; r = (a + b + cf) | 0; k = K_ADC; break; }
    case SBB: { const cf = getCF(c); c.lfCf = cf; r = (a - b - cf) | 0; k = K_SBB; break; }
    case AND: r = a & b; k = K_LOGIC; break;
    case SUB: case CMP: r = (a - b) | 0; k = K_SUB; break;
    default: r = a ^ b; k = K_LOGIC; break;
  }
  c.lfOp = k * 4 + 2; c.lfRes = r; c.lfA = a; c.lfB = b;
  return r;
}

/** 64-bit ALU on halves: returns the low half, the high half in c.tmpHi. */
export function alu64(c: Cpu, op: number, aL: number, aH: number, bL: number, bH: number): number {
  let rL: number, rH: number, k: number;
  switch (op) {
    case ADD: case ADC: {
      const cin = op === ADC ? getCF(c) : 0;
      c.lfCf = cin;
      const lo = (aL >>> 0) + (bL >>> 0) + cin;
      rL = lo | 0; rH = (aH + bH + (lo > 0xffffffff ? 1 : 0)) | 0;
      k = op === ADD ? K_ADD : K_ADC;
      break;
    }
    case SUB: case CMP: case SBB: {
      const bin = op === SBB ? getCF(c) : 0;
      c.lfCf = bin;
      const lo = (aL >>> 0) - (bL >>> 0) - bin;
      rL = lo | 0; rH = (aH - bH - (lo < 0 ? 1 : 0)) | 0;
      k = op === SBB ? K_SBB : K_SUB;
      break;
    }
    case OR: rL = aL | bL; rH = aH | bH; k = K_LOGIC; break;
    case AND: rL = aL & bL; rH = aH & bH; k = K_LOGIC; break;
    default: rL = aL ^ bL; rH = aH ^ bH; k = K_LOGIC; break;
  }
  c.lfOp = k * 4 + 3; c.lfRes = rL; c.lfResH = rH; c.lfA = aL; c.lfAH = aH; c.lfB = bL; c.lfBH = bH;
  c.tmpHi = rH;
  return rL;
}

// The ALU op of an instruction is kept in imm2 (opcodes 00-3F: bits 5:3; group 1: ModRM.reg).

// ---- E,G and G,E forms ----
const EbGb_r: Handler = (c, i) => { const r = aluSmall(c, i.imm2, 0, get8(c, i.rm), get8(c, i.reg)); if (i.imm2 !== CMP) set8(c, i.rm, r); };
const EbGb_m: Handler = (c, i) => { const a = i.ea(c, i); const r = aluSmall(c, i.imm2, 0, i.imm2 === CMP ? rd8(c, a) : rdRmw8(c, a), get8(c, i.reg)); if (i.imm2 !== CMP) wr8(c, a, r); };
const GbEb_r: Handler = (c, i) => { const r = aluSmall(c, i.imm2, 0, get8(c, i.reg), get8(c, i.rm)); if (i.imm2 !== CMP) set8(c, i.reg, r); };
const GbEb_m: Handler = (c, i) => { const r = aluSmall(c, i.imm2, 0, get8(c, i.reg), rd8(c, i.ea(c, i))); if (i.imm2 !== CMP) set8(c, i.reg, r); };
const EwGw_r: Handler = (c, i) => { const r = aluSmall(c, i.imm2, 1, c.rl[i.rm], c.rl[i.reg]); if (i.imm2 !== CMP) set16(c, i.rm, r); };
const EwGw_m: Handler = (c, i) => { const a = i.ea(c, i); const r = aluSmall(c, i.imm2, 1, i.imm2 === CMP ? rd16(c, a) : rdRmw16(c, a), c.rl[i.reg]); if (i.imm2 !== CMP) wr16(c, a, r); };
const GwEw_r: Handler = (c, i) => { const r = aluSmall(c, i.imm2, 1, c.rl[i.reg], c.rl[i.rm]); if (i.imm2 !== CMP) set16(c, i.reg, r); };
const GwEw_m: Handler = (c, i) => { const r = aluSmall(c, i.imm2, 1, c.rl[i.reg], rd16(c, i.ea(c, i))); if (i.imm2 !== CMP) set16(c, i.reg, r); };
const EdGd_r: Handler = (c, i) => { const r = alu32(c, i.imm2, c.rl[i.rm], c.rl[i.reg]); if (i.imm2 !== CMP) set32(c, i.rm, r); };
const EdGd_m: Handler = (c, i) => { const a = i.ea(c, i); const r = alu32(c, i.imm2, i.imm2 === CMP ? rd32(c, a) : rdRmw32(c, a), c.rl[i.reg]); if (i.imm2 !== CMP) wr32(c, a, r); };
const GdEd_r: Handler = (c, i) => { const r = alu32(c, i.imm2, c.rl[i.reg], c.rl[i.rm]); if (i.imm2 !== CMP) set32(c, i.reg, r); };
const GdEd_m: Handler = (c, i) => { const r = alu32(c, i.imm2, c.rl[i.reg], rd32(c, i.ea(c, i))); if (i.imm2 !== CMP) set32(c, i.reg, r); };
const EqGq_r: Handler = (c, i) => {
  const r = alu64(c, i.imm2, c.rl[i.rm], c.rh[i.rm], c.rl[i.reg], c.rh[i.reg]);
  if (i.imm2 !== CMP) { c.rl[i.rm] = r; c.rh[i.rm] = c.tmpHi; }
};
const EqGq_m: Handler = (c, i) => {
  const a = i.ea(c, i);
  const lo = i.imm2 === CMP ? rd64(c, a) : rdRmw64(c, a);
  const r = alu64(c, i.imm2, lo, c.tmpHi, c.rl[i.reg], c.rh[i.reg]);
  if (i.imm2 !== CMP) wr64(c, a, r, c.tmpHi);
};
const GqEq_r: Handler = (c, i) => {
  const r = alu64(c, i.imm2, c.rl[i.reg], c.rh[i.reg], c.rl[i.rm], c.rh[i.rm]);
  if (i.imm2 !== CMP) { c.rl[i.reg] = r; c.rh[i.reg] = c.tmpHi; }
};
const GqEq_m: Handler = (c, i) => {
  const lo = rd64(c, i.ea(c, i));
  const r = alu64(c, i.imm2, c.rl[i.reg], c.rh[i.reg], lo, c.tmpHi);
  if (i.imm2 !== CMP) { c.rl[i.reg] = r; c.rh[i.reg] = c.tmpHi; }
};

// ---- E,I forms (imm is sign-extended to the operand size) ----
const EbI_r: Handler = (c, i) => { const r = aluSmall(c, i.imm2, 0, get8(c, i.rm), i.imm); if (i.imm2 !== CMP) set8(c, i.rm, r); };
const EbI_m: Handler = (c, i) => { const a = i.ea(c, i); const r = aluSmall(c, i.imm2, 0, i.imm2 === CMP ? rd8(c, a) : rdRmw8(c, a), i.imm); if (i.imm2 !== CMP) wr8(c, a, r); };
const EwI_r: Handler = (c, i) => { const r = aluSmall(c, i.imm2, 1, c.rl[i.rm], i.imm); if (i.imm2 !== CMP) set16(c, i.rm, r); };
const EwI_m: Handler = (c, i) => { const a = i.ea(c, i); const r = aluSmall(c, i.imm2, 1, i.imm2 === CMP ? rd16(c, a) : rdRmw16(c, a), i.imm); if (i.imm2 !== CMP) wr16(c, a, r); };
const EdI_r: Handler = (c, i) => { const r = alu32(c, i.imm2, c.rl[i.rm], i.imm); if (i.imm2 !== CMP) set32(c, i.rm, r); };
const EdI_m: Handler = (c, i) => { const a = i.ea(c, i); const r = alu32(c, i.imm2, i.imm2 === CMP ? rd32(c, a) : rdRmw32(c, a), i.imm); if (i.imm2 !== CMP) wr32(c, a, r); };
const EqI_r: Handler = (c, i) => {
  const r = alu64(c, i.imm2, c.rl[i.rm], c.rh[i.rm], i.imm, i.imm >> 31);
  if (i.imm2 !== CMP) { c.rl[i.rm] = r; c.rh[i.rm] = c.tmpHi; }
};
const EqI_m: Handler = (c, i) => {
  const a = i.ea(c, i);
  const lo = i.imm2 === CMP ? rd64(c, a) : rdRmw64(c, a);
  const r = alu64(c, i.imm2, lo, c.tmpHi, i.imm, i.imm >> 31);
  if (i.imm2 !== CMP) wr64(c, a, r, c.tmpHi);
};

function bySize(i: Insn, r: Handler[], m: Handler[]): Handler {
  const k = i.opSize === 8 ? 0 : i.opSize === 16 ? 1 : i.opSize === 32 ? 2 : 3;
  return i.mod === 3 ? r[k] : m[k];
}

const E_G_R = [EbGb_r, EwGw_r, EdGd_r, EqGq_r], E_G_M = [EbGb_m, EwGw_m, EdGd_m, EqGq_m];
const G_E_R = [GbEb_r, GwEw_r, GdEd_r, GqEq_r], G_E_M = [GbEb_m, GwEw_m, GdEd_m, GqEq_m];
const E_I_R = [EbI_r, EwI_r, EdI_r, EqI_r], E_I_M = [EbI_m, EwI_m, EdI_m, EqI_m];
const NAMES = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];

// LOCK is allowed only on memory-destination forms of ops other than CMP (SDM Vol. 2A LOCK).
function lockable(i: Insn, h: Handler): Handler | undefined {
  if (i.lock && (i.mod === 3 || i.imm2 === CMP)) return undefined;
  return h;
}

for (let op = 0; op < 8; op++) {
  const base = op * 8;
  const n = NAMES[op];
  def(base + 0, { name: `${n} Eb,Gb`, modrm: true, imm: Imm.None, byte: true, lockable: op !== CMP, pick: (i) => { i.imm2 = op; return lockable(i, bySize(i, E_G_R, E_G_M)); } });
  def(base + 1, { name: `${n} Ev,Gv`, modrm: true, imm: Imm.None, lockable: op !== CMP, pick: (i) => { i.imm2 = op; return lockable(i, bySize(i, E_G_R, E_G_M)); } });
  def(base + 2, { name: `${n} Gb,Eb`, modrm: true, imm: Imm.None, byte: true, pick: (i) => { i.imm2 = op; return i.lock ? undefined : bySize(i, G_E_R, G_E_M); } });
  def(base + 3, { name: `${n} Gv,Ev`, modrm: true, imm: Imm.None, pick: (i) => { i.imm2 = op; return i.lock ? undefined : bySize(i, G_E_R, G_E_M); } });
  // AL,Ib and rAX,Iz: treat as E,I with rm = 0 in register form.
  def(base + 4, { name: `${n} AL,Ib`, modrm: false, imm: Imm.Ib, byte: true, pick: (i) => { i.imm2 = op; i.mod = 3; i.rm = 0; return i.lock ? undefined : bySize(i, E_I_R, E_I_M); } });
  def(base + 5, { name: `${n} rAX,Iz`, modrm: false, imm: Imm.Iz, pick: (i) => { i.imm2 = op; i.mod = 3; i.rm = 0; return i.lock ? undefined : bySize(i, E_I_R, E_I_M); } });
}

// Group 1: 80 Eb,Ib; 81 Ev,Iz; 82 Eb,Ib (invalid in 64-bit mode); 83 Ev,Ib sign-extended.
const grp1 = (i: Insn) => { i.imm2 = i.reg & 7; return lockable(i, bySize(i, E_I_R, E_I_M)); };
def(0x80, { name: 'grp1 Eb,Ib', modrm: true, lockable: true, imm: Imm.Ib, byte: true, pick: grp1 });
def(0x81, { name: 'grp1 Ev,Iz', modrm: true, lockable: true, imm: Imm.Iz, pick: grp1 });
def(0x82, { name: 'grp1 Eb,Ib', modrm: true, lockable: true, imm: Imm.Ib, byte: true, i64: true, pick: grp1 });
def(0x83, { name: 'grp1 Ev,Ib', modrm: true, lockable: true, imm: Imm.Ib, pick: grp1 });

// ---- TEST (AND without writing the result) ----
const testR: Handler = (c, i) => {
  switch (i.opSize) {
    case 8: aluSmall(c, AND, 0, get8(c, i.rm), i.imm2 < 0 ? i.imm : get8(c, i.reg)); return;
    case 16: aluSmall(c, AND, 1, c.rl[i.rm], i.imm2 < 0 ? i.imm : c.rl[i.reg]); return;
    case 32: alu32(c, AND, c.rl[i.rm], i.imm2 < 0 ? i.imm : c.rl[i.reg]); return;
    default: alu64(c, AND, c.rl[i.rm], c.rh[i.rm], i.imm2 < 0 ? i.imm : c.rl[i.reg], i.imm2 < 0 ? i.imm >> 31 : c.rh[i.reg]);
  }
};
const testM: Handler = (c, i) => {
  const a = i.ea(c, i);
  switch (i.opSize) {
    case 8: aluSmall(c, AND, 0, rd8(c, a), i.imm2 < 0 ? i.imm : get8(c, i.reg)); return;
    case 16: aluSmall(c, AND, 1, rd16(c, a), i.imm2 < 0 ? i.imm : c.rl[i.reg]); return;
    case 32: alu32(c, AND, rd32(c, a), i.imm2 < 0 ? i.imm : c.rl[i.reg]); return;
    default: { const lo = rd64(c, a); alu64(c, AND, lo, c.tmpHi, i.imm2 < 0 ? i.imm : c.rl[i.reg], i.imm2 < 0 ? i.imm >> 31 : c.rh[i.reg]); }
  }
};
// imm2 = -1 marks the immediate form.
def(0x84, { name: 'test Eb,Gb', modrm: true, imm: Imm.None, byte: true, pick: (i) => { i.imm2 = 0; return i.lock ? undefined : i.mod === 3 ? testR : testM; } });
def(0x85, { name: 'test Ev,Gv', modrm: true, imm: Imm.None, pick: (i) => { i.imm2 = 0; return i.lock ? undefined : i.mod === 3 ? testR : testM; } });
def(0xa8, { name: 'test AL,Ib', modrm: false, imm: Imm.Ib, byte: true, pick: (i) => { i.imm2 = -1; i.mod = 3; i.rm = 0; return testR; } });
def(0xa9, { name: 'test rAX,Iz', modrm: false, imm: Imm.Iz, pick: (i) => { i.imm2 = -1; i.mod = 3; i.rm = 0; return testR; } });

// ---- INC / DEC: CF is preserved (SDM Vol. 2A INC) ----
function incdec(c: Cpu, dec: boolean, size: number, a: number, aH: number): number {
  c.lfCf = getCF(c);
  const k = dec ? K_DEC : K_INC;
  if (size === 64) {
    const lo = (a >>> 0) + (dec ? -1 : 1);
    const rL = lo | 0, rH = (aH + (lo > 0xffffffff ? 1 : lo < 0 ? -1 : 0)) | 0;
    c.lfOp = k * 4 + 3; c.lfRes = rL; c.lfResH = rH; c.lfA = a; c.lfAH = aH; c.lfB = 1; c.lfBH = 0;
    c.tmpHi = rH;
    return rL;
  }
  const s = size === 8 ? 0 : size === 16 ? 1 : 2;
  const m = size === 8 ? 0xff : size === 16 ? 0xffff : -1;
  a &= m;
  const r = ((dec ? a - 1 : a + 1) & m) | 0;
  c.lfOp = k * 4 + s; c.lfRes = r; c.lfA = a; c.lfB = 1;
  return r;
}
const incdecR: Handler = (c, i) => {
  const dec = i.imm2 === 1;
  switch (i.opSize) {
    case 8: set8(c, i.rm, incdec(c, dec, 8, get8(c, i.rm), 0)); return;
    case 16: set16(c, i.rm, incdec(c, dec, 16, c.rl[i.rm], 0)); return;
    case 32: set32(c, i.rm, incdec(c, dec, 32, c.rl[i.rm], 0)); return;
    default: { const r = incdec(c, dec, 64, c.rl[i.rm], c.rh[i.rm]); c.rl[i.rm] = r; c.rh[i.rm] = c.tmpHi; }
  }
};
const incdecM: Handler = (c, i) => {
  const dec = i.imm2 === 1;
  const a = i.ea(c, i);
  switch (i.opSize) {
    case 8: wr8(c, a, incdec(c, dec, 8, rdRmw8(c, a), 0)); return;
    case 16: wr16(c, a, incdec(c, dec, 16, rdRmw16(c, a), 0)); return;
    case 32: wr32(c, a, incdec(c, dec, 32, rdRmw32(c, a), 0)); return;
    default: { const lo = rdRmw64(c, a); const r = incdec(c, dec, 64, lo, c.tmpHi); wr64(c, a, r, c.tmpHi); }
  }
};
/** Decode-time choice for INC/DEC (ModRM.reg 0/1 of FE/FF, also used by control.ts for FF). */
export function pickIncDec(i: Insn): Handler | undefined {
  i.imm2 = i.reg & 7;
  if (i.lock && i.mod === 3) return undefined;
  return i.mod === 3 ? incdecR : incdecM;
}
// 40-4F: INC/DEC r16/r32 outside 64-bit mode (in 64-bit mode these bytes are REX prefixes).
for (let r = 0; r < 8; r++) {
  def(0x40 + r, { name: 'inc r', modrm: false, imm: Imm.None, i64: true, pick: (i) => { i.imm2 = 0; i.mod = 3; i.rm = r; return i.lock ? undefined : incdecR; } });
  def(0x48 + r, { name: 'dec r', modrm: false, imm: Imm.None, i64: true, pick: (i) => { i.imm2 = 1; i.mod = 3; i.rm = r; return i.lock ? undefined : incdecR; } });
}
def(0xfe, { name: 'grp4 Eb', modrm: true, lockable: true, imm: Imm.None, byte: true, pick: (i) => ((i.reg & 7) < 2 ? pickIncDec(i) : undefined) });

// ---- NOT / NEG (group 3, ModRM.reg 2 and 3) ----
const notneg: Handler = (c, i) => {
  const neg = i.imm2 === 3;
  const size = i.opSize;
  const a = i.mod === 3 ? NaN : i.ea(c, i);
  let lo: number, hi = 0;
  if (i.mod === 3) {
    if (size === 8) lo = get8(c, i.rm); else { lo = c.rl[i.rm]; hi = c.rh[i.rm]; }
  } else {
    lo = size === 8 ? rdRmw8(c, a) : size === 16 ? rdRmw16(c, a) : size === 32 ? rdRmw32(c, a) : rdRmw64(c, a);
    if (size === 64) hi = c.tmpHi;
  }
  let rL: number, rH = 0;
  if (!neg) { rL = ~lo; rH = ~hi; }
  else if (size === 64) { rL = alu64(c, SUB, 0, 0, lo, hi); rH = c.tmpHi; }
  else if (size === 32) rL = alu32(c, SUB, 0, lo);
  else rL = aluSmall(c, SUB, size === 8 ? 0 : 1, 0, lo);
  if (i.mod === 3) {
    switch (size) {
      case 8: set8(c, i.rm, rL); break;
      case 16: set16(c, i.rm, rL); break;
      case 32: set32(c, i.rm, rL); break;
      default: c.rl[i.rm] = rL; c.rh[i.rm] = rH;
    }
  } else {
    switch (size) {
      case 8: wr8(c, a, rL); break;
      case 16: wr16(c, a, rL); break;
      case 32: wr32(c, a, rL); break;
      default: wr64(c, a, rL, rH);
    }
  }
};

function grp3(i: Insn): Handler | undefined {
  const r = i.reg & 7;
  if (r < 2) { i.imm2 = -1; return i.lock ? undefined : i.mod === 3 ? testR : testM; }
  if (r < 4) { i.imm2 = r; return i.lock && i.mod === 3 ? undefined : notneg; }
  return i.lock ? undefined : pickMulDiv(i);
}
def(0xf6, { name: 'grp3 Eb', modrm: true, lockable: true, imm: Imm.Grp3, byte: true, pick: grp3 });
def(0xf7, { name: 'grp3 Ev', modrm: true, lockable: true, imm: Imm.Grp3, pick: grp3 });

