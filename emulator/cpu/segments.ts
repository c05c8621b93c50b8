// Segment-register loads and the derived execution mode (SDM Vol. 3A 3.4, 5.5-5.8, Vol. 2B MOV/POP).
import {
  Cpu, CS, SS, FS, LDTR, CR0_PE, EFER_LMA, VM as RFLAGS_VM, MODE_REAL, MODE_PROT16, MODE_PROT32,
  MODE_LONG64, MODE_COMPAT16, MODE_COMPAT32,
} from './state.ts';
import { rdSys32, wrSys32 } from './memaccess.ts';
import { raise, GP, NP, SSV } from './fault.ts';
import { P_RS, P_WS, P_XS, P_GW_S, P_GW_U, P_RU, P_WU, P_XU } from './tlb.ts';

// Descriptor attribute bits as stored in segAttr (descriptor bits 40..55).
export const A_TYPE = 0xf, A_S = 0x10, A_DPL = 0x60, A_P = 0x80, A_AVL = 0x1000, A_L = 0x2000, A_DB = 0x4000, A_G = 0x8000;
/** Code segment type bit (type bit 3), and the conforming/readable/writable bits. */
export const T_CODE = 8, T_CONFORMING = 4, T_READ = 2, T_WRITE = 2, T_ACCESSED = 1;

/** Result of readDescriptor. */
export let descLo = 0, descHi = 0, descAddr = 0;

/**
 * Read the 8-byte descriptor for `sel` from the GDT or LDT; #GP(sel) (or `vec`) if outside the table.
 * `ext` is the EXT bit of that error code: 1 while delivering an external interrupt or an exception
 * (SDM Vol. 3A 6.13; Vol. 2A INT n: "#GP(error_code(new code-segment selector,0,EXT))").
 */
export function readDescriptor(c: Cpu, sel: number, vec = GP, ext = 0): void {
  const idx = sel & 0xfff8;
  let base: number, limit: number;
  if (sel & 4) {
    if (c.segSel[LDTR] & 0xfffc) { base = c.segBase[LDTR]; limit = c.segLimit[LDTR]; }
    else raise(c, vec, (sel & 0xfffc) | ext);
  } else { base = c.gdtBase; limit = c.gdtLimit; }
  if (idx + 7 > limit) raise(c, vec, (sel & 0xfffc) | ext);
  descAddr = base + idx;
  descLo = rdSys32(c, descAddr);
  descHi = rdSys32(c, descAddr + 4);
}

export function descBase(lo: number, hi: number): number {
  return ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) >>> 0;
}
export function descLimit(lo: number, hi: number): number {
  const l = (lo & 0xffff) | (hi & 0xf0000);
  return hi & 0x800000 ? l * 4096 + 0xfff : l;
}
export function descAttr(hi: number): number { return (hi >>> 8) & 0xf0ff; }

/** Load a segment register from a descriptor already read (no checks). */
export function setSegment(c: Cpu, seg: number, sel: number, lo: number, hi: number): void {
  c.segSel[seg] = sel;
  c.segBase[seg] = descBase(lo, hi);
  c.segLimit[seg] = descLimit(lo, hi);
  c.segAttr[seg] = descAttr(hi);
}

/** Set the accessed bit of the descriptor just read, if clear. */
export function markAccessed(c: Cpu): void {
  if ((descHi & 0x100) === 0) { descHi |= 0x100; wrSys32(c, descAddr + 4, descHi); }
}

/** Real-address / virtual-8086 mode load: base = selector × 16 (SDM Vol. 3A 20.1.1). */
export function loadSegReal(c: Cpu, seg: number, sel: number): void {
  c.segSel[seg] = sel & 0xffff;
  c.segBase[seg] = (sel & 0xffff) * 16;
  if (c.flags & RFLAGS_VM) { c.segLimit[seg] = 0xffff; c.segAttr[seg] = seg === CS ? 0xfb : 0xf3; }
}

