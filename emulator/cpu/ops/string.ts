// String instructions and port I/O (SDM Vol. 2B MOVS/CMPS/STOS/LODS/SCAS/INS/OUTS, Vol. 2A IN/OUT,
// Vol. 2B "REP/REPE/REPZ/REPNE/REPNZ").
//
// Addressing: the address size selects SI/DI/CX, ESI/EDI/ECX or RSI/RDI/RCX. The source is
// seg:rSI with DS by default (segment override allowed), the destination is always ES:rDI.
// In 64-bit mode only FS/GS contribute a base. Segment limits are not checked (as in ea.ts).
//
// REP: registers are updated after every element, so a fault leaves rCX/rSI/rDI at the faulting
// element with RIP at the instruction (the instruction restarts, SDM Vol. 2B REP). At most CHUNK
// elements run per execution; if the count is not exhausted RIP stays at the instruction
// (c.nextRip = c.rip) and the run loop executes it again, so interrupts can be taken between
// chunks (SDM allows this between iterations).
//
// Fast paths: forward REP STOS/MOVS (and byte REPE/REPNE SCAS/CMPS) whose elements lie within one page that the TLB already maps
// with the needed permission are done with typed-array fill/copyWithin, a page at a time. They
// invalidate decoded instructions of the written frame like any other write. The first access to a
// page (TLB miss, dirty bit not yet set, SPP page, MMIO) takes the per-element path, which walks the
// page tables, faults on the exact element and refills the TLB for the next fast block.
import {
  Cpu, RAX, RCX, RDX, RSI, RDI, ES, DS, SS, FS, TR, DF, VM, CR0_PE, MODE_LONG64,
} from '../state.ts';
import type { Insn, Handler } from '../insn.ts';
import { def, Imm } from '../decoder.ts';
import { K_SUB, getZF } from '../flags.ts';
import { set8, set16, set32 } from '../regs.ts';
import { rd8, rd16, rd32, rd64, wr8, wr16, wr32, wr64, rdSys16 } from '../memaccess.ts';
import { translate, ACC_WRITE } from '../paging.ts';
import { TLB_MASK } from '../tlb.ts';
import { raise, gp0, GP, SSV } from '../fault.ts';
import { A_P } from '../segments.ts';
import { IOQ_IN, IOQ_STRING, IOQ_REP, IOQ_IMM } from '../vmx-hooks.ts';

const TWO32 = 4294967296;
const CANON = 140737488355328; // 2^47
/** Maximum elements per execution of a REP-prefixed instruction. */
export const REP_CHUNK = 4096;

/**
 * End a REP chunk with elements left: RIP stays at the instruction, which runs again. The chunk is
 * not a retirement (the run loop's count is taken back): a REP instruction retires once, when it
 * completes, so virtual time does not depend on where chunks or VM exits split it (the same count
 * bare, under VMX with exits in the middle, and across a migration).
 */
function repYield(c: Cpu): void {
  c.nextRip = c.rip;
  c.icount--;
}

// ------------------------------------------------------------------ address-size helpers

/** Source segment: the override, else DS (SDM Vol. 1 3.7.4.1). */
function srcSeg(i: Insn): number { return i.segOverride >= 0 ? i.segOverride : DS; }

/** Linear address of seg:[r] for the instruction's address size. */
function strLin(c: Cpu, i: Insn, seg: number, r: number): number {
  const as = i.addrSize;
  if (as === 64) {
    let a = c.rh[r] * TWO32 + (c.rl[r] >>> 0);
    if (seg >= FS) a += c.segBase[seg];
    if (a < -CANON || a >= CANON) raise(c, seg === SS ? SSV : GP, 0);
    return a;
  }
  const off = as === 32 ? c.rl[r] >>> 0 : c.rl[r] & 0xffff;
  if (i.mode === MODE_LONG64) {
    // 67h in 64-bit mode: 32-bit offset, zero-extended; only FS/GS have a base.
    if (seg < FS) return off;
    const a = off + c.segBase[seg];
    if (a < -CANON || a >= CANON) raise(c, GP, 0);
    return a;
  }
  return (off + c.segBase[seg]) % TWO32;
}

