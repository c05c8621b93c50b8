// CMPXCHG (0F B0/B1), XADD (0F C0/C1), CMPXCHG8B/CMPXCHG16B (0F C7 /1) — SDM Vol. 2A "CMPXCHG",
// "CMPXCHG8B/CMPXCHG16B", Vol. 2B "XADD". The emulated CPU executes one instruction at a time, so
// every read-modify-write here is atomic; LOCK is accepted on the memory forms and #UD on register
// forms (SDM Vol. 2A "LOCK").
//
// Behaviour beyond the SDM text, as the Intel host (Ice Lake-class Xeon) does, measured natively:
//  - CMPXCHG with a memory destination always writes it (the old value when the comparison fails,
//    SDM: "the destination operand receives a write cycle without regard to the result").
//  - CMPXCHG with a register destination writes it only when the comparison succeeds: on failure a
//    32-bit destination register keeps its upper half; the accumulator is loaded (EAX zero-extends).
//    On success the accumulator is not written (RAX keeps its upper half).
//  - CMPXCHG8B on failure loads EDX:EAX (zero-extending into RDX/RAX in 64-bit mode); only ZF changes.
// Group 9 (0F C7) also holds RDRAND/RDSEED/RDPID and the VMX instructions VMPTRLD/VMPTRST/VMCLEAR/
// VMXON; other families register them through `registerGroup9`.
import type { Cpu } from '../state.ts';
import { RAX, RCX, RDX, RBX, ZF } from '../state.ts';
import type { Insn, Handler } from '../insn.ts';
import { def, Imm } from '../decoder.ts';
import { K_ADD, K_SUB, setArith, getArith } from '../flags.ts';
import { get8, set8, set16, set32 } from '../regs.ts';
import { rd8, rd16, rd32, rd64, wr8, wr16, wr32, wr64, rdRmw8, rdRmw16, rdRmw32, rdRmw64 } from '../memaccess.ts';
import { gp0 } from '../fault.ts';

// ---------------------------------------------------------------- lazy flags (as CMP / ADD)
function cmpFlags(c: Cpu, s: number, a: number, b: number, r: number): void {
  c.lfOp = K_SUB * 4 + s; c.lfA = a; c.lfB = b; c.lfRes = r;
}
function cmpFlags64(c: Cpu, aL: number, aH: number, bL: number, bH: number): boolean {
  const lo = (aL >>> 0) - (bL >>> 0);
  const rL = lo | 0, rH = (aH - bH - (lo < 0 ? 1 : 0)) | 0;
  c.lfOp = K_SUB * 4 + 3; c.lfA = aL; c.lfAH = aH; c.lfB = bL; c.lfBH = bH; c.lfRes = rL; c.lfResH = rH;
  return (rL | rH) === 0;
}

// ---------------------------------------------------------------- CMPXCHG
// Each core compares the accumulator with the destination value `d`, sets the flags, and returns
// true when equal; the handler does the writes.
function cx8(c: Cpu, d: number): boolean {
  const a = c.rl[RAX] & 0xff;
  const r = (a - d) & 0xff;
  cmpFlags(c, 0, a, d, r);
  return r === 0;
}
function cx16(c: Cpu, d: number): boolean {
  const a = c.rl[RAX] & 0xffff;
  const r = (a - d) & 0xffff;
  cmpFlags(c, 1, a, d, r);
  return r === 0;
}
function cx32(c: Cpu, d: number): boolean {
  const a = c.rl[RAX];
  const r = (a - d) | 0;
  cmpFlags(c, 2, a, d, r);
  return r === 0;
}

