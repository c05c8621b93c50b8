// Descriptor-table instructions: SLDT, STR, LLDT, LTR, VERR, VERW (0F 00), SGDT, SIDT, LGDT, LIDT,
// SMSW, LMSW (0F 01 memory forms), LAR, LSL (0F 02/03) — SDM Vol. 2A/2B under each mnemonic,
// Vol. 3A 3.5 (system descriptor types), 7.2.4 (task register), 8.5 (IA-32e 16-byte descriptors).
// UMIP (CR4 bit 11) makes SGDT/SIDT/SLDT/SMSW/STR #GP(0) at CPL > 0 (SDM Vol. 3A 2.5).
import {
  Cpu, LDTR, TR, CR4_UMIP, CR0_PE, EFER_LMA, MODE_LONG64, VM, ZF,
} from '../state.ts';
import type { Insn, Handler } from '../insn.ts';
import { getArith, setArith } from '../flags.ts';
import { rd16, rd32, rd64, wr16, wr32, wr64, rdSys32, wrSys32 } from '../memaccess.ts';
import { raise, gp0, gp, ud, NP } from '../fault.ts';
import { descAttr, descBase, descLimit, A_S, A_P, T_CODE, T_CONFORMING, T_READ, T_WRITE } from '../segments.ts';
import { readE } from './operands.ts';
import { lmsw, readCr0 } from './sysregs.ts';

const TWO32 = 4294967296;
const CANON = 140737488355328;

function protectedOnly(c: Cpu): void {
  if ((c.cr0 & CR0_PE) === 0 || (c.flags & VM) !== 0) ud(c); // not recognized in real/V86 mode
}
function umip(c: Cpu): void { if ((c.cr4 & CR4_UMIP) !== 0 && c.cpl > 0) gp0(c); }
function needCpl0(c: Cpu): void { if (c.cpl !== 0) gp0(c); }

/** Store a 16-bit selector-like value: 16 bits to memory, zero-extended to a register. */
function store16(c: Cpu, i: Insn, v: number): void {
  if (i.mod !== 3) { wr16(c, i.ea(c, i), v); return; }
  if (i.opSize === 16) c.rl[i.rm] = (c.rl[i.rm] & ~0xffff) | (v & 0xffff);
  else { c.rl[i.rm] = v & 0xffff; c.rh[i.rm] = 0; }
}

// ---------------------------------------------------------------- descriptor lookup (no fault)

let dLo = 0, dHi = 0, dAddr = 0;

/** Read the descriptor for sel without faulting on table limits; false if null or outside. */
function peekDescriptor(c: Cpu, sel: number): boolean {
  if ((sel & 0xfffc) === 0) return false;
  const idx = sel & 0xfff8;
  let base: number, limit: number;
  if (sel & 4) {
    if ((c.segSel[LDTR] & 0xfffc) === 0) return false;
    base = c.segBase[LDTR]; limit = c.segLimit[LDTR];
  } else { base = c.gdtBase; limit = c.gdtLimit; }
  if (idx + 7 > limit) return false;
  dAddr = base + idx;
  dLo = rdSys32(c, dAddr);
  dHi = rdSys32(c, dAddr + 4);
  return true;
}

/**
 * Read a system descriptor that must be in the GDT (LLDT, LTR): #GP(sel) outside the table; in
 * IA-32e mode it is 16 bytes, bits 95:64 holding base 63:32 and the upper type field being 0.
 * Returns the base (64-bit as a sign-extended double).
 */
function readSystemDescriptor(c: Cpu, sel: number): number {
  const err = sel & 0xfffc;
  if (sel & 4) gp(c, err);
  const idx = sel & 0xfff8;
  const long = (c.efer & EFER_LMA) !== 0;
  if (idx + (long ? 15 : 7) > c.gdtLimit) gp(c, err);
  dAddr = c.gdtBase + idx;
  dLo = rdSys32(c, dAddr);
  dHi = rdSys32(c, dAddr + 4);
  let base = descBase(dLo, dHi);
  if (long) {
    const up = rdSys32(c, dAddr + 8);
    const up2 = rdSys32(c, dAddr + 12);
    if ((up2 >> 8) & 0x1f) gp(c, err);
    base = up * TWO32 + base;
    if (base < -CANON || base >= CANON) gp(c, err);
  }
  return base;
}

// ---------------------------------------------------------------- 0F 00 group 6

const sldt: Handler = (c, i) => { protectedOnly(c); umip(c); store16(c, i, c.segSel[LDTR]); };
const str: Handler = (c, i) => { protectedOnly(c); umip(c); store16(c, i, c.segSel[TR]); };