/** Add d (±bytes) to rSI/rDI in the address size; 32-bit writes zero the upper half. */
function addIdx(c: Cpu, r: number, as: number, d: number): void {
  if (as === 64) {
    const lo = (c.rl[r] >>> 0) + d;
    c.rl[r] = lo | 0;
    if (lo >= TWO32) c.rh[r] = (c.rh[r] + 1) | 0;
    else if (lo < 0) c.rh[r] = (c.rh[r] - 1) | 0;
  } else if (as === 32) {
    c.rl[r] = (c.rl[r] + d) | 0; c.rh[r] = 0;
  } else {
    c.rl[r] = (c.rl[r] & ~0xffff) | ((c.rl[r] + d) & 0xffff);
  }
}

/** rCX as a count; 64-bit counts of 2^32 or more are reported as 2^32 (more than any chunk). */
function getCount(c: Cpu, as: number): number {
  if (as === 64) return c.rh[RCX] !== 0 ? TWO32 : c.rl[RCX] >>> 0;
  if (as === 32) return c.rl[RCX] >>> 0;
  return c.rl[RCX] & 0xffff;
}

/** rCX -= k (k <= count). */
function subCount(c: Cpu, as: number, k: number): void {
  if (as === 64) {
    const lo = (c.rl[RCX] >>> 0) - k;
    c.rl[RCX] = lo | 0;
    if (lo < 0) c.rh[RCX] = (c.rh[RCX] - 1) | 0;
  } else if (as === 32) {
    c.rl[RCX] = (c.rl[RCX] - k) | 0; c.rh[RCX] = 0;
  } else {
    c.rl[RCX] = (c.rl[RCX] & ~0xffff) | ((c.rl[RCX] - k) & 0xffff);
  }
}

/** How many elements of `size` bytes fit before the offset register wraps (16/32-bit address sizes). */
function roomBeforeWrap(c: Cpu, r: number, as: number, size: number): number {
  if (as === 64) return TWO32;
  const off = as === 32 ? c.rl[r] >>> 0 : c.rl[r] & 0xffff;
  return Math.floor(((as === 32 ? TWO32 : 0x10000) - off) / size);
}

function rdN(c: Cpu, a: number, size: number): number {
  switch (size) {
    case 1: return rd8(c, a);
    case 2: return rd16(c, a);
    case 4: c.tmpHi = 0; return rd32(c, a);
    default: return rd64(c, a);
  }
}

function wrN(c: Cpu, a: number, size: number, lo: number, hi: number): void {
  switch (size) {
    case 1: wr8(c, a, lo); return;
    case 2: wr16(c, a, lo); return;
    case 4: wr32(c, a, lo); return;
    default: wr64(c, a, lo, hi); return;
  }
}

/** Accumulator value of `size` bytes (low half; high half in c.tmpHi for 8). */
function accLo(c: Cpu, size: number): number {
  c.tmpHi = c.rh[RAX];
  return size === 1 ? c.rl[RAX] & 0xff : size === 2 ? c.rl[RAX] & 0xffff : c.rl[RAX];
}

function setAcc(c: Cpu, size: number, lo: number, hi: number): void {
  switch (size) {
    case 1: set8(c, RAX, lo); return;
    case 2: set16(c, RAX, lo); return;
    case 4: set32(c, RAX, lo); return;
    default: c.rl[RAX] = lo; c.rh[RAX] = hi; return;
  }
}

/** Record flags of a - b (CMP semantics) for the element size; hi halves used for 8 bytes. */
function cmpFlags(c: Cpu, size: number, a: number, aH: number, b: number, bH: number): void {
  if (size === 8) {
    const lo = (a >>> 0) - (b >>> 0);
    c.lfOp = K_SUB * 4 + 3;
    c.lfRes = lo | 0; c.lfResH = (aH - bH - (lo < 0 ? 1 : 0)) | 0;
    c.lfA = a; c.lfAH = aH; c.lfB = b; c.lfBH = bH;
    return;
  }
  if (size === 4) {
    c.lfOp = K_SUB * 4 + 2; c.lfRes = (a - b) | 0; c.lfA = a | 0; c.lfB = b | 0;
    return;
  }
  const m = size === 1 ? 0xff : 0xffff;
  a &= m; b &= m;
  c.lfOp = K_SUB * 4 + (size === 1 ? 0 : 1); c.lfRes = (a - b) & m; c.lfA = a; c.lfB = b;
}