/** MOV/POP to DS, ES, FS, GS or SS with the protected-mode checks (SDM Vol. 2B MOV, "Operation"). */
export function loadDataSeg(c: Cpu, seg: number, sel: number): void {
  sel &= 0xffff;
  if (c.mode === MODE_REAL || (c.flags & RFLAGS_VM)) { loadSegReal(c, seg, sel); return; }
  const rpl = sel & 3;
  if ((sel & 0xfffc) === 0) {
    if (seg === SS) {
      // A null SS is allowed only in 64-bit mode at CPL < 3 with RPL = CPL (SDM Vol. 2B MOV).
      if (c.mode !== MODE_LONG64 || c.cpl === 3 || rpl !== c.cpl) raise(c, GP, 0);
    }
    c.segSel[seg] = sel; c.segBase[seg] = seg >= FS ? c.segBase[seg] : 0; c.segLimit[seg] = 0;
    c.segAttr[seg] = 0; // unusable
    if (seg === SS) c.segAttr[seg] = (c.cpl << 5) | (c.mode === MODE_LONG64 ? A_DB : 0);
    if (seg >= FS && c.mode !== MODE_LONG64) c.segBase[seg] = 0;
    updateMode(c);
    return;
  }
  readDescriptor(c, sel);
  const attr = descAttr(descHi);
  const dpl = (attr >> 5) & 3;
  const type = attr & 0xf;
  if (seg === SS) {
    if (rpl !== c.cpl || dpl !== c.cpl || !(attr & A_S) || (type & T_CODE) || !(type & T_WRITE)) raise(c, GP, sel & 0xfffc);
    if (!(attr & A_P)) raise(c, SSV, sel & 0xfffc);
  } else {
    if (!(attr & A_S) || ((type & T_CODE) && !(type & T_READ))) raise(c, GP, sel & 0xfffc);
    if ((!(type & T_CODE) || !(type & T_CONFORMING)) && (rpl > dpl || c.cpl > dpl)) raise(c, GP, sel & 0xfffc);
    if (!(attr & A_P)) raise(c, NP, sel & 0xfffc);
  }
  markAccessed(c);
  setSegment(c, seg, sel, descLo, descHi);
  if (seg === SS) updateMode(c);
}

/** Recompute mode, CPL, default sizes and TLB permission selectors after CR0/EFER/CS/SS changes. */
export function updateMode(c: Cpu): void {
  const csAttr = c.segAttr[CS];
  c.fetchLin = NaN; // CPL or mode may change what a fetch may see
  const wasUser = c.cpl === 3;
  if ((c.cr0 & CR0_PE) === 0) {
    c.mode = MODE_REAL; c.codeSize = 16; c.cpl = 0;
  } else if (c.flags & RFLAGS_VM) {
    c.mode = MODE_REAL; c.codeSize = 16; c.cpl = 3;
  } else {
    c.cpl = c.segSel[CS] & 3;
    if (c.efer & EFER_LMA) {
      if (csAttr & A_L) { c.mode = MODE_LONG64; c.codeSize = 64; }
      else if (csAttr & A_DB) { c.mode = MODE_COMPAT32; c.codeSize = 32; }
      else { c.mode = MODE_COMPAT16; c.codeSize = 16; }
    } else if (csAttr & A_DB) { c.mode = MODE_PROT32; c.codeSize = 32; }
    else { c.mode = MODE_PROT16; c.codeSize = 16; }
  }
  // User-mode instruction accounting (the CPL changes only here).
  if (wasUser && c.cpl !== 3) c.userInsns += c.icount - c.userSince;
  else if (!wasUser && c.cpl === 3) c.userSince = c.icount;
  c.stackSize = c.mode === MODE_LONG64 ? 64 : (c.segAttr[SS] & A_DB) && (c.cr0 & CR0_PE) ? 32 : 16;
  if (c.cpl === 3) { c.accR = P_RU; c.accW = P_WU; c.accX = P_XU; c.accGW = P_GW_U; }
  else { c.accR = P_RS; c.accW = P_WS; c.accX = P_XS; c.accGW = P_GW_S; }
}