/** LLDT r/m16 (SDM Vol. 2A LLDT). A null selector marks LDTR unusable. */
const lldt: Handler = (c, i) => {
  protectedOnly(c); needCpl0(c);
  const sel = readE(c, i, 16) & 0xffff;
  if ((sel & 0xfffc) === 0) {
    c.segSel[LDTR] = sel; c.segAttr[LDTR] = 0; c.segLimit[LDTR] = 0; c.segBase[LDTR] = 0;
    return;
  }
  const base = readSystemDescriptor(c, sel);
  const attr = descAttr(dHi);
  if ((attr & A_S) !== 0 || (attr & 0xf) !== 2) gp(c, sel & 0xfffc);
  if ((attr & A_P) === 0) raise(c, NP, sel & 0xfffc);
  c.segSel[LDTR] = sel; c.segBase[LDTR] = base; c.segLimit[LDTR] = descLimit(dLo, dHi); c.segAttr[LDTR] = attr;
};

/** LTR r/m16: load an available TSS and mark its descriptor busy (SDM Vol. 2A LTR). */
const ltr: Handler = (c, i) => {
  protectedOnly(c); needCpl0(c);
  const sel = readE(c, i, 16) & 0xffff;
  if ((sel & 0xfffc) === 0) gp0(c);
  const base = readSystemDescriptor(c, sel);
  const attr = descAttr(dHi);
  const type = attr & 0xf;
  const long = (c.efer & EFER_LMA) !== 0;
  // Available TSS: 32/64-bit (9); the 16-bit TSS (1) only outside IA-32e mode.
  if ((attr & A_S) !== 0 || !(type === 9 || (type === 1 && !long))) gp(c, sel & 0xfffc);
  if ((attr & A_P) === 0) raise(c, NP, sel & 0xfffc);
  dHi |= 0x200; // busy
  wrSys32(c, dAddr + 4, dHi);
  c.segSel[TR] = sel; c.segBase[TR] = base; c.segLimit[TR] = descLimit(dLo, dHi); c.segAttr[TR] = descAttr(dHi);
};

function setZF(c: Cpu, on: boolean): void {
  const f = getArith(c);
  setArith(c, on ? f | ZF : f & ~ZF);
}

/** VERR/VERW: ZF = 1 if the segment is readable/writable at the current CPL and selector RPL. */
function verify(c: Cpu, i: Insn, write: boolean): void {
  protectedOnly(c);
  const sel = readE(c, i, 16) & 0xffff;
  let ok = false;
  if (peekDescriptor(c, sel)) {
    const attr = descAttr(dHi);
    const dpl = (attr >> 5) & 3;
    if (attr & A_S) {
      const code = (attr & T_CODE) !== 0;
      const privOk = (code && (attr & T_CONFORMING) !== 0) || (dpl >= c.cpl && dpl >= (sel & 3));
      if (write) ok = !code && (attr & T_WRITE) !== 0 && privOk;
      else ok = (!code || (attr & T_READ) !== 0) && privOk;
    }
  }
  setZF(c, ok);
}
const verr: Handler = (c, i) => verify(c, i, false);
const verw: Handler = (c, i) => verify(c, i, true);

export function pickGroup6(i: Insn): Handler | undefined {
  switch (i.reg & 7) {
    case 0: return sldt;
    case 1: return str;
    case 2: return lldt;
    case 3: return ltr;
    case 4: return verr;
    case 5: return verw;
    default: return undefined;
  }
}

// ---------------------------------------------------------------- 0F 01 memory forms

/** SGDT/SIDT: 2-byte limit then a 4-byte base (24 bits with a zero high byte for 16-bit operand
 *  size) or an 8-byte base in 64-bit mode (SDM Vol. 2B SGDT). */
function storeTable(c: Cpu, i: Insn, limit: number, base: number): void {
  umip(c);
  const a = i.ea(c, i);
  if (i.mode === MODE_LONG64) {
    // Compute both parts before writing; the base is a sign-extended double.
    const hi = Math.floor(base / TWO32);
    const lo = base - hi * TWO32;
    wr16(c, a, limit);
    wr64(c, a + 2, lo | 0, hi | 0);
    return;
  }
  const b = i.opSize === 16 ? base & 0xffffff : base >>> 0;
  wr16(c, a, limit);
  wr32(c, a + 2, b | 0);
}