type H = Handler;
const CMPXCHG_R: H[] = [
  (c, i) => { const d = get8(c, i.rm); if (cx8(c, d)) set8(c, i.rm, get8(c, i.reg)); else set8(c, RAX, d); },
  (c, i) => { const d = c.rl[i.rm] & 0xffff; if (cx16(c, d)) set16(c, i.rm, c.rl[i.reg]); else set16(c, RAX, d); },
  (c, i) => { const d = c.rl[i.rm]; if (cx32(c, d)) set32(c, i.rm, c.rl[i.reg]); else set32(c, RAX, d); },
  (c, i) => {
    const dL = c.rl[i.rm], dH = c.rh[i.rm];
    if (cmpFlags64(c, c.rl[RAX], c.rh[RAX], dL, dH)) { c.rl[i.rm] = c.rl[i.reg]; c.rh[i.rm] = c.rh[i.reg]; }
    else { c.rl[RAX] = dL; c.rh[RAX] = dH; }
  },
];
const CMPXCHG_M: H[] = [
  (c, i) => {
    const a = i.ea(c, i); const d = rdRmw8(c, a);
    if (cx8(c, d)) wr8(c, a, get8(c, i.reg)); else { wr8(c, a, d); set8(c, RAX, d); }
  },
  (c, i) => {
    const a = i.ea(c, i); const d = rdRmw16(c, a);
    if (cx16(c, d)) wr16(c, a, c.rl[i.reg]); else { wr16(c, a, d); set16(c, RAX, d); }
  },
  (c, i) => {
    const a = i.ea(c, i); const d = rdRmw32(c, a);
    if (cx32(c, d)) wr32(c, a, c.rl[i.reg]); else { wr32(c, a, d); set32(c, RAX, d); }
  },
  (c, i) => {
    const a = i.ea(c, i); const dL = rdRmw64(c, a), dH = c.tmpHi;
    if (cmpFlags64(c, c.rl[RAX], c.rh[RAX], dL, dH)) wr64(c, a, c.rl[i.reg], c.rh[i.reg]);
    else { wr64(c, a, dL, dH); c.rl[RAX] = dL; c.rh[RAX] = dH; }
  },
];

// ---------------------------------------------------------------- XADD
// TEMP = SRC + DEST; SRC = DEST; DEST = TEMP (the destination is written last, so `xadd r, r`
// leaves the sum). Memory: the memory write happens before the register write.
function add8(c: Cpu, d: number, s: number): number {
  const r = (d + s) & 0xff;
  c.lfOp = K_ADD * 4; c.lfA = d; c.lfB = s; c.lfRes = r;
  return r;
}
function add16(c: Cpu, d: number, s: number): number {
  const r = (d + s) & 0xffff;
  c.lfOp = K_ADD * 4 + 1; c.lfA = d; c.lfB = s; c.lfRes = r;
  return r;
}
function add32(c: Cpu, d: number, s: number): number {
  const r = (d + s) | 0;
  c.lfOp = K_ADD * 4 + 2; c.lfA = d; c.lfB = s; c.lfRes = r;
  return r;
}
/** Returns the low half; the high half in c.tmpHi. */
function add64(c: Cpu, dL: number, dH: number, sL: number, sH: number): number {
  const lo = (dL >>> 0) + (sL >>> 0);
  const rL = lo | 0, rH = (dH + sH + (lo > 0xffffffff ? 1 : 0)) | 0;
  c.lfOp = K_ADD * 4 + 3; c.lfA = dL; c.lfAH = dH; c.lfB = sL; c.lfBH = sH; c.lfRes = rL; c.lfResH = rH;
  c.tmpHi = rH;
  return rL;
}

const XADD_R: H[] = [
  (c, i) => { const d = get8(c, i.rm), s = get8(c, i.reg); const r = add8(c, d, s); set8(c, i.reg, d); set8(c, i.rm, r); },
  (c, i) => { const d = c.rl[i.rm] & 0xffff, s = c.rl[i.reg] & 0xffff; const r = add16(c, d, s); set16(c, i.reg, d); set16(c, i.rm, r); },
  (c, i) => { const d = c.rl[i.rm], s = c.rl[i.reg]; const r = add32(c, d, s); set32(c, i.reg, d); set32(c, i.rm, r); },
  (c, i) => {
    const dL = c.rl[i.rm], dH = c.rh[i.rm];
    const rL = add64(c, dL, dH, c.rl[i.reg], c.rh[i.reg]), rH = c.tmpHi;
    c.rl[i.reg] = dL; c.rh[i.reg] = dH;
    c.rl[i.rm] = rL; c.rh[i.rm] = rH;
  },
];
const XADD_M: H[] = [
  (c, i) => { const a = i.ea(c, i); const d = rdRmw8(c, a); wr8(c, a, add8(c, d, get8(c, i.reg))); set8(c, i.reg, d); },
  (c, i) => { const a = i.ea(c, i); const d = rdRmw16(c, a); wr16(c, a, add16(c, d, c.rl[i.reg] & 0xffff)); set16(c, i.reg, d); },
  (c, i) => { const a = i.ea(c, i); const d = rdRmw32(c, a); wr32(c, a, add32(c, d, c.rl[i.reg])); set32(c, i.reg, d); },
  (c, i) => {
    const a = i.ea(c, i); const dL = rdRmw64(c, a), dH = c.tmpHi;
    const rL = add64(c, dL, dH, c.rl[i.reg], c.rh[i.reg]);
    wr64(c, a, rL, c.tmpHi);
    c.rl[i.reg] = dL; c.rh[i.reg] = dH;
  },
];