function delta(c: Cpu, size: number): number { return (c.flags & DF) ? -size : size; }

// ------------------------------------------------------------------ single elements

function movsOne(c: Cpu, i: Insn, size: number, d: number): void {
  const as = i.addrSize;
  const s = strLin(c, i, srcSeg(i), RSI);
  const t = strLin(c, i, ES, RDI);
  const lo = rdN(c, s, size);
  wrN(c, t, size, lo, c.tmpHi);
  addIdx(c, RSI, as, d); addIdx(c, RDI, as, d);
}

function stosOne(c: Cpu, i: Insn, size: number, d: number): void {
  const t = strLin(c, i, ES, RDI);
  const lo = accLo(c, size);
  wrN(c, t, size, lo, c.tmpHi);
  addIdx(c, RDI, i.addrSize, d);
}

function lodsOne(c: Cpu, i: Insn, size: number, d: number): void {
  const s = strLin(c, i, srcSeg(i), RSI);
  const lo = rdN(c, s, size);
  setAcc(c, size, lo, c.tmpHi);
  addIdx(c, RSI, i.addrSize, d);
}

function cmpsOne(c: Cpu, i: Insn, size: number, d: number): void {
  const as = i.addrSize;
  const s = strLin(c, i, srcSeg(i), RSI);
  const t = strLin(c, i, ES, RDI);
  const a = rdN(c, s, size); const aH = c.tmpHi;
  const b = rdN(c, t, size); const bH = c.tmpHi;
  cmpFlags(c, size, a, aH, b, bH); // SRC1 (seg:rSI) - SRC2 (ES:rDI)
  addIdx(c, RSI, as, d); addIdx(c, RDI, as, d);
}

function scasOne(c: Cpu, i: Insn, size: number, d: number): void {
  const t = strLin(c, i, ES, RDI);
  const b = rdN(c, t, size); const bH = c.tmpHi;
  const a = accLo(c, size);
  cmpFlags(c, size, a, c.rh[RAX], b, bH); // accumulator - ES:rDI
  addIdx(c, RDI, i.addrSize, d);
}

// ------------------------------------------------------------------ fast blocks (forward only)

/** Invalidate decoded instructions of every frame in [pa, pa + len) (len <= 4096, one page). */
function dirtyCode(c: Cpu, pa: number): void {
  const f = pa >>> 12;
  if (c.mem.codeFrames[f] !== 0) c.invalidateCodeFrame(f);
}

/**
 * REP STOS forward within the destination's current page; returns the number of elements done
 * (0 when the fast path does not apply).
 */
function stosBlock(c: Cpu, i: Insn, size: number, max: number): number {
  const t = strLin(c, i, ES, RDI);
  const off = t & 0xfff;
  let k = Math.min(max, ((4096 - off) / size) | 0, roomBeforeWrap(c, RDI, i.addrSize, size));
  if (k < 2) return 0;
  const vpn = (t - off) / 4096;
  const ti = vpn & TLB_MASK;
  const tlb = c.tlb;
  if (tlb.vpn[ti] !== vpn || (tlb.perm[ti] & c.accW) === 0) return 0;
  const pa = tlb.page[ti] + off;
  const bytes = k * size;
  dirtyCode(c, pa);
  const ram = c.ram;
  const lo = size === 1 ? c.rl[RAX] & 0xff : size === 2 ? c.rl[RAX] & 0xffff : c.rl[RAX];
  const hi = c.rh[RAX];
  const b0 = lo & 0xff;
  let uniform: boolean;
  switch (size) {
    case 1: uniform = true; break;
    case 2: uniform = (lo >>> 8) === b0; break;
    case 4: uniform = (lo >>> 0) === b0 * 0x01010101; break;
    default: uniform = (lo >>> 0) === b0 * 0x01010101 && hi === lo; break;
  }
  if (uniform) ram.fill(b0, pa, pa + bytes);
  else {
    const v = c.ramView;
    if (size === 2) v.setUint16(pa, lo, true);
    else { v.setInt32(pa, lo, true); if (size === 8) v.setInt32(pa + 4, hi, true); }
    // Double the filled prefix until the block is complete.
    let done = size;
    while (done < bytes) {
      const n = Math.min(done, bytes - done);
      ram.copyWithin(pa + done, pa, pa + n);
      done += n;
    }
  }
  addIdx(c, RDI, i.addrSize, bytes);
  subCount(c, i.addrSize, k);
  return k;
}

