// Data movement: MOV (all forms), LEA, MOVZX/MOVSX/MOVSXD, XCHG, CBW/CWD families, CMOVcc, SETcc,
// SAHF/LAHF, XLAT, BSWAP and the hint NOPs (SDM Vol. 2A/2B).
import { Cpu, SS, CS, FS, GS, MODE_LONG64 } from '../state.ts';
import type { Insn, Handler } from '../insn.ts';
import { def, Imm } from '../decoder.ts';
import { get8, set8, set16, set32 } from '../regs.ts';
import { rd8, rd16, rd32, rd64, wr8, wr16, wr32, wr64, rdRmw8, rdRmw16, rdRmw32, rdRmw64 } from '../memaccess.ts';
import { cond, getArith, setArith } from '../flags.ts';
import { loadDataSeg } from '../segments.ts';
import { gp0 } from '../fault.ts';
import { readE, writeE } from './operands.ts';

const TWO32 = 4294967296;

// ---- MOV r/m, r and r, r/m (88-8B) ----
const movEbGb_r: Handler = (c, i) => set8(c, i.rm, get8(c, i.reg));
const movEbGb_m: Handler = (c, i) => wr8(c, i.ea(c, i), get8(c, i.reg));
const movGbEb_r: Handler = (c, i) => set8(c, i.reg, get8(c, i.rm));
const movGbEb_m: Handler = (c, i) => set8(c, i.reg, rd8(c, i.ea(c, i)));
const movEwGw_r: Handler = (c, i) => set16(c, i.rm, c.rl[i.reg]);
const movEwGw_m: Handler = (c, i) => wr16(c, i.ea(c, i), c.rl[i.reg]);
const movGwEw_r: Handler = (c, i) => set16(c, i.reg, c.rl[i.rm]);
const movGwEw_m: Handler = (c, i) => set16(c, i.reg, rd16(c, i.ea(c, i)));
const movEdGd_r: Handler = (c, i) => { c.rl[i.rm] = c.rl[i.reg]; c.rh[i.rm] = 0; };
const movEdGd_m: Handler = (c, i) => wr32(c, i.ea(c, i), c.rl[i.reg]);
const movGdEd_r: Handler = (c, i) => { c.rl[i.reg] = c.rl[i.rm]; c.rh[i.reg] = 0; };
const movGdEd_m: Handler = (c, i) => { c.rl[i.reg] = rd32(c, i.ea(c, i)); c.rh[i.reg] = 0; };
const movEqGq_r: Handler = (c, i) => { c.rl[i.rm] = c.rl[i.reg]; c.rh[i.rm] = c.rh[i.reg]; };
const movEqGq_m: Handler = (c, i) => wr64(c, i.ea(c, i), c.rl[i.reg], c.rh[i.reg]);
const movGqEq_r: Handler = (c, i) => { c.rl[i.reg] = c.rl[i.rm]; c.rh[i.reg] = c.rh[i.rm]; };
const movGqEq_m: Handler = (c, i) => { c.rl[i.reg] = rd64(c, i.ea(c, i)); c.rh[i.reg] = c.tmpHi; };

function sized(i: Insn, r: Handler[], m: Handler[]): Handler | undefined {
  if (i.lock) return undefined;
  const k = i.opSize === 8 ? 0 : i.opSize === 16 ? 1 : i.opSize === 32 ? 2 : 3;
  return i.mod === 3 ? r[k] : m[k];
}
def(0x88, { name: 'mov Eb,Gb', modrm: true, imm: Imm.None, byte: true, pick: (i) => sized(i, [movEbGb_r], [movEbGb_m]) });
def(0x89, { name: 'mov Ev,Gv', modrm: true, imm: Imm.None, pick: (i) => sized(i, [movEbGb_r, movEwGw_r, movEdGd_r, movEqGq_r], [movEbGb_m, movEwGw_m, movEdGd_m, movEqGq_m]) });
def(0x8a, { name: 'mov Gb,Eb', modrm: true, imm: Imm.None, byte: true, pick: (i) => sized(i, [movGbEb_r], [movGbEb_m]) });
def(0x8b, { name: 'mov Gv,Ev', modrm: true, imm: Imm.None, pick: (i) => sized(i, [movGbEb_r, movGwEw_r, movGdEd_r, movGqEq_r], [movGbEb_m, movGwEw_m, movGdEd_m, movGqEq_m]) });

