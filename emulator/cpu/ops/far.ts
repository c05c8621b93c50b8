// Far control transfers: JMP/CALL far (direct and through call gates), RET far and IRET in real,
// virtual-8086, protected and IA-32e mode (SDM Vol. 2A CALL, JMP, IRET; Vol. 2B RET; Vol. 3A 5.8
// "Privilege level checking when transferring program control between code segments", 6.14.3).
//
// Every check that can fault runs before any architectural state changes, so a faulting transfer
// restarts cleanly. Not supported (documented): task switches (JMP/CALL to a TSS or task gate,
// IRET with NT = 1) raise #GP(selector) / #GP(0); IRET to virtual-8086 mode raises #GP(0).
// Segment limits are checked for the target EIP only (the rest of the CPU does not check limits).
import {
  Cpu, CS, SS, ES, FS, GS, TR, RSP, CR0_PE, EFER_LMA, MODE_LONG64,
  CF, PF, AF, ZF, SF, TF, IF, DF, OF, IOPL, NT, RF, VM, AC, VIF, VIP, ID,
} from '../state.ts';
import type { Insn } from '../insn.ts';
import { setRflags } from '../flags.ts';
import { rd16, rd32, rdSys16, rdSys32, rdSys64, wrSys16, wrSys32, wrSys64 } from '../memaccess.ts';
import { raise, gp0, gp, NP, SSV, TS } from '../fault.ts';
import {
  readDescriptor, descLo, descHi, descAddr, descAttr, descBase, descLimit, setSegment, loadSegReal,
  updateMode, A_S, A_P, A_L, A_DB, T_CODE, T_CONFORMING, T_WRITE,
} from '../segments.ts';
import { pushSized, peekSized, adjustSp } from '../stack.ts';
import { lo64, hi64 } from '../interrupts.ts';

const TWO32 = 4294967296;
const CANON = 140737488355328; // 2^47

function canonical(v: number): boolean { return v >= -CANON && v < CANON; }

/** Truncate a target offset to the operand size (16 → IP, 32 → EIP, 64 unchanged). */
function truncOffset(off: number, opSize: number): number {
  if (opSize === 16) return ((off % 65536) + 65536) % 65536;
  if (opSize === 32) return ((off % TWO32) + TWO32) % TWO32;
  return off;
}

function isRealOrV86(c: Cpu): boolean { return (c.cr0 & CR0_PE) === 0 || (c.flags & VM) !== 0; }

/** Set the accessed bit of the descriptor at `addr` (if clear); returns the updated high dword. */
function setAccessed(c: Cpu, addr: number, hi: number): number {
  if ((hi & 0x100) === 0) { hi |= 0x100; wrSys32(c, addr + 4, hi); }
  return hi;
}

/**
 * RIP for a transfer to the code segment (lo, hi): a 64-bit target (IA-32e mode, L = 1) needs a
 * canonical offset, anything else an offset within the segment limit; #GP(0) otherwise.
 */
function targetRip(c: Cpu, lo: number, hi: number, off: number): number {
  if ((c.efer & EFER_LMA) !== 0 && (hi & 0x200000) !== 0) {
    if (!canonical(off)) gp0(c);
    return off;
  }
  if (off < 0 || off > descLimit(lo, hi)) gp0(c);
  return off;
}

/** Checks common to JMP/CALL far to a code segment at the same privilege (descriptor in descLo/Hi). */
function checkDirectCode(c: Cpu, sel: number, attr: number): void {
  const err = sel & 0xfffc;
  if ((attr & T_CODE) === 0) gp(c, err);
  if ((c.efer & EFER_LMA) !== 0 && (attr & A_L) !== 0 && (attr & A_DB) !== 0) gp(c, err);
  const dpl = (attr >> 5) & 3;
  if (attr & T_CONFORMING) { if (dpl > c.cpl) gp(c, err); }
  else if ((sel & 3) > c.cpl || dpl !== c.cpl) gp(c, err);
  if ((attr & A_P) === 0) raise(c, NP, err);
}

/** Load CS (already checked) with the given RPL/CPL and recompute the mode. */
function commitCs(c: Cpu, sel: number, rpl: number, lo: number, hi: number): void {
  setSegment(c, CS, (sel & 0xfffc) | rpl, lo, hi);
  updateMode(c);
}