/** REP MOVS forward within the current source and destination pages. */
function movsBlock(c: Cpu, i: Insn, size: number, max: number): number {
  const as = i.addrSize;
  const s = strLin(c, i, srcSeg(i), RSI);
  const t = strLin(c, i, ES, RDI);
  const so = s & 0xfff, to = t & 0xfff;
  let k = Math.min(max, ((4096 - so) / size) | 0, ((4096 - to) / size) | 0,
    roomBeforeWrap(c, RSI, as, size), roomBeforeWrap(c, RDI, as, size));
  if (k < 2) return 0;
  const tlb = c.tlb;
  const svpn = (s - so) / 4096, si = svpn & TLB_MASK;
  if (tlb.vpn[si] !== svpn || (tlb.perm[si] & c.accR) === 0) return 0;
  const tvpn = (t - to) / 4096, ti = tvpn & TLB_MASK;
  if (tlb.vpn[ti] !== tvpn || (tlb.perm[ti] & c.accW) === 0) return 0;
  const sPa = tlb.page[si] + so, tPa = tlb.page[ti] + to;
  let bytes = k * size;
  // An element-by-element forward copy onto a destination just ahead of the source replicates the
  // data; copyWithin would behave like memmove. Copy at most the non-overlapping distance at a time.
  if (tPa > sPa && tPa < sPa + bytes) {
    k = Math.floor((tPa - sPa) / size);
    if (k < 2) return 0;
    bytes = k * size;
  }
  dirtyCode(c, tPa);
  c.ram.copyWithin(tPa, sPa, sPa + bytes);
  addIdx(c, RSI, as, bytes); addIdx(c, RDI, as, bytes);
  subCount(c, as, k);
  return k;
}

// ------------------------------------------------------------------ handlers

const movs: Handler = (c, i) => { const size = i.opSize >> 3; movsOne(c, i, size, delta(c, size)); };
const stos: Handler = (c, i) => { const size = i.opSize >> 3; stosOne(c, i, size, delta(c, size)); };
const lods: Handler = (c, i) => { const size = i.opSize >> 3; lodsOne(c, i, size, delta(c, size)); };
const cmps: Handler = (c, i) => { const size = i.opSize >> 3; cmpsOne(c, i, size, delta(c, size)); };
const scas: Handler = (c, i) => { const size = i.opSize >> 3; scasOne(c, i, size, delta(c, size)); };

/**
 * A REP with a 32-bit address size and ECX = 0 still writes ECX, zero-extending RCX, and REP MOVS /
 * REP STOS also write their ESI/EDI (recorded on Intel hardware, tests/conformance/vectors; a 32-bit
 * register write zero-extends, SDM Vol. 1 3.4.1.1). Nothing else happens.
 */
function repZeroCount(c: Cpu, as: number, si: boolean, di: boolean): void {
  if (as !== 32) return;
  c.rh[RCX] = 0;
  if (si) c.rh[RSI] = 0;
  if (di) c.rh[RDI] = 0;
}

const repMovs: Handler = (c, i) => {
  const as = i.addrSize, size = i.opSize >> 3;
  let n = getCount(c, as);
  if (n === 0) { repZeroCount(c, as, true, true); return; }
  const d = delta(c, size);
  let budget = REP_CHUNK;
  while (n > 0 && budget > 0) {
    if (d > 0) {
      const k = movsBlock(c, i, size, Math.min(n, budget));
      if (k > 0) { n -= k; budget -= k; continue; }
    }
    movsOne(c, i, size, d);
    subCount(c, as, 1);
    n--; budget--;
  }
  if (n > 0) repYield(c);
};