// ---- MOV r, imm (B0-BF) and MOV r/m, imm (C6/C7) ----
const movRIb: Handler = (c, i) => set8(c, i.rm, i.imm);
const movRIw: Handler = (c, i) => set16(c, i.rm, i.imm);
const movRId: Handler = (c, i) => { c.rl[i.rm] = i.imm; c.rh[i.rm] = 0; };
const movRIq: Handler = (c, i) => { c.rl[i.rm] = i.imm; c.rh[i.rm] = i.immHi; };
for (let r = 0; r < 8; r++) {
  def(0xb0 + r, { name: 'mov r8,Ib', modrm: false, imm: Imm.Ib, byte: true, pick: (i) => { i.rm = i.rex ? r | ((i.rex & 1) << 3) : (r >= 4 ? r + 16 : r); return i.lock ? undefined : movRIb; } });
  def(0xb8 + r, { name: 'mov r,Iv', modrm: false, imm: Imm.Iv, pick: (i) => { i.rm = r | ((i.rex & 1) << 3); return i.lock ? undefined : i.opSize === 16 ? movRIw : i.opSize === 32 ? movRId : movRIq; } });
}
const movEI_m: Handler = (c, i) => {
  const a = i.ea(c, i);
  switch (i.opSize) {
    case 8: wr8(c, a, i.imm); return;
    case 16: wr16(c, a, i.imm); return;
    case 32: wr32(c, a, i.imm); return;
    default: wr64(c, a, i.imm, i.imm >> 31);
  }
};
const movEIq_r: Handler = (c, i) => { c.rl[i.rm] = i.imm; c.rh[i.rm] = i.imm >> 31; };
def(0xc6, { name: 'mov Eb,Ib', modrm: true, imm: Imm.Ib, byte: true, pick: (i) => ((i.reg & 7) !== 0 || i.lock ? undefined : i.mod === 3 ? movRIb : movEI_m) });
def(0xc7, { name: 'mov Ev,Iz', modrm: true, imm: Imm.Iz, pick: (i) => ((i.reg & 7) !== 0 || i.lock ? undefined : i.mod === 3 ? (i.opSize === 16 ? movRIw : i.opSize === 32 ? movRId : movEIq_r) : movEI_m) });

// ---- MOV with moffs (A0-A3): the offset is an address-size immediate ----
function moffsLinear(c: Cpu, i: Insn): number {
  if (c.mode === MODE_LONG64) {
    let off = i.addrSize === 64 ? i.immHi * TWO32 + (i.imm >>> 0) : i.imm >>> 0;
    if (i.seg >= 4) off += c.segBase[i.seg];
    if (off < -140737488355328 || off >= 140737488355328) gp0(c); // non-canonical (SDM Vol. 2B MOV, 64-bit mode exceptions)
    return off;
  }
  return (i.imm + c.segBase[i.seg]) % TWO32;
}
const movALOb: Handler = (c, i) => { const a = moffsLinear(c, i); writeReg0(c, i.opSize, a); };
function writeReg0(c: Cpu, size: number, a: number): void {
  switch (size) {
    case 8: set8(c, 0, rd8(c, a)); return;
    case 16: set16(c, 0, rd16(c, a)); return;
    case 32: set32(c, 0, rd32(c, a)); return;
    default: c.rl[0] = rd64(c, a); c.rh[0] = c.tmpHi;
  }
}
const movObAL: Handler = (c, i) => {
  const a = moffsLinear(c, i);
  switch (i.opSize) {
    case 8: wr8(c, a, c.rl[0]); return;
    case 16: wr16(c, a, c.rl[0]); return;
    case 32: wr32(c, a, c.rl[0]); return;
    default: wr64(c, a, c.rl[0], c.rh[0]);
  }
};
def(0xa0, { name: 'mov AL,Ob', modrm: false, imm: Imm.Moffs, byte: true, pick: (i) => (i.lock ? undefined : movALOb) });
def(0xa1, { name: 'mov rAX,Ov', modrm: false, imm: Imm.Moffs, pick: (i) => (i.lock ? undefined : movALOb) });
def(0xa2, { name: 'mov Ob,AL', modrm: false, imm: Imm.Moffs, byte: true, pick: (i) => (i.lock ? undefined : movObAL) });
def(0xa3, { name: 'mov Ov,rAX', modrm: false, imm: Imm.Moffs, pick: (i) => (i.lock ? undefined : movObAL) });

