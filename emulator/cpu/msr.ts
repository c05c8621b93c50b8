// Model-specific registers for RDMSR/WRMSR (SDM Vol. 4, Vol. 2B RDMSR/WRMSR). Each MSR is an entry
// in a table keyed by its index; an index not in the table raises #GP(0), as does writing a
// reserved bit or a non-canonical address where the SDM says so. Values travel as 32-bit halves.
//
// MTRRs: IA32_MTRRCAP reads 0 (no variable or fixed ranges, no WC) and IA32_MTRR_DEF_TYPE reads 0
// (MTRRs disabled); writes to MTRR_DEF_TYPE are accepted and ignored. CPUID does not report MTRR,
// so software should not touch them. The range MSRs do not exist (#GP) since MTRRCAP reports none.
import { Cpu, FS, GS, CR0_PG, EFER_SCE, EFER_LME, EFER_LMA, EFER_NXE } from './state.ts';
import { gp0 } from './fault.ts';
import { updateMode } from './segments.ts';
import { cpuidConfig } from './cpuid.ts';

const TWO32 = 4294967296;

export const MSR_TSC = 0x10, MSR_APIC_BASE = 0x1b, MSR_FEATURE_CONTROL = 0x3a, MSR_MTRRCAP = 0xfe,
  MSR_SYSENTER_CS = 0x174, MSR_SYSENTER_ESP = 0x175, MSR_SYSENTER_EIP = 0x176, MSR_MISC_ENABLE = 0x1a0,
  MSR_PAT = 0x277, MSR_MTRR_DEF_TYPE = 0x2ff, MSR_EFER = 0xc0000080, MSR_STAR = 0xc0000081,
  MSR_LSTAR = 0xc0000082, MSR_CSTAR = 0xc0000083, MSR_FMASK = 0xc0000084, MSR_FS_BASE = 0xc0000100,
  MSR_GS_BASE = 0xc0000101, MSR_KERNEL_GS_BASE = 0xc0000102, MSR_TSC_AUX = 0xc0000103;

/** Result of readMsr (low and high halves, int32). */
export let msrLo = 0, msrHi = 0;

interface MsrDef {
  read(c: Cpu): void;
  write(c: Cpu, lo: number, hi: number): void;
}

const table = new Map<number, MsrDef>();

/** Register an MSR (used below and by layers that add MSRs, e.g. the VMX capability MSRs). */
export function defineMsr(index: number, d: MsrDef): void {
  if (table.has(index >>> 0)) throw new Error(`MSR 0x${index.toString(16)} defined twice`);
  table.set(index >>> 0, d);
}

function out(lo: number, hi: number): void { msrLo = lo | 0; msrHi = hi | 0; }
/** RDMSR result for MSRs that other layers define with defineMsr (e.g. the VMX capability MSRs). */
export function setMsrResult(lo: number, hi: number): void { out(lo, hi); }
/** A signed (sign-extended) 64-bit double as halves. */
function outAddr(v: number): void {
  const hi = Math.floor(v / TWO32);
  out(v - hi * TWO32, hi);
}
function canonicalHalves(hi: number): boolean { return ((hi << 16) >> 16) === hi; }
/** Canonical address from halves, as a sign-extended double; #GP(0) if not canonical. */
function addrOf(c: Cpu, lo: number, hi: number): number {
  if (!canonicalHalves(hi | 0)) gp0(c);
  return (hi | 0) * TWO32 + (lo >>> 0);
}
const readOnly = (c: Cpu): void => { gp0(c); };

/** Time-stamp counter in 1 GHz virtual ticks (SDM Vol. 3B 18.17): now() plus the WRMSR offset. */
export function readTsc(c: Cpu): number {
  // In VMX non-root operation with "use TSC offsetting" the VMCS TSC offset is added (SDM Vol. 3C 25.3).
  const v = c.now() + c.tscOffset + c.vmxTscOffset;
  return v < 0 ? 0 : v;
}

defineMsr(MSR_TSC, {
  read: (c) => { const v = readTsc(c); out(v % TWO32, Math.floor(v / TWO32)); },
  write: (c, lo, hi) => { c.tscOffset = (hi >>> 0) * TWO32 + (lo >>> 0) - c.now(); },
});

defineMsr(MSR_APIC_BASE, {
  read: (c) => { if (c.apicBaseMsr === null) gp0(c); const v = c.apicBaseMsr.read(); out(v % TWO32, Math.floor(v / TWO32)); },
  write: (c, lo, hi) => { if (c.apicBaseMsr === null || !c.apicBaseMsr.write(lo, hi)) gp0(c); },
});

// IA32_FEATURE_CONTROL: bit 0 lock, bit 1 VMX inside SMX, bit 2 VMX outside SMX (the VMX bits only
// when CPUID reports VMX). Any write once locked is #GP(0) (SDM Vol. 3C 24.7).
defineMsr(MSR_FEATURE_CONTROL, {
  read: (c) => out(c.featureControl, 0),
  write: (c, lo, hi) => {
    const vmx = (cpuidConfig.leaf1Ecx & (1 << 5)) !== 0;
    const allowed = 1 | (vmx ? 6 : 0);
    if ((c.featureControl & 1) || hi !== 0 || (lo & ~allowed)) gp0(c);
    c.featureControl = lo & allowed;
  },
});