/** Push two values of `size` bits; on a fault RSP is restored so the instruction restarts cleanly. */
function push2(c: Cpu, size: number, aLo: number, aHi: number, bLo: number, bHi: number): void {
  const spLo = c.rl[RSP], spHi = c.rh[RSP];
  try {
    pushSized(c, size, aLo, aHi);
    pushSized(c, size, bLo, bHi);
  } catch (e) {
    c.rl[RSP] = spLo; c.rh[RSP] = spHi;
    throw e;
  }
}

/** Value of `size` bits at RSP + off as an unsigned (16/32) or signed 64-bit double. */
function stackVal(c: Cpu, size: number, off: number): number {
  const lo = peekSized(c, size, off);
  if (size === 64) return c.tmpHi * TWO32 + (lo >>> 0);
  return size === 32 ? lo >>> 0 : lo & 0xffff;
}

/** Write the stack pointer after a stack switch: 64-bit, ESP, or SP for a 16-bit stack. */
function setSp(c: Cpu, v: number): void {
  if (c.stackSize === 64) c.setReg64(RSP, v);
  else if (c.stackSize === 32) { c.rl[RSP] = v | 0; c.rh[RSP] = 0; }
  else c.rl[RSP] = (c.rl[RSP] & ~0xffff) | (v & 0xffff);
}

// ---------------------------------------------------------------- JMP far / CALL far

/**
 * JMP far to sel:offset (EA ptr16:16/32, FF /5 m16:16/32/64). Sets c.nextRip and loads CS; a
 * transfer to a 64-bit or compatibility code segment switches the decode mode.
 */
export function jmpFar(c: Cpu, i: Insn, sel: number, offset: number): void {
  sel &= 0xffff;
  offset = truncOffset(offset, i.opSize);
  if (isRealOrV86(c)) {
    if (offset > c.segLimit[CS]) gp0(c);
    loadSegReal(c, CS, sel);
    c.nextRip = offset;
    return;
  }
  if ((sel & 0xfffc) === 0) gp0(c);
  readDescriptor(c, sel);
  const lo = descLo, addr = descAddr;
  let hi = descHi;
  const attr = descAttr(hi);
  if ((attr & A_S) === 0) { gateTransfer(c, i, sel, lo, hi, false); return; }
  checkDirectCode(c, sel, attr);
  const rip = targetRip(c, lo, hi, offset);
  hi = setAccessed(c, addr, hi);
  commitCs(c, sel, c.cpl, lo, hi);
  c.nextRip = rip;
}

/**
 * CALL far to sel:offset (9A ptr16:16/32, FF /3 m16:16/32/64): pushes CS and the return offset in
 * the operand size, then transfers like jmpFar. Call gates may switch to a more privileged stack.
 */
export function callFar(c: Cpu, i: Insn, sel: number, offset: number): void {
  sel &= 0xffff;
  const size = i.opSize;
  offset = truncOffset(offset, size);
  const ret = c.nextRip;
  if (isRealOrV86(c)) {
    if (offset > c.segLimit[CS]) gp0(c);
    push2(c, size, c.segSel[CS], 0, lo64(ret), hi64(ret));
    loadSegReal(c, CS, sel);
    c.nextRip = offset;
    return;
  }
  if ((sel & 0xfffc) === 0) gp0(c);
  readDescriptor(c, sel);
  const lo = descLo, addr = descAddr;
  let hi = descHi;
  const attr = descAttr(hi);
  if ((attr & A_S) === 0) { gateTransfer(c, i, sel, lo, hi, true); return; }
  checkDirectCode(c, sel, attr);
  const rip = targetRip(c, lo, hi, offset);
  push2(c, size, c.segSel[CS], 0, lo64(ret), hi64(ret));
  hi = setAccessed(c, addr, hi);
  commitCs(c, sel, c.cpl, lo, hi);
  c.nextRip = rip;
}

/**
 * JMP/CALL through a call gate (SDM Vol. 3A 5.8.4-5.8.6). Legacy 16/32-bit gates and 64-bit gates
 * in IA-32e mode; CALL to a more privileged non-conforming segment switches to the TSS stack
 * (copying the gate's parameter count in legacy mode). Task gates and TSS descriptors (task
 * switches) are not supported: #GP(selector).
 */