// ---- MOV Sreg (8C, 8E) ----
const movEwSw: Handler = (c, i) => {
  const v = c.segSel[i.reg & 7];
  if (i.mod === 3) {
    // Register destination: zero-extended to 32/64 bits, 16-bit form writes only the low word.
    if (i.opSize === 16) set16(c, i.rm, v); else { c.rl[i.rm] = v; c.rh[i.rm] = 0; }
  } else wr16(c, i.ea(c, i), v);
};
const movSwEw: Handler = (c, i) => {
  const s = i.reg & 7;
  const v = i.mod === 3 ? c.rl[i.rm] & 0xffff : rd16(c, i.ea(c, i));
  loadDataSeg(c, s, v);
  if (s === SS) { c.inhibitUntil = c.ssShadowUntil = c.icount + 2; c.checkEvents = true; } // SDM Vol. 3A 6.8.3
};
def(0x8c, { name: 'mov Ev,Sw', modrm: true, imm: Imm.None, pick: (i) => ((i.reg & 7) > 5 || i.lock ? undefined : movEwSw) });
def(0x8e, { name: 'mov Sw,Ew', modrm: true, imm: Imm.None, pick: (i) => ((i.reg & 7) > 5 || (i.reg & 7) === CS || i.lock ? undefined : movSwEw) });

// ---- LSS, LFS, LGS (0F B2, 0F B4, 0F B5): load a far pointer m16:16/32/64 — the offset (operand
// size) then the selector — into SS/FS/GS and a general register; memory operand only (SDM Vol. 2A
// LDS/LES/LFS/LGS/LSS). The segment is loaded first, so a faulting load leaves the register as it was.
const lsegH: Handler = (c, i) => {
  const a = i.ea(c, i);
  let lo: number, hi = 0;
  if (i.opSize === 64) { lo = rd64(c, a); hi = c.tmpHi; }
  else lo = i.opSize === 32 ? rd32(c, a) : rd16(c, a);
  const sel = rd16(c, a + (i.opSize >> 3));
  loadDataSeg(c, i.imm2, sel);
  if (i.opSize === 16) set16(c, i.reg, lo);
  else { c.rl[i.reg] = lo; c.rh[i.reg] = hi; }
};
for (const [op, seg, n] of [[0x1b2, SS, 'lss'], [0x1b4, FS, 'lfs'], [0x1b5, GS, 'lgs']] as [number, number, string][]) {
  def(op, { name: `${n} Gv,Mp`, modrm: true, imm: Imm.None, pick: (i) => { i.imm2 = seg; return i.mod === 3 ? undefined : lsegH; } });
}

