// The checks VM entry performs before it loads anything (SDM Vol. 3C 26.2, 26.3.1), for everything
// this engine implements. Control-field failures → VMfailValid(7); host-state failures →
// VMfailValid(8); guest-state failures → VM-entry failure, exit reason 33 with bit 31 set (the
// return value is its exit qualification). Each failing check records a short description in
// `Vmx.lastCheckFailure` (for tests and `--stats`; the SDM does not say which check failed).
import {
  Cpu, CS, SS, TR, LDTR, CR0_PE, CR0_PG, CR4_PAE, EFER_LMA, EFER_LME, EFER_SCE, EFER_NXE, VM as RFLAGS_VM, IF,
} from '../cpu/state.ts';
import { MAXPHYADDR } from '../cpu/paging.ts';
import * as F from './fields.ts';
import { vmcsRead, vmcsRead32, vmcsReadNum, vmcsHi } from './vmcs.ts';
import type { Vmx } from './state.ts';
import {
  ctlOk, pinCaps, procCaps, proc2Caps, exitCaps, entryCaps, CR3_TARGETS, VMCS_REVISION,
  PIN_PREEMPT, PROC_IO_BITMAPS, PROC_MSR_BITMAPS, PROC_SECONDARY, PROC2_VPID, PROC2_EPT, PROC2_UNRESTRICTED,
  PROC2_PML, PROC2_SPP, EXIT_SAVE_TIMER, EXIT_HOST_64, EXIT_LOAD_PAT, EXIT_LOAD_EFER, ENTRY_IA32E,
  ENTRY_LOAD_DEBUG, ENTRY_LOAD_PAT, ENTRY_LOAD_EFER, CR0_FIXED0, CR0_FIXED1, CR4_FIXED0, cr4Fixed1,
  eptCapLo, EPT_CAP_UC, EPT_CAP_WB, EPT_CAP_AD,
} from './capabilities.ts';
import { GUEST_SEL, GUEST_BASE, GUEST_LIMIT, GUEST_AR, pdptesValid } from './exit.ts';
import { AR_UNUSABLE } from './access-rights.ts';

const TWO32 = 4294967296;
const CANON = 140737488355328; // 2^47
/** Bits of the high half at or above MAXPHYADDR. */
const HI_BEYOND = (0xffffffff & ~((1 << (MAXPHYADDR - 32)) - 1)) | 0;

function canonical(v: number): boolean { return v >= -CANON && v < CANON; }
/** A physical address (as a number) with no bit at or beyond MAXPHYADDR and the low `align` bits 0. */
function physOk(a: number, alignMask: number): boolean {
  return a >= 0 && a < 2 ** MAXPHYADDR && (a % (alignMask + 1)) === 0;
}
/** Each byte of a PAT value is 0, 1, 4, 5, 6 or 7 (SDM 26.2.2, 26.3.1.1). */
function patValid(lo: number, hi: number): boolean {
  for (const w of [lo, hi]) for (let k = 0; k < 4; k++) { const t = (w >>> (8 * k)) & 0xff; if (t === 2 || t === 3 || t > 7) return false; }
  return true;
}
const EFER_VALID = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;

function fail(v: Vmx, what: string): false { v.lastCheckFailure = what; return false; }

/** EPTP validity (SDM 26.2.1.1): memory type, 4-level walk, A/D only if supported, reserved bits. */
export function eptpValid(lo: number, hi: number): boolean {
  const type = lo & 7, caps = eptCapLo();
  if (!((type === 0 && (caps & EPT_CAP_UC)) || (type === 6 && (caps & EPT_CAP_WB)))) return false;
  if (((lo >>> 3) & 7) !== 3) return false;
  if ((lo & 0x40) && !(caps & EPT_CAP_AD)) return false;
  if (lo & 0xf80) return false; // bits 11:7 reserved
  return (hi & HI_BEYOND) === 0;
}

