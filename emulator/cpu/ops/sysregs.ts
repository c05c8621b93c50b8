// Control and debug registers: MOV to/from CR0/CR2/CR3/CR4/CR8 and DR0-DR7 (0F 20-23), CLTS, LMSW
// and the CR write helpers other code (VMX entry/exit, tests) uses (SDM Vol. 2B MOV—Move to/from
// Control Registers, MOV—Move to/from Debug Registers; Vol. 3A 2.5 Control Registers, 4.1.1-4.1.2
// paging modes, 10.8.5 Initializing IA-32e Mode).
//
// Writes keep the emulator's derived state exact: TLB flushes for CR3 (non-global) and for
// CR0.PG/WP/PE and CR4.PGE/PAE/PSE/SMEP changes (all), EFER.LMA activation and deactivation with
// CR0.PG, updateMode after CR0 writes, and c.checkEvents so the loop re-examines events.
// Debug registers are storage only: breakpoints and DR7.GD are not implemented.
import {
  Cpu, CS, CR0_PE, CR0_MP, CR0_EM, CR0_TS, CR0_ET, CR0_NE, CR0_WP, CR0_AM, CR0_NW, CR0_CD, CR0_PG,
  CR4_TSD, CR4_DE, CR4_PSE, CR4_PAE, CR4_MCE, CR4_PGE, CR4_PCE, CR4_OSFXSR, CR4_OSXMMEXCPT, CR4_UMIP,
  CR4_SMEP, EFER_LME, EFER_LMA, MODE_LONG64,
} from '../state.ts';
import type { Insn, Handler } from '../insn.ts';
import { gp0, ud } from '../fault.ts';
import { updateMode, A_L } from '../segments.ts';
import { MAXPHYADDR } from '../paging.ts';
import { ACC_READ } from '../paging.ts';

const TWO32 = 4294967296;

/** CR0 bits that exist; writes to other bits of CR0[31:0] are ignored, ET is hardwired to 1. */
const CR0_DEFINED = CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_NW | CR0_CD | CR0_PG;

/**
 * CR4 bits this CPU supports; setting any other bit is #GP(0). VME/PVI (virtual-8086 extensions),
 * PCIDE, FSGSBASE, OSXSAVE, SMAP, PKE are not implemented. VMXE is added by the VMX layer through
 * allowCr4Bits when it reports VMX in CPUID.
 */
let cr4Allowed = CR4_TSD | CR4_DE | CR4_PSE | CR4_PAE | CR4_MCE | CR4_PGE | CR4_PCE | CR4_OSFXSR |
  CR4_OSXMMEXCPT | CR4_UMIP | CR4_SMEP;
export function allowCr4Bits(bits: number): void { cr4Allowed |= bits; }
export function cr4AllowedBits(): number { return cr4Allowed; }

/** Bits of a 64-bit address's high dword at or above MAXPHYADDR (reserved in CR3 and PDPTEs). */
const HI_RSVD = (0xffffffff & ~((1 << (MAXPHYADDR - 32)) - 1)) | 0;

/**
 * PAE paging loads the four PDPTEs at CR0/CR3/CR4 writes; a present PDPTE with reserved bits set
 * (2:1, 8:5, 63:MAXPHYADDR) makes the write #GP(0) (SDM Vol. 3A 4.4.1).
 */
function checkPdptes(c: Cpu, cr3: number): void {
  const base = (cr3 >>> 0) & 0xffffffe0;
  for (let k = 0; k < 4; k++) {
    let pa = base + k * 8;
    if (c.gpaToHpa !== null) pa = c.gpaToHpa(c, pa, ACC_READ, NaN, 0); // no linear address (SDM 28.3.3.2 bit 7 = 0)
    const lo = c.mem.read(pa, 4) | 0;
    const hi = c.mem.read(pa + 4, 4) | 0;
    if ((lo & 1) && ((lo & 0x1e6) || (hi & HI_RSVD))) gp0(c);
  }
}

function paePagingAfter(c: Cpu, cr0: number, cr4: number): boolean {
  return (cr0 & CR0_PG) !== 0 && (cr4 & CR4_PAE) !== 0 && (c.efer & EFER_LME) === 0;
}