function gateTransfer(c: Cpu, i: Insn, gateSel: number, gLo: number, gHi: number, isCall: boolean): void {
  const gErr = gateSel & 0xfffc;
  const type = (gHi >> 8) & 0xf;
  const long = (c.efer & EFER_LMA) !== 0;
  if (long ? type !== 0xc : (type !== 0xc && type !== 0x4)) gp(c, gErr);
  const gDpl = (gHi >> 13) & 3;
  if (gDpl < c.cpl || (gateSel & 3) > gDpl) gp(c, gErr);
  if ((gHi & 0x8000) === 0) raise(c, NP, gErr);
  let target: number;
  if (long) {
    // 16-byte gate: bits 95:64 are offset 63:32, the type field of the upper half must be 0.
    const tableLimit = (gateSel & 4) ? c.segLimit[6] : c.gdtLimit;
    if ((gateSel & 0xfff8) + 15 > tableLimit) gp(c, gErr);
    const up = rdSys32(c, descAddr + 8);
    const up2 = rdSys32(c, descAddr + 12);
    if ((up2 >> 8) & 0x1f) gp(c, gErr);
    target = up * TWO32 + (((gLo & 0xffff) | (gHi & 0xffff0000)) >>> 0);
  } else target = type === 0xc ? ((gLo & 0xffff) | (gHi & 0xffff0000)) >>> 0 : gLo & 0xffff;
  const gateSize = long ? 64 : type === 0xc ? 32 : 16;
  const csSel = gLo >>> 16;
  if ((csSel & 0xfffc) === 0) gp0(c);
  readDescriptor(c, csSel);
  const lo = descLo, addr = descAddr;
  let hi = descHi;
  const attr = descAttr(hi);
  const err = csSel & 0xfffc;
  const dpl = (attr >> 5) & 3;
  if ((attr & A_S) === 0 || (attr & T_CODE) === 0 || dpl > c.cpl) gp(c, err);
  if (long && ((attr & A_L) === 0 || (attr & A_DB) !== 0)) gp(c, err);
  if ((attr & A_P) === 0) raise(c, NP, err);
  const conforming = (attr & T_CONFORMING) !== 0;
  if (!isCall) {
    if (!conforming && dpl !== c.cpl) gp(c, err);
    const rip = targetRip(c, lo, hi, target);
    hi = setAccessed(c, addr, hi);
    commitCs(c, csSel, c.cpl, lo, hi);
    c.nextRip = rip;
    return;
  }
  const ret = c.nextRip;
  if (conforming || dpl === c.cpl) {
    const rip = targetRip(c, lo, hi, target);
    push2(c, gateSize, c.segSel[CS], 0, lo64(ret), hi64(ret));
    hi = setAccessed(c, addr, hi);
    commitCs(c, csSel, c.cpl, lo, hi);
    c.nextRip = rip;
    return;
  }
  // More privileged: new stack from the TSS (SDM Vol. 3A 5.8.5, Figure 5-13).
  const oldSs = c.segSel[SS], oldCs = c.segSel[CS];
  const tss = c.segBase[TR];
  if (long) {
    const a = tss + 4 + dpl * 8;
    if (4 + dpl * 8 + 7 > c.segLimit[TR]) raise(c, TS, c.segSel[TR] & 0xfffc);
    const spLo = rdSys64(c, a);
    let sp = c.tmpHi * TWO32 + (spLo >>> 0);
    if (!canonical(sp) || !canonical(sp - 32)) raise(c, SSV, 0);
    const rip = targetRip(c, lo, hi, target);
    const oldRspLo = c.rl[RSP], oldRspHi = c.rh[RSP];
    sp -= 8; wrSys64(c, sp, oldSs, 0);
    sp -= 8; wrSys64(c, sp, oldRspLo, oldRspHi);
    sp -= 8; wrSys64(c, sp, oldCs, 0);
    sp -= 8; wrSys64(c, sp, lo64(ret), hi64(ret));
    hi = setAccessed(c, addr, hi);
    // SS becomes a null selector with RPL = new CPL (SDM Vol. 3A 5.8.6).
    c.segSel[SS] = dpl; c.segBase[SS] = 0; c.segLimit[SS] = 0; c.segAttr[SS] = (dpl << 5) | A_DB;
    commitCs(c, csSel, dpl, lo, hi);
    c.setReg64(RSP, sp);
    c.nextRip = rip;
    return;
  }
  const tssType = c.segAttr[TR] & 0xf;
  if (tssType !== 9 && tssType !== 11) raise(c, TS, c.segSel[TR] & 0xfffc);
  if (8 * dpl + 9 > c.segLimit[TR]) raise(c, TS, c.segSel[TR] & 0xfffc); // (TSSstackAddress + 5) > limit (Vol. 2A CALL)
  const newEsp = rdSys32(c, tss + 4 + 8 * dpl) >>> 0;
  const newSs = rdSys16(c, tss + 8 + 8 * dpl);
  if ((newSs & 0xfffc) === 0) raise(c, TS, 0);
  readDescriptor(c, newSs, TS);
  const sLo = descLo, sAddr = descAddr;
  let sHi = descHi;
  const sAttr = descAttr(sHi);
  const ssErr = newSs & 0xfffc;
  if ((newSs & 3) !== dpl || ((sAttr >> 5) & 3) !== dpl || (sAttr & A_S) === 0 || (sAttr & T_CODE) !== 0 ||
    (sAttr & T_WRITE) === 0) raise(c, TS, ssErr);
  if ((sAttr & A_P) === 0) raise(c, SSV, ssErr);
  const rip = targetRip(c, lo, hi, target);
  // Parameters: count words/dwords copied from the caller's stack (SDM Vol. 3A 5.8.5).
  const count = gHi & 0x1f;
  const pb = gateSize >> 3;
  const oldEsp = c.stackSize === 32 ? c.rl[RSP] >>> 0 : c.rl[RSP] & 0xffff;
  const oldMask = c.stackSize === 32 ? TWO32 : 0x10000;
  const ssBase = descBase(sLo, sHi);
  const spMask = (sAttr & A_DB) ? TWO32 : 0x10000;
  let sp = newEsp;
  const put = (v: number): void => {
    sp = ((sp - pb) % spMask + spMask) % spMask;
    const la = (ssBase + sp) % TWO32;
    if (pb === 4) wrSys32(c, la, v); else wrSys16(c, la, v);
  };
  put(oldSs);
  put(c.rl[RSP]);
  for (let k = count - 1; k >= 0; k--) {
    const la = (c.segBase[SS] + (oldEsp + k * pb) % oldMask) % TWO32;
    put(pb === 4 ? rd32(c, la) : rd16(c, la));
  }
  put(oldCs);
  put(ret);
  sHi = setAccessed(c, sAddr, sHi);
  hi = setAccessed(c, addr, hi);
  setSegment(c, SS, newSs, sLo, sHi);
  commitCs(c, csSel, dpl, lo, hi);
  setSp(c, sp);
  c.nextRip = rip;
}