// ---- LEA: the offset only, no segment base (SDM Vol. 2A LEA) ----
const lea: Handler = (c, i) => {
  let lo = i.disp, hi = i.disp < 0 ? -1 : 0;
  if (i.base === 16) { // RIP-relative
    const v = c.nextRip + i.disp;
    lo = v % TWO32; hi = Math.floor(v / TWO32);
  } else {
    if (i.base >= 0) {
      const bl = (lo >>> 0) + (c.rl[i.base] >>> 0);
      hi = hi + c.rh[i.base] + (bl >= TWO32 ? 1 : 0);
      lo = bl;
    }
    if (i.index >= 0) {
      const s = i.scale;
      const xl = c.rl[i.index] >>> 0;
      const xh = s === 0 ? c.rh[i.index] : (c.rh[i.index] << s) | (xl >>> (32 - s));
      const sl = (lo >>> 0) + ((xl << s) >>> 0);
      hi = hi + xh + (sl >= TWO32 ? 1 : 0);
      lo = sl;
    }
  }
  if (i.addrSize === 16) lo &= 0xffff;
  if (i.addrSize !== 64) hi = 0;
  switch (i.opSize) {
    case 16: set16(c, i.reg, lo); return;
    case 32: set32(c, i.reg, lo | 0); return;
    default: c.rl[i.reg] = lo | 0; c.rh[i.reg] = hi | 0;
  }
};
def(0x8d, { name: 'lea Gv,M', modrm: true, imm: Imm.None, pick: (i) => (i.mod === 3 || i.lock ? undefined : lea) });

// ---- MOVZX / MOVSX / MOVSXD ----
const movzxb: Handler = (c, i) => { const v = i.mod === 3 ? get8(c, i.rm) : rd8(c, i.ea(c, i)); wrG(c, i, v, 0); };
const movzxw: Handler = (c, i) => { const v = i.mod === 3 ? c.rl[i.rm] & 0xffff : rd16(c, i.ea(c, i)); wrG(c, i, v, 0); };
const movsxb: Handler = (c, i) => { const v = (i.mod === 3 ? get8(c, i.rm) : rd8(c, i.ea(c, i))) << 24 >> 24; wrG(c, i, v, v >> 31); };
const movsxw: Handler = (c, i) => { const v = (i.mod === 3 ? c.rl[i.rm] : rd16(c, i.ea(c, i))) << 16 >> 16; wrG(c, i, v, v >> 31); };
const movsxd: Handler = (c, i) => { const v = i.mod === 3 ? c.rl[i.rm] : rd32(c, i.ea(c, i)); wrG(c, i, v, i.opSize === 64 ? v >> 31 : 0); };
function wrG(c: Cpu, i: Insn, lo: number, hi: number): void {
  if (i.opSize === 16) set16(c, i.reg, lo);
  else if (i.opSize === 32) set32(c, i.reg, lo);
  else { c.rl[i.reg] = lo; c.rh[i.reg] = hi; }
}
// The source of 0F B6/BE is a byte register: map ModRM.rm with the 8-bit encoding.
function byteSrc(i: Insn): void { if (i.mod === 3 && i.rex === 0 && i.rm >= 4 && i.rm < 8) i.rm += 16; }
def(0x1b6, { name: 'movzx Gv,Eb', modrm: true, imm: Imm.None, pick: (i) => { byteSrc(i); return i.lock ? undefined : movzxb; } });
def(0x1b7, { name: 'movzx Gv,Ew', modrm: true, imm: Imm.None, pick: (i) => (i.lock ? undefined : movzxw) });
def(0x1be, { name: 'movsx Gv,Eb', modrm: true, imm: Imm.None, pick: (i) => { byteSrc(i); return i.lock ? undefined : movsxb; } });
def(0x1bf, { name: 'movsx Gv,Ew', modrm: true, imm: Imm.None, pick: (i) => (i.lock ? undefined : movsxw) });
// 63: MOVSXD in 64-bit mode (ARPL in legacy modes is not implemented: #UD there).
def(0x63, { name: 'movsxd Gv,Ed', modrm: true, imm: Imm.None, o64: true, pick: (i) => (i.lock ? undefined : i.opSize === 16 ? movzxw : movsxd) });