/** SDM 26.2.1: VM-execution, VM-exit and VM-entry control fields. False → VMfailValid(7). */
export function checkControls(c: Cpu, v: Vmx, base: number): boolean {
  const rawProc2 = (v.proc & PROC_SECONDARY) ? vmcsRead(c, base, F.PROC_CTLS2) : 0;
  // 26.2.1.1 VM-execution control fields (the TRUE capability MSRs apply: IA32_VMX_BASIC[55] = 1).
  if (!ctlOk(v.pin, pinCaps())) return fail(v, 'pin-based controls outside IA32_VMX_TRUE_PINBASED_CTLS');
  if (!ctlOk(v.proc, procCaps(true))) return fail(v, 'processor-based controls outside IA32_VMX_TRUE_PROCBASED_CTLS');
  if ((v.proc & PROC_SECONDARY) && !ctlOk(rawProc2, proc2Caps())) return fail(v, 'secondary controls outside IA32_VMX_PROCBASED_CTLS2');
  if (v.cr3Count > CR3_TARGETS) return fail(v, 'CR3-target count > 4');
  if (v.proc & PROC_IO_BITMAPS) {
    if (!physOk(v.ioBitmapA, 0xfff) || !physOk(v.ioBitmapB, 0xfff)) return fail(v, 'I/O bitmap address');
  }
  if ((v.proc & PROC_MSR_BITMAPS) && !physOk(v.msrBitmap, 0xfff)) return fail(v, 'MSR bitmap address');
  const p2 = v.proc2;
  if ((p2 & PROC2_VPID) && v.vpid === 0) return fail(v, 'enable VPID with VPID 0');
  if (p2 & PROC2_EPT) {
    const lo = vmcsRead(c, base, F.EPT_POINTER);
    if (!eptpValid(lo, vmcsHi)) return fail(v, 'EPT pointer');
  }
  if ((p2 & PROC2_UNRESTRICTED) && !(p2 & PROC2_EPT)) return fail(v, 'unrestricted guest without EPT');
  if (p2 & PROC2_PML) {
    if (!(p2 & PROC2_EPT)) return fail(v, 'PML without EPT');
    if (!physOk(vmcsReadNum(c, base, F.PML_ADDRESS), 0xfff)) return fail(v, 'PML address');
  }
  if (p2 & PROC2_SPP) {
    if (!(p2 & PROC2_EPT)) return fail(v, 'SPP without EPT');
    if (!physOk(vmcsReadNum(c, base, F.SPPT_POINTER), 0xfff)) return fail(v, 'SPP table pointer');
  }
  // 26.2.1.2 VM-exit control fields.
  if (!ctlOk(v.exitCtls, exitCaps(true))) return fail(v, 'VM-exit controls outside IA32_VMX_TRUE_EXIT_CTLS');
  if (!(v.pin & PIN_PREEMPT) && (v.exitCtls & EXIT_SAVE_TIMER)) return fail(v, 'save preemption timer without the timer');
  if (!msrListOk(c, base, F.EXIT_MSR_STORE_COUNT, F.EXIT_MSR_STORE_ADDR)) return fail(v, 'VM-exit MSR-store address');
  if (!msrListOk(c, base, F.EXIT_MSR_LOAD_COUNT, F.EXIT_MSR_LOAD_ADDR)) return fail(v, 'VM-exit MSR-load address');
  // 26.2.1.3 VM-entry control fields.
  if (!ctlOk(v.entryCtls, entryCaps(true))) return fail(v, 'VM-entry controls outside IA32_VMX_TRUE_ENTRY_CTLS');
  if (!injectionOk(c, v, base)) return false;
  if (!msrListOk(c, base, F.ENTRY_MSR_LOAD_COUNT, F.ENTRY_MSR_LOAD_ADDR)) return fail(v, 'VM-entry MSR-load address');
  return true;
}

/** A non-empty MSR list: 16-byte aligned and its last byte within the physical-address width. */
function msrListOk(c: Cpu, base: number, countEnc: number, addrEnc: number): boolean {
  const n = vmcsRead32(c, base, countEnc);
  if (n === 0) return true;
  const a = vmcsReadNum(c, base, addrEnc);
  return physOk(a, 0xf) && a + n * 16 - 1 < 2 ** MAXPHYADDR;
}