const repStos: Handler = (c, i) => {
  const as = i.addrSize, size = i.opSize >> 3;
  let n = getCount(c, as);
  if (n === 0) { repZeroCount(c, as, false, true); return; }
  const d = delta(c, size);
  let budget = REP_CHUNK;
  while (n > 0 && budget > 0) {
    if (d > 0) {
      const k = stosBlock(c, i, size, Math.min(n, budget));
      if (k > 0) { n -= k; budget -= k; continue; }
    }
    stosOne(c, i, size, d);
    subCount(c, as, 1);
    n--; budget--;
  }
  if (n > 0) repYield(c);
};

const repLods: Handler = (c, i) => {
  const as = i.addrSize, size = i.opSize >> 3;
  let n = getCount(c, as);
  if (n === 0) { repZeroCount(c, as, false, false); return; }
  const d = delta(c, size);
  let budget = REP_CHUNK;
  while (n > 0 && budget > 0) {
    lodsOne(c, i, size, d);
    subCount(c, as, 1);
    n--; budget--;
  }
  if (n > 0) repYield(c);
};

/**
 * Forward byte SCAS/CMPS within the current page(s) straight from RAM: scans until the REPE/REPNE
 * condition ends the loop or the block ends, then records the flags of the last comparison and
 * updates the registers as the element loop would. Returns the elements done (0: not applicable).
 */
function scanBlock(c: Cpu, i: Insn, max: number, stopOnZ: boolean, cmps: boolean): number {
  const as = i.addrSize;
  const t = strLin(c, i, ES, RDI);
  const to = t & 0xfff;
  let k = Math.min(max, 4096 - to, roomBeforeWrap(c, RDI, as, 1));
  const tlb = c.tlb;
  const tvpn = (t - to) / 4096, ti = tvpn & TLB_MASK;
  if (tlb.vpn[ti] !== tvpn || (tlb.perm[ti] & c.accR) === 0) return 0;
  const tPa = tlb.page[ti] + to;
  const ram = c.ram;
  let sPa = 0, al = 0;
  if (cmps) {
    const s = strLin(c, i, srcSeg(i), RSI);
    const so = s & 0xfff;
    k = Math.min(k, 4096 - so, roomBeforeWrap(c, RSI, as, 1));
    const svpn = (s - so) / 4096, si = svpn & TLB_MASK;
    if (tlb.vpn[si] !== svpn || (tlb.perm[si] & c.accR) === 0) return 0;
    sPa = tlb.page[si] + so;
  } else al = c.rl[RAX] & 0xff;
  if (k < 2) return 0;
  let j = 0, a = 0, b = 0;
  while (j < k) {
    a = cmps ? ram[sPa + j] : al;
    b = ram[tPa + j];
    j++;
    if ((a === b) === stopOnZ) break;
  }
  cmpFlags(c, 1, a, 0, b, 0);
  if (cmps) addIdx(c, RSI, as, j);
  addIdx(c, RDI, as, j);
  subCount(c, as, j);
  return j;
}

/** REPE (F3) stops when ZF = 0, REPNE (F2) when ZF = 1, each checked after rCX is decremented. */
function repCompare(c: Cpu, i: Insn, cmps: boolean): void {
  const as = i.addrSize, size = i.opSize >> 3;
  let n = getCount(c, as);
  if (n === 0) { repZeroCount(c, as, false, false); return; }
  const d = delta(c, size);
  const stopOnZ = i.rep === 0xf2;
  const fast = size === 1 && d > 0;
  let budget = REP_CHUNK;
  for (;;) {
    const k = fast ? scanBlock(c, i, Math.min(n, budget), stopOnZ, cmps) : 0;
    if (k > 0) { n -= k; budget -= k; }
    else {
      if (cmps) cmpsOne(c, i, size, d); else scasOne(c, i, size, d);
      subCount(c, as, 1);
      n--; budget--;
    }
    if (n === 0) return;
    if ((getZF(c) !== 0) === stopOnZ) return;
    if (budget === 0) { repYield(c); return; }
  }
}
const repCmps: Handler = (c, i) => repCompare(c, i, true);
const repScas: Handler = (c, i) => repCompare(c, i, false);