// ---- CBW/CWDE/CDQE (98) and CWD/CDQ/CQO (99) ----
const cbw: Handler = (c, i) => {
  switch (i.opSize) {
    case 16: set16(c, 0, (c.rl[0] << 24) >> 24); return;
    case 32: set32(c, 0, (c.rl[0] << 16) >> 16); return;
    default: c.rh[0] = c.rl[0] >> 31;
  }
};
const cwd: Handler = (c, i) => {
  switch (i.opSize) {
    case 16: set16(c, 2, (c.rl[0] << 16) >> 31); return;
    case 32: set32(c, 2, c.rl[0] >> 31); return;
    default: { const s = c.rh[0] >> 31; c.rl[2] = s; c.rh[2] = s; }
  }
};
def(0x98, { name: 'cbw', modrm: false, imm: Imm.None, pick: (i) => (i.lock ? undefined : cbw) });
def(0x99, { name: 'cwd', modrm: false, imm: Imm.None, pick: (i) => (i.lock ? undefined : cwd) });

// ---- XCHG (86, 87, 90-97); memory forms are implicitly locked ----
const xchgE: Handler = (c, i) => {
  const size = i.opSize;
  if (i.mod === 3) {
    if (size === 8) { const a = get8(c, i.rm); set8(c, i.rm, get8(c, i.reg)); set8(c, i.reg, a); return; }
    const lo = c.rl[i.rm], hi = c.rh[i.rm];
    writeE(c, i, size, c.rl[i.reg], c.rh[i.reg]);
    if (size === 16) set16(c, i.reg, lo); else if (size === 32) set32(c, i.reg, lo); else { c.rl[i.reg] = lo; c.rh[i.reg] = hi; }
    return;
  }
  const a = i.ea(c, i);
  const lo = size === 8 ? rdRmw8(c, a) : size === 16 ? rdRmw16(c, a) : size === 32 ? rdRmw32(c, a) : rdRmw64(c, a);
  const hi = c.tmpHi;
  const rl = size === 8 ? get8(c, i.reg) : c.rl[i.reg];
  writeE(c, i, size, rl, c.rh[i.reg], a);
  if (size === 8) set8(c, i.reg, lo); else if (size === 16) set16(c, i.reg, lo); else if (size === 32) set32(c, i.reg, lo); else { c.rl[i.reg] = lo; c.rh[i.reg] = hi; }
};
def(0x86, { name: 'xchg Eb,Gb', modrm: true, lockable: true, imm: Imm.None, byte: true, pick: (i) => (i.lock && i.mod === 3 ? undefined : xchgE) });
def(0x87, { name: 'xchg Ev,Gv', modrm: true, lockable: true, imm: Imm.None, pick: (i) => (i.lock && i.mod === 3 ? undefined : xchgE) });
const nop: Handler = () => {};
const pause: Handler = () => {};
for (let r = 0; r < 8; r++) {
  def(0x90 + r, {
    name: r === 0 ? 'nop' : 'xchg r,rAX', modrm: false, imm: Imm.None,
    pick: (i) => {
      if (i.lock) return undefined;
      const reg = r | ((i.rex & 1) << 3);
      if (reg === 0) {
        // 90 is NOP (not xchg eax,eax, which would zero RAX[63:32]); F3 90 is PAUSE.
        i.name = i.rep === 0xf3 ? 'pause' : 'nop';
        return i.rep === 0xf3 ? pause : nop;
      }
      i.mod = 3; i.rm = reg; i.reg = 0;
      return xchgE;
    },
  });
}