/** Event-injection fields (SDM 26.2.1.3). */
function injectionOk(c: Cpu, v: Vmx, base: number): boolean {
  const info = vmcsRead(c, base, F.ENTRY_INTR_INFO);
  if (info >= 0) return true; // valid bit (31) clear
  const type = (info >>> 8) & 7, vec = info & 0xff;
  if (type === 1 || type === 7) return fail(v, 'injection: reserved interruption type'); // 7 needs MTF
  if (type === 2 && vec !== 2) return fail(v, 'injection: NMI with vector != 2');
  if (type === 3 && vec > 31) return fail(v, 'injection: hardware exception vector > 31');
  // Deliver-error-code iff a hardware exception that pushes one; with "unrestricted guest" also
  // only in protected mode (guest CR0.PE).
  const pe = !(v.proc2 & PROC2_UNRESTRICTED) || (vmcsRead(c, base, F.GUEST_CR0) & CR0_PE) !== 0;
  const wantsCode = pe && type === 3 && (vec === 8 || vec === 10 || vec === 11 || vec === 12 || vec === 13 || vec === 14 || vec === 17);
  if (((info & 0x800) !== 0) !== wantsCode) return fail(v, 'injection: deliver-error-code bit');
  if (info & 0x7ffff000) return fail(v, 'injection: reserved bits 30:12');
  if ((info & 0x800) && (vmcsRead(c, base, F.ENTRY_EXCEPTION_ERROR) & 0xffff8000)) return fail(v, 'injection: error code bits 31:15');
  if (type >= 4 && type <= 6) {
    const len = vmcsRead32(c, base, F.ENTRY_INSN_LEN);
    if (len < 1 || len > 15) return fail(v, 'injection: instruction length not 1-15');
  }
  return true;
}

/** SDM 26.2.2-26.2.4: host-state area. False → VMfailValid(8). */
export function checkHost(c: Cpu, v: Vmx, base: number): boolean {
  const host64 = (v.exitCtls & EXIT_HOST_64) !== 0, ia32e = (v.entryCtls & ENTRY_IA32E) !== 0;
  const cr0 = vmcsRead(c, base, F.HOST_CR0), cr0Hi = vmcsHi;
  if ((cr0 & CR0_FIXED0) !== (CR0_FIXED0 | 0) || (cr0 & ~CR0_FIXED1) || cr0Hi) return fail(v, 'host CR0 fixed bits');
  const cr4 = vmcsRead(c, base, F.HOST_CR4), cr4Hi = vmcsHi;
  if ((cr4 & CR4_FIXED0) !== CR4_FIXED0 || (cr4 & ~cr4Fixed1()) || cr4Hi) return fail(v, 'host CR4 fixed bits');
  vmcsRead(c, base, F.HOST_CR3);
  if (vmcsHi & HI_BEYOND) return fail(v, 'host CR3 beyond the physical-address width');
  if (!canonical(vmcsReadNum(c, base, F.HOST_SYSENTER_ESP)) || !canonical(vmcsReadNum(c, base, F.HOST_SYSENTER_EIP))) return fail(v, 'host SYSENTER_ESP/EIP not canonical');
  if (v.exitCtls & EXIT_LOAD_PAT) { const lo = vmcsRead(c, base, F.HOST_PAT); if (!patValid(lo, vmcsHi)) return fail(v, 'host PAT'); }
  if (v.exitCtls & EXIT_LOAD_EFER) {
    const e = vmcsRead(c, base, F.HOST_EFER);
    if (vmcsHi || (e & ~EFER_VALID)) return fail(v, 'host EFER reserved bits');
    if (((e & EFER_LMA) !== 0) !== host64 || ((e & EFER_LME) !== 0) !== host64) return fail(v, 'host EFER.LMA/LME vs host address-space size');
  }
  // 26.2.3 segment and descriptor-table registers.
  for (const enc of [F.HOST_ES_SEL, F.HOST_CS_SEL, F.HOST_SS_SEL, F.HOST_DS_SEL, F.HOST_FS_SEL, F.HOST_GS_SEL, F.HOST_TR_SEL]) {
    if (vmcsRead(c, base, enc) & 7) return fail(v, 'host selector RPL/TI not 0');
  }
  if (vmcsRead(c, base, F.HOST_CS_SEL) === 0) return fail(v, 'host CS selector 0');
  if (vmcsRead(c, base, F.HOST_TR_SEL) === 0) return fail(v, 'host TR selector 0');
  if (!host64 && vmcsRead(c, base, F.HOST_SS_SEL) === 0) return fail(v, 'host SS selector 0 without host address-space size');
  for (const enc of [F.HOST_FS_BASE, F.HOST_GS_BASE, F.HOST_GDTR_BASE, F.HOST_IDTR_BASE, F.HOST_TR_BASE]) {
    if (!canonical(vmcsReadNum(c, base, enc))) return fail(v, 'host base not canonical');
  }
  // 26.2.4 address-space size.
  if (!(c.efer & EFER_LMA)) {
    if (ia32e || host64) return fail(v, 'IA-32e mode guest / host address-space size outside IA-32e mode');
  } else if (!host64) return fail(v, 'host address-space size 0 in IA-32e mode');
  const rip = vmcsRead(c, base, F.HOST_RIP), ripHi = vmcsHi;
  if (!host64) {
    if (ia32e) return fail(v, 'IA-32e mode guest with a 32-bit host');
    if (ripHi !== 0) return fail(v, 'host RIP bits 63:32 with a 32-bit host');
  } else {
    if (!(cr4 & CR4_PAE)) return fail(v, 'host CR4.PAE = 0 with a 64-bit host');
    if (!canonical(ripHi * TWO32 + (rip >>> 0))) return fail(v, 'host RIP not canonical');
  }
  return true;
}