defineMsr(MSR_MTRRCAP, { read: () => out(0, 0), write: readOnly });
defineMsr(MSR_MTRR_DEF_TYPE, { read: () => out(0, 0), write: () => {} });

defineMsr(MSR_SYSENTER_CS, {
  read: (c) => out(c.sysenterCs, 0),
  write: (c, lo) => { c.sysenterCs = lo & 0xffff; },
});
defineMsr(MSR_SYSENTER_ESP, {
  read: (c) => outAddr(c.sysenterEsp),
  write: (c, lo, hi) => { c.sysenterEsp = addrOf(c, lo, hi); },
});
defineMsr(MSR_SYSENTER_EIP, {
  read: (c) => outAddr(c.sysenterEip),
  write: (c, lo, hi) => { c.sysenterEip = addrOf(c, lo, hi); },
});

// IA32_MISC_ENABLE: bit 0 fast strings (set), bit 22 limits CPUID's maximum basic leaf to 2.
defineMsr(MSR_MISC_ENABLE, {
  read: (c) => out(c.miscEnable, 0),
  write: (c, lo) => { c.miscEnable = lo | 0; },
});

// IA32_PAT: eight memory types, each 0 (UC), 1 (WC), 4 (WT), 5 (WP), 6 (WB) or 7 (UC-); others #GP(0).
function patOk(v: number): boolean {
  for (let k = 0; k < 4; k++) {
    const t = (v >>> (8 * k)) & 0xff;
    if (t === 2 || t === 3 || t > 7) return false;
  }
  return true;
}
defineMsr(MSR_PAT, {
  read: (c) => out(c.patLo, c.patHi),
  write: (c, lo, hi) => {
    if (!patOk(lo) || !patOk(hi)) gp0(c);
    c.patLo = lo | 0; c.patHi = hi | 0;
  },
});

// IA32_EFER: SCE, LME, NXE writable; LMA is read-only (written values ignored); other bits reserved.
// LME cannot change while paging is enabled (SDM Vol. 3A 4.1.2). NXE changes page permissions, so
// the TLB is flushed.
defineMsr(MSR_EFER, {
  read: (c) => out(c.efer, 0),
  write: (c, lo, hi) => {
    const writable = EFER_SCE | EFER_LME | EFER_NXE;
    if (hi !== 0 || (lo & ~(writable | EFER_LMA)) !== 0) gp0(c);
    if (((lo ^ c.efer) & EFER_LME) !== 0 && (c.cr0 & CR0_PG) !== 0) gp0(c);
    const old = c.efer;
    c.efer = (lo & writable) | (c.efer & EFER_LMA);
    if ((old ^ c.efer) & EFER_NXE) c.tlb.flushAll();
    updateMode(c);
  },
});

defineMsr(MSR_STAR, {
  read: (c) => out(c.star, c.starHi),
  write: (c, lo, hi) => { c.star = lo | 0; c.starHi = hi | 0; },
});
defineMsr(MSR_LSTAR, {
  read: (c) => outAddr(c.lstar),
  write: (c, lo, hi) => { c.lstar = addrOf(c, lo, hi); },
});
defineMsr(MSR_CSTAR, {
  read: (c) => outAddr(c.cstar),
  write: (c, lo, hi) => { c.cstar = addrOf(c, lo, hi); },
});
// IA32_FMASK: bits 31:0 mask RFLAGS at SYSCALL; bits 63:32 reserved.
defineMsr(MSR_FMASK, {
  read: (c) => out(c.sfmask, 0),
  write: (c, lo, hi) => { if (hi !== 0) gp0(c); c.sfmask = lo | 0; },
});
defineMsr(MSR_FS_BASE, {
  read: (c) => outAddr(c.segBase[FS]),
  write: (c, lo, hi) => { c.segBase[FS] = addrOf(c, lo, hi); },
});
defineMsr(MSR_GS_BASE, {
  read: (c) => outAddr(c.segBase[GS]),
  write: (c, lo, hi) => { c.segBase[GS] = addrOf(c, lo, hi); },
});
defineMsr(MSR_KERNEL_GS_BASE, {
  read: (c) => outAddr(c.kernelGsBase),
  write: (c, lo, hi) => { c.kernelGsBase = addrOf(c, lo, hi); },
});
defineMsr(MSR_TSC_AUX, {
  read: (c) => out(c.tscAux, 0),
  write: (c, lo, hi) => { if (hi !== 0) gp0(c); c.tscAux = lo | 0; },
});

/** RDMSR: value of MSR `index` into msrLo/msrHi; #GP(0) for an MSR that does not exist. */
export function readMsr(c: Cpu, index: number): void {
  const d = table.get(index >>> 0);
  if (d === undefined) gp0(c);
  d.read(c);
}

/** WRMSR: write MSR `index`; #GP(0) for an unknown MSR or a value the MSR rejects. */
export function writeMsr(c: Cpu, index: number, lo: number, hi: number): void {
  const d = table.get(index >>> 0);
  if (d === undefined) gp0(c);
  d.write(c, lo | 0, hi | 0);
  c.checkEvents = true;
}