function sizeIdx(size: number): number { return size === 8 ? 0 : size === 16 ? 1 : size === 32 ? 2 : 3; }
function pickRmw(r: H[], m: H[]) {
  return (i: Insn): Handler | undefined => {
    if (i.mod === 3) return i.lock ? undefined : r[sizeIdx(i.opSize)];
    return m[sizeIdx(i.opSize)];
  };
}
def(0x1b0, { name: 'cmpxchg Eb,Gb', modrm: true, lockable: true, imm: Imm.None, byte: true, pick: pickRmw(CMPXCHG_R, CMPXCHG_M) });
def(0x1b1, { name: 'cmpxchg Ev,Gv', modrm: true, lockable: true, imm: Imm.None, pick: pickRmw(CMPXCHG_R, CMPXCHG_M) });
def(0x1c0, { name: 'xadd Eb,Gb', modrm: true, lockable: true, imm: Imm.None, byte: true, pick: pickRmw(XADD_R, XADD_M) });
def(0x1c1, { name: 'xadd Ev,Gv', modrm: true, lockable: true, imm: Imm.None, pick: pickRmw(XADD_R, XADD_M) });

// ---------------------------------------------------------------- CMPXCHG8B / CMPXCHG16B
/** ZF = eq; CF, PF, AF, SF, OF unchanged. */
function setZfOnly(c: Cpu, eq: boolean): void {
  setArith(c, (getArith(c) & ~ZF) | (eq ? ZF : 0));
}

const cmpxchg8b: Handler = (c, i) => {
  const a = i.ea(c, i);
  const mL = rdRmw64(c, a), mH = c.tmpHi;
  const eq = mL === c.rl[RAX] && mH === c.rl[RDX];
  if (eq) wr64(c, a, c.rl[RBX], c.rl[RCX]);
  else wr64(c, a, mL, mH);
  setZfOnly(c, eq);
  if (!eq) { set32(c, RAX, mL); set32(c, RDX, mH); }
};

const cmpxchg16b: Handler = (c, i) => {
  const a = i.ea(c, i);
  if (a % 16 !== 0) gp0(c); // the operand must be 16-byte aligned (#GP(0), SDM "CMPXCHG16B")
  const m0 = rdRmw64(c, a), m1 = c.tmpHi;
  const m2 = rd64(c, a + 8), m3 = c.tmpHi;
  const eq = m0 === c.rl[RAX] && m1 === c.rh[RAX] && m2 === c.rl[RDX] && m3 === c.rh[RDX];
  // An aligned 16-byte operand lies within one page (and one SPP sub-page), so if the first
  // 8-byte write succeeds the second does too.
  if (eq) { wr64(c, a, c.rl[RBX], c.rh[RBX]); wr64(c, a + 8, c.rl[RCX], c.rh[RCX]); }
  else { wr64(c, a, m0, m1); wr64(c, a + 8, m2, m3); }
  setZfOnly(c, eq);
  if (!eq) { c.rl[RAX] = m0; c.rh[RAX] = m1; c.rl[RDX] = m2; c.rh[RDX] = m3; }
};

type Pick = (i: Insn) => Handler | undefined;
const group9: (Pick | undefined)[] = new Array(8);

/**
 * Register the decode-time pick for 0F C7 /reg (reg 0-7, except 1 which is CMPXCHG8B/16B here) —
 * for RDRAND (/6 reg), RDSEED and RDPID (/7 reg), VMPTRLD/VMCLEAR/VMXON (/6 mem), VMPTRST (/7 mem), …
 * The pick sees the whole instruction (prefixes, mod) and returns undefined for #UD.
 */
export function registerGroup9(reg: number, pick: Pick): void {
  if (reg === 1) throw new Error('0F C7 /1 is CMPXCHG8B/CMPXCHG16B (ops/atomic.ts)');
  if (group9[reg]) throw new Error(`0F C7 /${reg} registered twice`);
  group9[reg] = pick;
}

def(0x1c7, {
  name: 'grp9', modrm: true, imm: Imm.None, lockable: true,
  pick: (i) => {
    const r = i.reg & 7;
    if (i.lock && r !== 1) return undefined; // only CMPXCHG8B/16B can be locked
    if (r === 1) {
      if (i.mod === 3) return undefined; // register operand: #UD
      return i.opSize === 64 ? cmpxchg16b : cmpxchg8b; // REX.W selects CMPXCHG16B
    }
    const p = group9[r];
    return p === undefined ? undefined : p(i);
  },
});