/** LGDT/LIDT: CPL 0; 6-byte operand (24-bit base with 16-bit operand size) or 10 bytes in 64-bit mode. */
function loadTable(c: Cpu, i: Insn, idt: boolean): void {
  needCpl0(c);
  const a = i.ea(c, i);
  const limit = rd16(c, a);
  let base: number;
  if (i.mode === MODE_LONG64) {
    const lo = rd64(c, a + 2);
    const hi = c.tmpHi;
    if (((hi << 16) >> 16) !== hi) gp0(c);
    base = hi * TWO32 + (lo >>> 0);
  } else {
    const b = rd32(c, a + 2) >>> 0;
    base = i.opSize === 16 ? b & 0xffffff : b;
  }
  if (idt) { c.idtBase = base; c.idtLimit = limit; }
  else { c.gdtBase = base; c.gdtLimit = limit; }
}

export const sgdt: Handler = (c, i) => storeTable(c, i, c.gdtLimit, c.gdtBase);
export const sidt: Handler = (c, i) => storeTable(c, i, c.idtLimit, c.idtBase);
export const lgdt: Handler = (c, i) => loadTable(c, i, false);
export const lidt: Handler = (c, i) => loadTable(c, i, true);

/** SMSW: 16 bits of CR0 to memory; to a register the whole CR0 (zero-extended) for 32/64-bit operands. */
export const smsw: Handler = (c, i) => {
  umip(c);
  const v = readCr0(c);
  if (i.mod !== 3) { wr16(c, i.ea(c, i), v & 0xffff); return; }
  if (i.opSize === 16) c.rl[i.rm] = (c.rl[i.rm] & ~0xffff) | (v & 0xffff);
  else { c.rl[i.rm] = v | 0; c.rh[i.rm] = 0; }
};

export const lmswH: Handler = (c, i) => {
  let v = readE(c, i, 16);
  if (c.vmxNonRoot) {
    // #GP for CPL > 0 and operand faults come before the VM-exit decision (SDM Vol. 3C 25.1.1).
    if (c.cpl !== 0) gp0(c);
    v = c.vmx!.lmsw(c, i, v, i.mod === 3 ? -1 : i.ea(c, i));
  }
  lmsw(c, v);
};

// ---------------------------------------------------------------- LAR / LSL

// Descriptor types LAR accepts among system descriptors (SDM Vol. 2A LAR, Table 3-61/3-62).
const LAR_LEGACY = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 9) | (1 << 0xb) | (1 << 0xc);
const LAR_LONG = (1 << 2) | (1 << 9) | (1 << 0xb) | (1 << 0xc);
// LSL accepts only descriptors with a limit: LDT and TSSs.
const LSL_LEGACY = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 9) | (1 << 0xb);
const LSL_LONG = (1 << 2) | (1 << 9) | (1 << 0xb);

/** Common LAR/LSL validity test; true if the descriptor is visible at CPL/RPL (dLo/dHi hold it). */
function accessible(c: Cpu, sel: number, lsl: boolean): boolean {
  if (!peekDescriptor(c, sel)) return false;
  const attr = descAttr(dHi);
  const dpl = (attr >> 5) & 3;
  if (attr & A_S) {
    if ((attr & T_CODE) !== 0 && (attr & T_CONFORMING) !== 0) return true;
  } else {
    const long = (c.efer & EFER_LMA) !== 0;
    const types = lsl ? (long ? LSL_LONG : LSL_LEGACY) : (long ? LAR_LONG : LAR_LEGACY);
    if (((types >> (attr & 0xf)) & 1) === 0) return false;
  }
  return dpl >= c.cpl && dpl >= (sel & 3);
}

function writeDest(c: Cpu, i: Insn, v: number): void {
  if (i.opSize === 16) c.rl[i.reg] = (c.rl[i.reg] & ~0xffff) | (v & 0xffff);
  else { c.rl[i.reg] = v | 0; c.rh[i.reg] = 0; }
}

const lar: Handler = (c, i) => {
  protectedOnly(c);
  const sel = readE(c, i, 16) & 0xffff;
  const ok = accessible(c, sel, false);
  if (ok) writeDest(c, i, i.opSize === 16 ? dHi & 0xff00 : dHi & 0x00f0ff00);
  setZF(c, ok);
};

const lsl: Handler = (c, i) => {
  protectedOnly(c);
  const sel = readE(c, i, 16) & 0xffff;
  const ok = accessible(c, sel, true);
  if (ok) writeDest(c, i, descLimit(dLo, dHi));
  setZF(c, ok);
};

export const pickLar = (): Handler => lar;
export const pickLsl = (): Handler => lsl;