/** MOV to CR0 (also LMSW, CLTS): value as halves; hi must be 0 (bits 63:32 reserved). */
export function writeCr0(c: Cpu, lo: number, hi: number): void {
  if (hi !== 0) gp0(c);
  const v = ((lo & CR0_DEFINED) | CR0_ET) >>> 0;
  if ((~v & c.cr0Fixed0) !== 0) gp0(c); // bits fixed to 1 in VMX operation (SDM Vol. 3C 23.8)
  if ((v & CR0_PG) && !(v & CR0_PE)) gp0(c);
  if ((v & CR0_NW) && !(v & CR0_CD)) gp0(c);
  const old = c.cr0 >>> 0;
  const pgOn = (old & CR0_PG) === 0 && (v & CR0_PG) !== 0;
  const pgOff = (old & CR0_PG) !== 0 && (v & CR0_PG) === 0;
  if (pgOn && (c.efer & EFER_LME)) {
    // IA-32e activation needs PAE and cannot happen from code running with CS.L = 1.
    if ((c.cr4 & CR4_PAE) === 0 || (c.segAttr[CS] & A_L) !== 0) gp0(c);
  }
  if (pgOff && c.mode === MODE_LONG64) gp0(c); // cannot leave IA-32e mode from 64-bit code
  if (paePagingAfter(c, v, c.cr4) && ((old ^ v) & (CR0_PG | CR0_CD | CR0_NW))) checkPdptes(c, c.cr3);
  c.cr0 = v;
  if (pgOn && (c.efer & EFER_LME)) c.efer |= EFER_LMA; // SDM Vol. 3A 10.8.5
  if (pgOff) c.efer &= ~EFER_LMA;
  if ((old ^ v) & (CR0_PG | CR0_WP | CR0_PE)) c.tlb.flushAll();
  updateMode(c);
  c.checkEvents = true;
}

/** MOV to CR3. In IA-32e mode bits 63:MAXPHYADDR are reserved (#GP(0)); no PCIDs. */
export function writeCr3(c: Cpu, lo: number, hi: number): void {
  let v: number;
  if (c.efer & EFER_LMA) {
    if (hi & HI_RSVD) gp0(c);
    v = (hi >>> 0) * TWO32 + (lo >>> 0);
  } else v = lo >>> 0;
  if (paePagingAfter(c, c.cr0, c.cr4)) checkPdptes(c, v);
  c.cr3 = v;
  c.tlb.flushNonGlobal();
  c.checkEvents = true;
}

/** MOV to CR4. */
export function writeCr4(c: Cpu, lo: number, hi: number): void {
  if (hi !== 0 || (lo & ~cr4Allowed) !== 0) gp0(c);
  if ((~lo & c.cr4Fixed0) !== 0) gp0(c); // CR4.VMXE cannot be cleared in VMX operation (SDM Vol. 3C 23.8)
  const v = lo >>> 0;
  const old = c.cr4;
  if ((c.efer & EFER_LMA) && (v & CR4_PAE) === 0) gp0(c); // cannot leave IA-32e mode by clearing PAE
  const pagingBits = CR4_PGE | CR4_PAE | CR4_PSE | CR4_SMEP;
  if (paePagingAfter(c, c.cr0, v) && ((old ^ v) & pagingBits)) checkPdptes(c, c.cr3);
  c.cr4 = v;
  if ((old ^ v) & pagingBits) c.tlb.flushAll();
  c.checkEvents = true;
}

// ---------------------------------------------------------------- MOV CR / DR handlers

/** Control/debug register moves need CPL 0 (virtual-8086 mode has CPL 3). */
function needCpl0(c: Cpu): void { if (c.cpl !== 0) gp0(c); }

/** Write a 64-bit (64-bit mode) or 32-bit result to the ModRM.rm register. */
function putReg(c: Cpu, i: Insn, v: number): void {
  if (i.mode === MODE_LONG64) c.setReg64(i.rm, v);
  else { c.rl[i.rm] = (v % TWO32) | 0; c.rh[i.rm] = 0; }
}

/** Source register halves: 64-bit in 64-bit mode, else 32 bits (hi = 0). */
function srcHi(c: Cpu, i: Insn): number { return i.mode === MODE_LONG64 ? c.rh[i.rm] : 0; }

/** CR0 as software reads it (MOV from CR0, SMSW): in VMX non-root operation host-owned bits come from the read shadow. */
export function readCr0(c: Cpu): number { return (c.vmxNonRoot ? c.vmx!.shadowCr(c, 0, c.cr0) : c.cr0) >>> 0; }
function readCr4(c: Cpu): number { return (c.vmxNonRoot ? c.vmx!.shadowCr(c, 4, c.cr4) : c.cr4) >>> 0; }