// ------------------------------------------------------------------ port I/O

/**
 * I/O permission (SDM Vol. 1 19.5, 19.5.2): in protected mode with CPL > IOPL, and always in
 * virtual-8086 mode, every bit of the TSS I/O permission bitmap covering port..port+size-1 must be 0.
 * The bitmap offset is the word at TSS+66H; the two bytes read must lie within the TSS limit.
 */
export function checkIoPermission(c: Cpu, port: number, size: number): void {
  if ((c.cr0 & CR0_PE) === 0) return;
  if ((c.flags & VM) === 0 && c.cpl <= ((c.flags >> 12) & 3)) return;
  const attr = c.segAttr[TR];
  const type = attr & 0xf;
  // Only 32-bit/64-bit TSSs (available 9 or busy 11) have a bitmap.
  if ((type !== 9 && type !== 11) || (attr & A_P) === 0 || c.segLimit[TR] < 0x67) gp0(c);
  const base = c.segBase[TR];
  const mapOff = rdSys16(c, base + 0x66);
  const byteOff = mapOff + (port >>> 3);
  if (byteOff + 1 > c.segLimit[TR]) gp0(c);
  const bits = rdSys16(c, base + byteOff);
  if (bits & (((1 << size) - 1) << (port & 7))) gp0(c);
}

function portIn(c: Cpu, port: number, size: number): number {
  return c.io.in(port, size);
}

function portOut(c: Cpu, port: number, size: number, v: number): void {
  c.io.out(port, size, size === 1 ? v & 0xff : size === 2 ? v & 0xffff : v >>> 0);
  c.checkEvents = true; // a device may have raised an interrupt or requested a stop
}

/** Write the element read from a port: probe the destination first so a #PF loses no port data. */
function insOne(c: Cpu, i: Insn, size: number, d: number, port: number): void {
  const t = strLin(c, i, ES, RDI);
  const user = c.cpl === 3;
  translate(c, t, ACC_WRITE, user);
  if (((t & 0xfff) + size) > 4096) translate(c, t + size - 1, ACC_WRITE, user);
  const v = portIn(c, port, size);
  wrN(c, t, size, v, 0);
  addIdx(c, RDI, i.addrSize, d);
}

function outsOne(c: Cpu, i: Insn, size: number, d: number, port: number): void {
  const s = strLin(c, i, srcSeg(i), RSI);
  const v = rdN(c, s, size);
  portOut(c, port, size, v);
  addIdx(c, RSI, i.addrSize, d);
}

/** INS/OUTS operand size: 8, 16 or 32 (REX.W does not make it 64). */
function ioSize(i: Insn): number { return i.opSize === 8 ? 1 : i.opSize === 16 ? 2 : 4; }

// In VMX non-root operation the I/O exiting controls are checked after the TSS I/O permission
// bitmap, whose #GP has priority (SDM Vol. 3C 25.1.1).
const ins: Handler = (c, i) => {
  const size = ioSize(i), port = c.rl[RDX] & 0xffff;
  checkIoPermission(c, port, size);
  if (c.vmxNonRoot) c.vmx!.io(c, i, port, size, IOQ_IN | IOQ_STRING);
  insOne(c, i, size, delta(c, size), port);
};
const outs: Handler = (c, i) => {
  const size = ioSize(i), port = c.rl[RDX] & 0xffff;
  checkIoPermission(c, port, size);
  if (c.vmxNonRoot) c.vmx!.io(c, i, port, size, IOQ_STRING);
  outsOne(c, i, size, delta(c, size), port);
};
const repIns: Handler = (c, i) => {
  const as = i.addrSize, size = ioSize(i), port = c.rl[RDX] & 0xffff;
  let n = getCount(c, as);
  if (n === 0) return;
  checkIoPermission(c, port, size);
  if (c.vmxNonRoot) c.vmx!.io(c, i, port, size, IOQ_IN | IOQ_STRING | IOQ_REP);
  const d = delta(c, size);
  let budget = REP_CHUNK;
  while (n > 0 && budget > 0) { insOne(c, i, size, d, port); subCount(c, as, 1); n--; budget--; }
  if (n > 0) repYield(c);
};
const repOuts: Handler = (c, i) => {
  const as = i.addrSize, size = ioSize(i), port = c.rl[RDX] & 0xffff;
  let n = getCount(c, as);
  if (n === 0) return;
  checkIoPermission(c, port, size);
  if (c.vmxNonRoot) c.vmx!.io(c, i, port, size, IOQ_STRING | IOQ_REP);
  const d = delta(c, size);
  let budget = REP_CHUNK;
  while (n > 0 && budget > 0) { outsOne(c, i, size, d, port); subCount(c, as, 1); n--; budget--; }
  if (n > 0) repYield(c);
};