// ---------------------------------------------------------------- returns

/** Validate the return CS selector (RET far, IRET); returns nothing, leaves the descriptor in descLo/Hi. */
function checkReturnCs(c: Cpu, cs: number): void {
  if ((cs & 0xfffc) === 0) gp0(c);
  readDescriptor(c, cs);
  const attr = descAttr(descHi);
  const err = cs & 0xfffc;
  const rpl = cs & 3, dpl = (attr >> 5) & 3;
  if ((attr & A_S) === 0 || (attr & T_CODE) === 0) gp(c, err);
  if (rpl < c.cpl) gp(c, err);
  if ((attr & T_CONFORMING) ? dpl > rpl : dpl !== rpl) gp(c, err);
  if ((attr & A_P) === 0) raise(c, NP, err);
  if ((c.efer & EFER_LMA) !== 0 && (attr & A_L) !== 0 && (attr & A_DB) !== 0) gp(c, err);
}

/**
 * Validate the SS selector popped by a return to privilege `rpl` whose code segment is (csHi).
 * Returns true for an accepted null SS: IA-32e mode, RPL < 3 and SS.RPL = RPL, and either a 64-bit
 * target or an IRET at the same privilege (IRETQ from 64-bit mode pops SS even then; Vol. 2A IRET
 * Operation RETURN-TO-SAME-PRIVILEGE-LEVEL checks nothing about it, and hardware accepts a null
 * SS there also for a compatibility-mode target: tests/system/README.md). Otherwise leaves the SS
 * descriptor in descLo/descHi.
 */