/**
 * SDM 26.3.1: guest-state area. Returns -1 when all checks pass, else the exit qualification of the
 * VM-entry failure (0 generic, 2 PDPTE loading, 4 VMCS link pointer; SDM 26.7).
 */
export function checkGuest(c: Cpu, v: Vmx, base: number): number {
  return guestRegisters(c, v, base) ? guestNonRegister(c, v, base) : 0;
}

function guestRegisters(c: Cpu, v: Vmx, base: number): boolean {
  const ia32e = (v.entryCtls & ENTRY_IA32E) !== 0, ug = (v.proc2 & PROC2_UNRESTRICTED) !== 0;
  // 26.3.1.1 control registers, debug registers, MSRs.
  const cr0 = vmcsRead(c, base, F.GUEST_CR0), cr0Hi = vmcsHi;
  const fixed0 = ug ? CR0_FIXED0 & ~(CR0_PE | CR0_PG) : CR0_FIXED0;
  if ((cr0 & fixed0) !== (fixed0 | 0) || (cr0 & ~CR0_FIXED1) || cr0Hi) return fail(v, 'guest CR0 fixed bits');
  if ((cr0 & CR0_PG) && !(cr0 & CR0_PE)) return fail(v, 'guest CR0.PG without PE');
  const cr4 = vmcsRead(c, base, F.GUEST_CR4), cr4Hi = vmcsHi;
  if ((cr4 & CR4_FIXED0) !== CR4_FIXED0 || (cr4 & ~cr4Fixed1()) || cr4Hi) return fail(v, 'guest CR4 fixed bits');
  if (v.entryCtls & ENTRY_LOAD_DEBUG) {
    vmcsRead(c, base, F.GUEST_DR7);
    if (vmcsHi) return fail(v, 'guest DR7 bits 63:32');
    const dbg = vmcsRead(c, base, F.GUEST_DEBUGCTL);
    if (vmcsHi || (dbg & ~0x7fc3)) return fail(v, 'guest IA32_DEBUGCTL reserved bits');
  }
  if (ia32e && (!(cr0 & CR0_PG) || !(cr4 & CR4_PAE))) return fail(v, 'IA-32e mode guest without CR0.PG and CR4.PAE');
  vmcsRead(c, base, F.GUEST_CR3);
  if (vmcsHi & HI_BEYOND) return fail(v, 'guest CR3 beyond the physical-address width');
  if (!canonical(vmcsReadNum(c, base, F.GUEST_SYSENTER_ESP)) || !canonical(vmcsReadNum(c, base, F.GUEST_SYSENTER_EIP))) return fail(v, 'guest SYSENTER_ESP/EIP');
  if (v.entryCtls & ENTRY_LOAD_PAT) { const lo = vmcsRead(c, base, F.GUEST_PAT); if (!patValid(lo, vmcsHi)) return fail(v, 'guest PAT'); }
  if (v.entryCtls & ENTRY_LOAD_EFER) {
    const e = vmcsRead(c, base, F.GUEST_EFER);
    if (vmcsHi || (e & ~EFER_VALID)) return fail(v, 'guest EFER reserved bits');
    if (((e & EFER_LMA) !== 0) !== ia32e) return fail(v, 'guest EFER.LMA vs IA-32e mode guest');
    if ((cr0 & CR0_PG) && ((e & EFER_LME) !== 0) !== ia32e) return fail(v, 'guest EFER.LME vs IA-32e mode guest');
  }
  // 26.3.1.4 RIP and RFLAGS (checked here: the segment checks depend on RFLAGS.VM).
  const fl = vmcsRead(c, base, F.GUEST_RFLAGS), flHi = vmcsHi;
  if (flHi || (fl & 0xffc08028) || !(fl & 2)) return fail(v, 'guest RFLAGS reserved bits');
  const v86 = (fl & RFLAGS_VM) !== 0;
  if (v86 && (ia32e || !(cr0 & CR0_PE))) return fail(v, 'guest RFLAGS.VM in IA-32e mode or real mode');
  const intr = vmcsRead(c, base, F.ENTRY_INTR_INFO);
  if (intr < 0 && ((intr >>> 8) & 7) === 0 && !(fl & IF)) return fail(v, 'injecting an external interrupt with RFLAGS.IF = 0');
  if (!guestSegments(c, v, base, ia32e, v86, ug, cr0)) return false;
  const csAr = vmcsRead(c, base, F.GUEST_CS_AR);
  const rip = vmcsRead(c, base, F.GUEST_RIP), ripHi = vmcsHi;
  if (!ia32e || !(csAr & 0x2000)) { if (ripHi !== 0) return fail(v, 'guest RIP bits 63:32 outside 64-bit mode'); }
  else if (!canonical(ripHi * TWO32 + (rip >>> 0))) return fail(v, 'guest RIP not canonical');
  // 26.3.1.3 descriptor-table registers.
  if (!canonical(vmcsReadNum(c, base, F.GUEST_GDTR_BASE)) || !canonical(vmcsReadNum(c, base, F.GUEST_IDTR_BASE))) return fail(v, 'guest GDTR/IDTR base');
  if ((vmcsRead(c, base, F.GUEST_GDTR_LIMIT) | vmcsRead(c, base, F.GUEST_IDTR_LIMIT)) & 0xffff0000) return fail(v, 'guest GDTR/IDTR limit bits 31:16');
  return true;
}