// IN/OUT: E4-E7 take the port from imm8, EC-EF from DX.
function inAcc(c: Cpu, i: Insn, port: number, size: number, q: number): void {
  checkIoPermission(c, port, size);
  if (c.vmxNonRoot) c.vmx!.io(c, i, port, size, q);
  const v = portIn(c, port, size);
  if (size === 1) set8(c, RAX, v); else if (size === 2) set16(c, RAX, v); else set32(c, RAX, v | 0);
}
function outAcc(c: Cpu, i: Insn, port: number, size: number, q: number): void {
  checkIoPermission(c, port, size);
  if (c.vmxNonRoot) c.vmx!.io(c, i, port, size, q);
  portOut(c, port, size, c.rl[RAX]);
}
const inImm: Handler = (c, i) => inAcc(c, i, i.imm & 0xff, ioSize(i), IOQ_IN | IOQ_IMM);
const outImm: Handler = (c, i) => outAcc(c, i, i.imm & 0xff, ioSize(i), IOQ_IMM);
const inDx: Handler = (c, i) => inAcc(c, i, c.rl[RDX] & 0xffff, ioSize(i), IOQ_IN);
const outDx: Handler = (c, i) => outAcc(c, i, c.rl[RDX] & 0xffff, ioSize(i), 0);

// ------------------------------------------------------------------ opcode table

function str(op: number, name: string, byte: boolean, plain: Handler, rep: Handler): void {
  def(op, { name, modrm: false, imm: Imm.None, byte, pick: (i) => (i.rep !== 0 ? rep : plain) });
}
str(0x6c, 'insb', true, ins, repIns);
str(0x6d, 'ins', false, ins, repIns);
str(0x6e, 'outsb', true, outs, repOuts);
str(0x6f, 'outs', false, outs, repOuts);
str(0xa4, 'movsb', true, movs, repMovs);
str(0xa5, 'movs', false, movs, repMovs);
str(0xa6, 'cmpsb', true, cmps, repCmps);
str(0xa7, 'cmps', false, cmps, repCmps);
str(0xaa, 'stosb', true, stos, repStos);
str(0xab, 'stos', false, stos, repStos);
str(0xac, 'lodsb', true, lods, repLods);
str(0xad, 'lods', false, lods, repLods);
str(0xae, 'scasb', true, scas, repScas);
str(0xaf, 'scas', false, scas, repScas);

def(0xe4, { name: 'in', modrm: false, imm: Imm.Ib, byte: true, pick: () => inImm });
def(0xe5, { name: 'in', modrm: false, imm: Imm.Ib, pick: () => inImm });
def(0xe6, { name: 'out', modrm: false, imm: Imm.Ib, byte: true, pick: () => outImm });
def(0xe7, { name: 'out', modrm: false, imm: Imm.Ib, pick: () => outImm });
def(0xec, { name: 'in', modrm: false, imm: Imm.None, byte: true, pick: () => inDx });
def(0xed, { name: 'in', modrm: false, imm: Imm.None, pick: () => inDx });
def(0xee, { name: 'out', modrm: false, imm: Imm.None, byte: true, pick: () => outDx });
def(0xef, { name: 'out', modrm: false, imm: Imm.None, pick: () => outDx });