function checkReturnSs(c: Cpu, ss: number, rpl: number, csHi: number): boolean {
  if ((ss & 0xfffc) === 0) {
    const to64 = (c.efer & EFER_LMA) !== 0 && (csHi & 0x200000) !== 0;
    const sameIa32e = (c.efer & EFER_LMA) !== 0 && rpl === c.cpl;
    if ((to64 || sameIa32e) && rpl !== 3 && (ss & 3) === rpl) return true;
    gp0(c);
  }
  readDescriptor(c, ss);
  const attr = descAttr(descHi);
  const err = ss & 0xfffc;
  if ((ss & 3) !== rpl || (attr & A_S) === 0 || (attr & T_CODE) !== 0 || (attr & T_WRITE) === 0 ||
    ((attr >> 5) & 3) !== rpl) gp(c, err);
  if ((attr & A_P) === 0) raise(c, SSV, err);
  return false;
}

/** Load SS after the checks of checkReturnSs (null: unusable selector with RPL, SDM Vol. 3A 6.14.4). */
function loadReturnSs(c: Cpu, ss: number, isNull: boolean, lo: number, hi: number, addr: number): void {
  if (isNull) {
    c.segSel[SS] = ss; c.segBase[SS] = 0; c.segLimit[SS] = 0; c.segAttr[SS] = ((ss & 3) << 5) | A_DB;
    return;
  }
  hi = setAccessed(c, addr, hi);
  setSegment(c, SS, ss, lo, hi);
}

/**
 * After a return to an outer privilege level, ES/DS/FS/GS holding a data or non-conforming code
 * segment more privileged than the new CPL become null (SDM Vol. 2B RET, Vol. 2A IRET).
 * Null selectors are left alone (so a 64-bit FS/GS base with a null selector survives).
 */
function invalidateDataSegs(c: Cpu): void {
  for (let s = ES; s <= GS; s++) {
    if (s === CS || s === SS) continue;
    if ((c.segSel[s] & 0xfffc) === 0) continue;
    const a = c.segAttr[s];
    const conformingCode = (a & T_CODE) !== 0 && (a & T_CONFORMING) !== 0;
    if (!conformingCode && ((a >> 5) & 3) < c.cpl) {
      c.segSel[s] = 0; c.segAttr[s] = 0; c.segLimit[s] = 0;
      if (!(s >= FS && (c.efer & EFER_LMA))) c.segBase[s] = 0;
    }
  }
}

/** RET far (CB) and RET far imm16 (CA). */
export function retFar(c: Cpu, i: Insn): void {
  const size = i.opSize, b = size >> 3;
  const imm = i.op === 0xca ? i.imm & 0xffff : 0;
  const rip = stackVal(c, size, 0);
  const cs = stackVal(c, size, b) & 0xffff;
  if (isRealOrV86(c)) {
    if (rip > c.segLimit[CS]) gp0(c);
    adjustSp(c, 2 * b + imm);
    loadSegReal(c, CS, cs);
    c.nextRip = rip;
    return;
  }
  checkReturnCs(c, cs);
  const lo = descLo, addr = descAddr;
  let hi = descHi;
  const rpl = cs & 3;
  if (rpl === c.cpl) {
    const target = targetRip(c, lo, hi, rip);
    hi = setAccessed(c, addr, hi);
    adjustSp(c, 2 * b + imm);
    commitCs(c, cs, rpl, lo, hi);
    c.nextRip = target;
    return;
  }
  // Outer privilege level: SS:eSP follow the return address and the released parameters.
  const sp = stackVal(c, size, 2 * b + imm);
  const ss = stackVal(c, size, 3 * b + imm) & 0xffff;
  const ssNull = checkReturnSs(c, ss, rpl, hi);
  const sLo = descLo, sHi = descHi, sAddr = descAddr;
  const target = targetRip(c, lo, hi, rip);
  hi = setAccessed(c, addr, hi);
  loadReturnSs(c, ss, ssNull, sLo, sHi, sAddr);
  commitCs(c, cs, rpl, lo, hi);
  setSp(c, sp);
  if (imm) adjustSp(c, imm);
  invalidateDataSegs(c);
  c.nextRip = target;
}