/** The G-bit rule for a limit (SDM 26.3.1.2): limit[11:0] not all 1 → G = 0; limit[31:20] not 0 → G = 1. */
function granularityOk(limit: number, ar: number): boolean {
  const g = (ar & 0x8000) !== 0;
  if ((limit & 0xfff) !== 0xfff && g) return false;
  if ((limit >>> 20) !== 0 && !g) return false;
  return true;
}

/** SDM 26.3.1.2 segment registers (virtual-8086, unrestricted-guest and ordinary protected/IA-32e guests). */
function guestSegments(c: Cpu, v: Vmx, base: number, ia32e: boolean, v86: boolean, ug: boolean, cr0: number): boolean {
  const sel = (s: number) => vmcsRead(c, base, GUEST_SEL[s]);
  const ar = (s: number) => vmcsRead(c, base, GUEST_AR[s]) >>> 0;
  const lim = (s: number) => vmcsRead32(c, base, GUEST_LIMIT[s]);
  const bas = (s: number) => vmcsReadNum(c, base, GUEST_BASE[s]);
  const usable = (s: number) => (ar(s) & AR_UNUSABLE) === 0;
  // Selectors.
  if (sel(TR) & 4) return fail(v, 'guest TR.TI');
  if (usable(LDTR) && (sel(LDTR) & 4)) return fail(v, 'guest LDTR.TI');
  if (!v86 && !ug && (sel(SS) & 3) !== (sel(CS) & 3)) return fail(v, 'guest SS.RPL != CS.RPL');
  // Bases.
  if (!canonical(bas(TR)) || !canonical(bas(4)) || !canonical(bas(5))) return fail(v, 'guest TR/FS/GS base not canonical');
  if (usable(LDTR) && !canonical(bas(LDTR))) return fail(v, 'guest LDTR base not canonical');
  if (bas(CS) < 0 || bas(CS) >= TWO32) return fail(v, 'guest CS base bits 63:32');
  for (const s of [SS, 3, 0]) if (usable(s) && (bas(s) < 0 || bas(s) >= TWO32)) return fail(v, 'guest SS/DS/ES base bits 63:32');
  if (v86) {
    // Virtual-8086 guest: base = selector * 16, limit FFFFH, access rights F3H for all six.
    for (let s = 0; s < 6; s++) {
      if (bas(s) !== sel(s) * 16 || lim(s) !== 0xffff || ar(s) !== 0xf3) return fail(v, 'guest virtual-8086 segment');
    }
  } else {
    // CS.
    const cs = ar(CS), csType = cs & 0xf, ss = ar(SS);
    if (!(csType === 9 || csType === 11 || csType === 13 || csType === 15 || (ug && csType === 3))) return fail(v, 'guest CS type');
    if (!(cs & 0x10) || !(cs & 0x80)) return fail(v, 'guest CS S/P');
    const csDpl = (cs >> 5) & 3, ssDpl = (ss >> 5) & 3;
    if (csType === 3 && csDpl !== 0) return fail(v, 'guest CS DPL (type 3)');
    if ((csType === 9 || csType === 11) && csDpl !== ssDpl) return fail(v, 'guest CS.DPL != SS.DPL');
    if ((csType === 13 || csType === 15) && csDpl > ssDpl) return fail(v, 'guest conforming CS.DPL > SS.DPL');
    if ((cs & 0xf00) || (cs & 0xfffe0000)) return fail(v, 'guest CS access-rights reserved bits');
    if (ia32e && (cs & 0x2000) && (cs & 0x4000)) return fail(v, 'guest CS.L and CS.D both 1');
    if (!granularityOk(lim(CS), cs)) return fail(v, 'guest CS limit/G');
    // SS.
    if (!ug && ssDpl !== (sel(SS) & 3)) return fail(v, 'guest SS.DPL != SS.RPL');
    if ((csType === 3 || !(cr0 & CR0_PE)) && ssDpl !== 0) return fail(v, 'guest SS.DPL != 0');
    // SS, DS, ES, FS, GS when usable.
    for (const s of [SS, 3, 0, 4, 5]) {
      const a = ar(s);
      if (a & AR_UNUSABLE) continue;
      const t = a & 0xf;
      if (s === SS) { if (t !== 3 && t !== 7) return fail(v, 'guest SS type'); }
      else {
        if (!(t & 1)) return fail(v, 'guest data segment not accessed');
        if ((t & 8) && !(t & 2)) return fail(v, 'guest code segment in DS/ES/FS/GS not readable');
        if (!ug && t <= 11 && ((a >> 5) & 3) < (sel(s) & 3)) return fail(v, 'guest data segment DPL < RPL');
      }
      if (!(a & 0x10) || !(a & 0x80)) return fail(v, 'guest data segment S/P');
      if ((a & 0xf00) || (a & 0xfffe0000)) return fail(v, 'guest data segment access-rights reserved bits');
      if (!granularityOk(lim(s), a)) return fail(v, 'guest data segment limit/G');
    }
  }
  // TR.
  const tr = ar(TR), trType = tr & 0xf;
  if (ia32e ? trType !== 11 : trType !== 3 && trType !== 11) return fail(v, 'guest TR type');
  if ((tr & 0x10) || !(tr & 0x80) || (tr & 0xf00) || (tr & AR_UNUSABLE) || (tr & 0xfffe0000)) return fail(v, 'guest TR access rights');
  if (!granularityOk(lim(TR), tr)) return fail(v, 'guest TR limit/G');
  // LDTR when usable.
  const ldt = ar(LDTR);
  if (!(ldt & AR_UNUSABLE)) {
    if ((ldt & 0xf) !== 2 || (ldt & 0x10) || !(ldt & 0x80) || (ldt & 0xf00) || (ldt & 0xfffe0000)) return fail(v, 'guest LDTR access rights');
    if (!granularityOk(lim(LDTR), ldt)) return fail(v, 'guest LDTR limit/G');
  }
  return true;
}