// ---- SAHF / LAHF (SDM: valid in 64-bit mode when CPUID.80000001H:ECX.LAHF-SAHF = 1, which we report) ----
const sahf: Handler = (c) => setArith(c, (getArith(c) & 0x800) | ((c.rl[0] >> 8) & 0xd5));
const lahf: Handler = (c) => set8(c, 20, (getArith(c) & 0xd5) | 2);
def(0x9e, { name: 'sahf', modrm: false, imm: Imm.None, pick: (i) => (i.lock ? undefined : sahf) });
def(0x9f, { name: 'lahf', modrm: false, imm: Imm.None, pick: (i) => (i.lock ? undefined : lahf) });

// ---- XLAT: AL = [seg:rBX + zero-extended AL] ----
const xlat: Handler = (c, i) => {
  let a: number;
  const al = c.rl[0] & 0xff;
  if (i.addrSize === 64) {
    a = c.getReg64(3) + al + (i.seg >= 4 ? c.segBase[i.seg] : 0);
    if (a < -140737488355328 || a >= 140737488355328) gp0(c); // non-canonical (SDM Vol. 2B XLAT)
  } else if (i.addrSize === 32) {
    a = (((c.rl[3] + al) >>> 0) + (c.mode === MODE_LONG64 && i.seg < 4 ? 0 : c.segBase[i.seg])) % TWO32;
  } else a = (((c.rl[3] + al) & 0xffff) + c.segBase[i.seg]) % TWO32;
  set8(c, 0, rd8(c, a));
};
def(0xd7, { name: 'xlat', modrm: false, imm: Imm.None, pick: (i) => { i.seg = i.segOverride >= 0 ? i.segOverride : 3; return i.lock ? undefined : xlat; } });

// ---- CMOVcc (0F 40-4F): the source is always read; a 32-bit destination is zero-extended even if the condition is false ----
const cmov: Handler = (c, i) => {
  const lo = readE(c, i, i.opSize);
  const hi = c.tmpHi;
  const take = cond(c, i.imm2);
  switch (i.opSize) {
    case 16: if (take) set16(c, i.reg, lo); return;
    case 32: set32(c, i.reg, take ? lo : c.rl[i.reg]); return;
    default: if (take) { c.rl[i.reg] = lo; c.rh[i.reg] = hi; }
  }
};
// ---- SETcc (0F 90-9F) ----
const setccR: Handler = (c, i) => set8(c, i.rm, cond(c, i.imm2) ? 1 : 0);
const setccM: Handler = (c, i) => wr8(c, i.ea(c, i), cond(c, i.imm2) ? 1 : 0);
for (let cc = 0; cc < 16; cc++) {
  def(0x140 + cc, { name: 'cmovcc Gv,Ev', modrm: true, imm: Imm.None, pick: (i) => { i.imm2 = cc; return i.lock ? undefined : cmov; } });
  def(0x190 + cc, { name: 'setcc Eb', modrm: true, imm: Imm.None, byte: true, pick: (i) => { i.imm2 = cc; return i.lock ? undefined : i.mod === 3 ? setccR : setccM; } });
}

// ---- BSWAP (0F C8-CF). BSWAP of a 16-bit register is undefined (SDM); we zero the low word as observed on Intel parts. ----
function sw(v: number): number { return ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24); }
const bswap: Handler = (c, i) => {
  const r = i.rm;
  if (i.opSize === 64) { const lo = c.rl[r]; c.rl[r] = sw(c.rh[r]); c.rh[r] = sw(lo); }
  else if (i.opSize === 32) set32(c, r, sw(c.rl[r]));
  else set16(c, r, 0);
};
for (let r = 0; r < 8; r++) def(0x1c8 + r, { name: 'bswap r', modrm: false, imm: Imm.None, pick: (i) => { i.rm = r | ((i.rex & 1) << 3); return i.lock ? undefined : bswap; } });

// ---- hint NOPs with ModRM (0F 18-1F; 0F 1F /0 is the multi-byte NOP) ----
for (let op = 0x118; op <= 0x11f; op++) def(op, { name: 'nop Ev', modrm: true, imm: Imm.None, pick: (i) => (i.lock ? undefined : nop) });

