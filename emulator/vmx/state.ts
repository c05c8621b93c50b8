// Per-CPU VMX state: VMX operation, the VMXON and current-VMCS pointers, the controls of the current
// VMCS cached at VM entry (the hot ones that non-root handlers test), and the exit information being
// recorded. Installed in `Cpu.vmx` by the first VMX instruction (or host-api.ts); it implements the
// cpu/vmx-hooks.ts interface by delegating to nonroot.ts.
import type { Cpu } from '../cpu/state.ts';
import type { Insn } from '../cpu/insn.ts';
import type { VmxHooks } from '../cpu/vmx-hooks.ts';
import * as nonroot from './nonroot.ts';
import { sppDeniedCached } from './ept.ts';
import { TlbContexts } from './tlb-contexts.ts';

/** The invalid pointer FFFFFFFF_FFFFFFFFH, kept as -1 (SDM Vol. 3C 24.1). */
export const INVALID_PTR = -1;

// Basic exit reasons (SDM Vol. 3C Appendix C).
export const ER_EXCEPTION = 0, ER_EXT_INT = 1, ER_TRIPLE_FAULT = 2, ER_INT_WINDOW = 7, ER_CPUID = 10,
  ER_HLT = 12, ER_INVD = 13, ER_INVLPG = 14, ER_RDPMC = 15, ER_RDTSC = 16, ER_VMCALL = 18, ER_VMCLEAR = 19,
  ER_VMLAUNCH = 20, ER_VMPTRLD = 21, ER_VMPTRST = 22, ER_VMREAD = 23, ER_VMRESUME = 24, ER_VMWRITE = 25,
  ER_VMXOFF = 26, ER_VMXON = 27, ER_CR_ACCESS = 28, ER_MOV_DR = 29, ER_IO = 30, ER_RDMSR = 31, ER_WRMSR = 32,
  ER_INVALID_GUEST = 33, ER_MSR_LOADING = 34, ER_EPT_VIOLATION = 48, ER_EPT_MISCONFIG = 49, ER_INVEPT = 50,
  ER_RDTSCP = 51, ER_PREEMPT = 52, ER_INVVPID = 53, ER_WBINVD = 54, ER_PML_FULL = 62, ER_SPP = 66;
/** Bit 31 of the exit reason: VM-entry failure (SDM Vol. 3C 24.9.1). */
export const ER_ENTRY_FAIL = 0x80000000;

/** Exit information gathered for the VM exit in progress (SDM Vol. 3C 27.2). NaN = field not written. */
export class ExitInfo {
  reason = 0;
  qual = 0;
  linear = NaN;
  gpa = NaN;
  intrInfo = 0;
  intrCode = 0;
  /** VM-exit instruction length; -1 = not written. */
  len = -1;
  /** VM-exit instruction information; -1 = not written. */
  info = -1;
  idtInfo = 0;
  idtCode = 0;

  reset(): void {
    this.reason = 0; this.qual = 0; this.linear = NaN; this.gpa = NaN; this.intrInfo = 0; this.intrCode = 0;
    this.len = -1; this.info = -1; this.idtInfo = 0; this.idtCode = 0;
  }
}

export class Vmx implements VmxHooks {
  /** In VMX operation (VMXON executed, no VMXOFF since). */
  on = false;
  /** VMXON pointer (physical address of the VMXON region). */
  vmxon = INVALID_PTR;
  /** Current-VMCS pointer (physical), or INVALID_PTR. */
  current = INVALID_PTR;
  /** A VM exit returns to TypeScript (host-api.ts) instead of continuing at host RIP. */
  tsHost = false;

  // ---- controls of the current VMCS, cached at VM entry (vmcs.ts loadControls)
  pin = 0;
  proc = 0;
  /** Secondary controls as in effect: 0 when "activate secondary controls" is 0. */
  proc2 = 0;
  exitCtls = 0;
  entryCtls = 0;
  excBitmap = 0;
  pfecMask = 0;
  pfecMatch = 0;
  cr0Mask = 0; cr0MaskHi = 0; cr0Shadow = 0; cr0ShadowHi = 0;
  cr4Mask = 0; cr4MaskHi = 0; cr4Shadow = 0; cr4ShadowHi = 0;
  cr3Count = 0;
  readonly cr3Targets = new Float64Array(4);
  ioBitmapA = 0;
  ioBitmapB = 0;
  msrBitmap = 0;
  tscOffset = 0;
  vpid = 0;
  /** VMX-preemption timer: value loaded at entry and floor(now / 2^rate) at entry. */
  timerValue = 0;
  timerBase = 0;

  // ---- EPT, PML and SPP of the current guest (set at VM entry from the VMCS; ept.ts)
  eptRoot = 0;
  /** EPTP bit 6: accessed and dirty flags for EPT. */
  eptAd = false;
  pmlOn = false;
  pmlAddr = 0;
  sppOn = false;
  sppRoot = 0;

  /** VPID/EPT-tagged TLB contexts (tlb-contexts.ts). */
  readonly tlbs = new TlbContexts();

  /** Exit information of the VM exit being recorded (and of the last one, for host-api.ts). */
  readonly x = new ExitInfo();

  // ---- statistics
  /** EPT walks (each guest paging-structure entry and each final address is one walk). */
  eptWalks = 0;
  eptViolations = 0;
  /** SPP-table walks: a write hit on a cached SPP mask does not walk (tests prove the caching by this count). */
  sppWalks = 0;
  pmlLogged = 0;
  entries = 0;
  exits = 0;
  readonly exitCounts = new Float64Array(80);
  /** Why the last VM entry failed a check (a short description; '' if none). */
  lastCheckFailure = '';

  // ---- cpu/vmx-hooks.ts
  insn(c: Cpu, i: Insn, kind: number): void { nonroot.insn(c, this, i, kind); }
  invlpg(c: Cpu, i: Insn, lin: number): void { nonroot.invlpg(c, this, i, lin); }
  io(c: Cpu, i: Insn, port: number, size: number, q: number): void { nonroot.io(c, this, i, port, size, q); }
  msr(c: Cpu, i: Insn, write: boolean): void { nonroot.msr(c, this, i, write); }
  movToCr(c: Cpu, i: Insn, cr: number, lo: number, hi: number): number { return nonroot.movToCr(c, this, i, cr, lo, hi); }
  movFromCr(c: Cpu, i: Insn, cr: number): void { nonroot.movFromCr(c, this, i, cr); }
  shadowCr(c: Cpu, cr: number, value: number): number { void c; return nonroot.shadowCr(this, cr, value); }
  clts(c: Cpu, i: Insn): boolean { return nonroot.clts(c, this, i); }
  lmsw(c: Cpu, i: Insn, src: number, lin: number): number { return nonroot.lmsw(c, this, i, src, lin); }
  movDr(c: Cpu, i: Insn, dr: number, toDr: boolean): void { nonroot.movDr(c, this, i, dr, toDr); }
  boundary(c: Cpu): boolean { return nonroot.boundary(c, this); }
  tripleFault(c: Cpu): void { nonroot.tripleFault(c, this); }
  sppDenied(c: Cpu, lin: number, gpa: number, rights: number): never { return sppDeniedCached(c, this, lin, gpa, rights); }
}

/** The VMX state of `c`, created on first use. */
export function vmxOf(c: Cpu): Vmx {
  let v = c.vmx as Vmx | null;
  if (v === null) { v = new Vmx(); c.vmx = v; }
  return v;
}