/** SDM 26.3.1.5 non-register state, the VMCS link pointer, 26.3.1.6 PDPTEs. -1 = pass. */
function guestNonRegister(c: Cpu, v: Vmx, base: number): number {
  const activity = vmcsRead32(c, base, F.GUEST_ACTIVITY);
  const intrState = vmcsRead32(c, base, F.GUEST_INTERRUPTIBILITY);
  const info = vmcsRead(c, base, F.ENTRY_INTR_INFO);
  const injecting = info < 0, type = (info >>> 8) & 7, vec = info & 0xff;
  const fl = vmcsRead(c, base, F.GUEST_RFLAGS);
  if (activity > 1) { fail(v, 'guest activity state not supported (only active and HLT)'); return 0; }
  if (activity === 1 && ((vmcsRead(c, base, F.GUEST_SS_AR) >> 5) & 3) !== 0) { fail(v, 'HLT activity with SS.DPL != 0'); return 0; }
  if ((intrState & 3) && activity !== 0) { fail(v, 'blocking by STI/MOV SS outside the active state'); return 0; }
  if (injecting && activity === 1 && !(type === 0 || type === 2 || (type === 3 && (vec === 1 || vec === 18)))) {
    fail(v, 'event not injectable in the HLT state'); return 0;
  }
  if (intrState & 0xffffffe0 || intrState & 0x10) { fail(v, 'interruptibility reserved bits'); return 0; }
  if ((intrState & 3) === 3) { fail(v, 'blocking by both STI and MOV SS'); return 0; }
  if ((intrState & 1) && !(fl & IF)) { fail(v, 'blocking by STI with RFLAGS.IF = 0'); return 0; }
  if (injecting && type === 0 && (intrState & 3)) { fail(v, 'external interrupt injected while blocked'); return 0; }
  if (injecting && type === 2 && (intrState & 2)) { fail(v, 'NMI injected with blocking by MOV SS'); return 0; }
  if (intrState & 4) { fail(v, 'blocking by SMI outside SMM'); return 0; }
  if (injecting && type === 2 && (intrState & 8)) { fail(v, 'NMI injected with blocking by NMI'); return 0; }
  const pend = vmcsRead(c, base, F.GUEST_PENDING_DBG), pendHi = vmcsHi;
  if ((pend & 0xfffeaff0) || pendHi) { fail(v, 'pending debug exceptions reserved bits'); return 0; }
  // VMCS link pointer (SDM 26.3.1.5): all ones, or a 4 KiB-aligned VMCS with our revision id.
  const link = vmcsRead(c, base, F.VMCS_LINK_POINTER), linkHi = vmcsHi;
  if (link !== -1 || linkHi !== -1) {
    const a = linkHi * TWO32 + (link >>> 0);
    if ((link & 0xfff) || (linkHi & HI_BEYOND) || a === v.current || (c.mem.read(a, 4) >>> 0) !== VMCS_REVISION) {
      fail(v, 'VMCS link pointer'); return 4;
    }
  }
  // PDPTEs of a PAE-paging guest without EPT (SDM 26.3.1.6).
  const cr0 = vmcsRead(c, base, F.GUEST_CR0), cr4 = vmcsRead(c, base, F.GUEST_CR4);
  if ((cr0 & CR0_PG) && (cr4 & CR4_PAE) && !(v.entryCtls & ENTRY_IA32E) && !(v.proc2 & PROC2_EPT)) {
    if (!pdptesValid(c, vmcsReadNum(c, base, F.GUEST_CR3))) { fail(v, 'guest PDPTE reserved bits'); return 2; }
  }
  return -1;
}