const ARITH_TF_DF_NT = CF | PF | AF | ZF | SF | TF | DF | OF | NT;

/** RFLAGS bits IRET may load, from the privilege before the return (SDM Vol. 2A IRET). */
function iretMask(c: Cpu, size: number, oldCpl: number): number {
  let m = ARITH_TF_DF_NT;
  if (size !== 16) m |= RF | AC | ID;
  if (oldCpl <= ((c.flags & IOPL) >> 12)) m |= IF;
  if (oldCpl === 0) { m |= IOPL; if (size !== 16) m |= VIF | VIP; }
  return m;
}

/** IRET / IRETD / IRETQ (CF). */
export function iret(c: Cpu, i: Insn): void {
  const size = i.opSize, b = size >> 3;
  if ((c.cr0 & CR0_PE) === 0) {
    // Real-address mode (SDM Vol. 2A IRET, REAL-ADDRESS-MODE).
    const ip = stackVal(c, size, 0);
    const cs = stackVal(c, size, b) & 0xffff;
    const fl = stackVal(c, size, 2 * b);
    if (ip > c.segLimit[CS]) gp0(c);
    adjustSp(c, 3 * b);
    loadSegReal(c, CS, cs);
    // 32-bit: VM, VIF, VIP keep their values; 16-bit: bits 15:0 are loaded.
    setRflags(c, fl, size === 16 ? 0x7fd5 : 0x257fd5);
    c.nextRip = ip;
    return;
  }
  if (c.flags & VM) {
    // Virtual-8086 mode: allowed only with IOPL = 3; IOPL, VM, VIF, VIP are not modified.
    if ((c.flags & IOPL) !== IOPL) gp0(c);
    const ip = stackVal(c, size, 0);
    const cs = stackVal(c, size, b) & 0xffff;
    const fl = stackVal(c, size, 2 * b);
    if (ip > c.segLimit[CS]) gp0(c);
    adjustSp(c, 3 * b);
    loadSegReal(c, CS, cs);
    setRflags(c, fl, size === 16 ? 0x4fd5 : 0x254fd5);
    c.nextRip = ip;
    return;
  }
  // Task return (NT = 1) is not supported in legacy mode; in IA-32e mode it is #GP(0) by definition.
  if (c.flags & NT) gp0(c);
  const long = (c.efer & EFER_LMA) !== 0;
  const rip = stackVal(c, size, 0);
  const cs = stackVal(c, size, b) & 0xffff;
  const fl = stackVal(c, size, 2 * b);
  if (!long && (fl & VM) && c.cpl === 0) gp0(c); // return to virtual-8086 mode: not supported
  checkReturnCs(c, cs);
  const lo = descLo, addr = descAddr;
  let hi = descHi;
  const rpl = cs & 3;
  // SS:RSP are popped on a privilege change, and always by IRET in 64-bit mode (SDM Vol. 3A 6.14.3).
  const popSs = rpl !== c.cpl || c.mode === MODE_LONG64;
  const oldCpl = c.cpl;
  let sp = 0, ss = 0, ssNull = false, sLo = 0, sHi = 0, sAddr = 0;
  if (popSs) {
    sp = stackVal(c, size, 3 * b);
    ss = stackVal(c, size, 4 * b) & 0xffff;
    ssNull = checkReturnSs(c, ss, rpl, hi);
    sLo = descLo; sHi = descHi; sAddr = descAddr;
  }
  const target = targetRip(c, lo, hi, rip);
  const mask = iretMask(c, size, oldCpl);
  hi = setAccessed(c, addr, hi);
  if (popSs) loadReturnSs(c, ss, ssNull, sLo, sHi, sAddr);
  else adjustSp(c, 3 * b);
  commitCs(c, cs, rpl, lo, hi);
  if (popSs) {
    if (size === 16) c.rl[RSP] = (c.rl[RSP] & ~0xffff) | (sp & 0xffff);
    else if (size === 32) { c.rl[RSP] = sp | 0; c.rh[RSP] = 0; }
    else c.setReg64(RSP, sp);
  }
  setRflags(c, fl, mask);
  if (rpl > oldCpl) invalidateDataSegs(c);
  c.nextRip = target;
}