const movFromCr: Handler = (c, i) => {
  needCpl0(c);
  if (c.vmxNonRoot) c.vmx!.movFromCr(c, i, i.reg); // CR3-store / CR8-store exiting (SDM Vol. 3C 25.1.3)
  switch (i.reg) {
    case 0: putReg(c, i, readCr0(c)); return;
    case 2: putReg(c, i, c.cr2); return;
    case 3: putReg(c, i, c.cr3); return;
    case 4: putReg(c, i, readCr4(c)); return;
    default: putReg(c, i, c.readCr8() & 0xf); return; // CR8 = TPR[7:4] (SDM Vol. 3A 11.8.6.5)
  }
};

const movToCr: Handler = (c, i) => {
  needCpl0(c);
  let lo = c.rl[i.rm];
  const hi = srcHi(c, i);
  // VMX non-root: guest/host masks, CR3-target values, CR8-load exiting decide on a VM exit; for
  // CR0/CR4 the host-owned bits keep their values (SDM Vol. 3C 25.1.3, 25.3).
  if (c.vmxNonRoot) lo = c.vmx!.movToCr(c, i, i.reg, lo, hi);
  switch (i.reg) {
    case 0: writeCr0(c, lo, hi); return;
    case 2: c.cr2 = i.mode === MODE_LONG64 ? c.getReg64(i.rm) : lo >>> 0; return;
    case 3: writeCr3(c, lo, hi); return;
    case 4: writeCr4(c, lo, hi); return;
    default:
      if (hi !== 0 || (lo & ~0xf) !== 0) gp0(c); // CR8 bits 63:4 reserved
      c.writeCr8(lo & 0xf);
      c.checkEvents = true;
      return;
  }
};

/** DR4/DR5 alias DR6/DR7 unless CR4.DE = 1, which makes them #UD (SDM Vol. 3A 18.2.2). */
function drIndex(c: Cpu, n: number): number {
  if (n === 4 || n === 5) {
    if (c.cr4 & CR4_DE) ud(c);
    return n + 2;
  }
  return n;
}

const movFromDr: Handler = (c, i) => {
  needCpl0(c);
  const n = drIndex(c, i.reg);
  if (c.vmxNonRoot) c.vmx!.movDr(c, i, i.reg, false); // MOV-DR exiting
  putReg(c, i, c.dr[n]);
};

const movToDr: Handler = (c, i) => {
  needCpl0(c);
  const n = drIndex(c, i.reg);
  if (c.vmxNonRoot) c.vmx!.movDr(c, i, i.reg, true);
  const lo = c.rl[i.rm], hi = srcHi(c, i);
  if (n < 4) { c.dr[n] = i.mode === MODE_LONG64 ? c.getReg64(i.rm) : lo >>> 0; return; }
  if (hi !== 0) gp0(c); // DR6/DR7 bits 63:32 must be zero
  // DR6: bits 4-11 and 16-31 read as 1, bit 12 as 0; DR7: bit 10 reads as 1, 11/12/14/15 as 0.
  if (n === 6) c.dr[6] = ((lo & 0x0000e00f) | 0xffff0ff0) >>> 0;
  else c.dr[7] = ((lo & 0xffff2bff) | 0x400) >>> 0;
};

/** CLTS (0F 06): clear CR0.TS, CPL 0 only. */
export const clts: Handler = (c, i) => {
  needCpl0(c);
  if (c.vmxNonRoot && !c.vmx!.clts(c, i)) return; // exits, or TS is host-owned with shadow TS = 0
  c.cr0 = (c.cr0 & ~CR0_TS) >>> 0;
};

/** LMSW r/m16: loads CR0 bits 3:0; PE can be set but not cleared (SDM Vol. 2A LMSW). */
export function lmsw(c: Cpu, v: number): void {
  needCpl0(c);
  const cur = c.cr0 >>> 0;
  writeCr0(c, (cur & ~0xf) | (v & 0xf) | (cur & CR0_PE), 0);
}

// CR numbers that exist: 0, 2, 3, 4 and (with REX.R) 8; others are #UD. DR8-DR15 do not exist.
function validCr(n: number): boolean { return n === 0 || n === 2 || n === 3 || n === 4 || n === 8; }
export const pickMovFromCr = (i: Insn): Handler | undefined => (validCr(i.reg) && !i.lock ? movFromCr : undefined);
export const pickMovToCr = (i: Insn): Handler | undefined => (validCr(i.reg) && !i.lock ? movToCr : undefined);
export const pickMovFromDr = (i: Insn): Handler | undefined => (i.reg < 8 && !i.lock ? movFromDr : undefined);
export const pickMovToDr = (i: Insn): Handler | undefined => (i.reg < 8 && !i.lock ? movToDr : undefined);
