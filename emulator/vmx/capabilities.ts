// VMX capability reporting (SDM Vol. 3C Appendix A): CPUID.1:ECX.VMX[bit 5], CR4.VMXE, and the
// read-only IA32_VMX_* MSRs 480H-490H. They report exactly what features.ts says is implemented.
//
// Control MSRs hold allowed-0 settings in bits 31:0 (a 1 there means the control must be 1) and
// allowed-1 settings in bits 63:32 (a 0 there means the control must be 0) (SDM A.3). The "default1"
// controls (A.2) are 1 in the allowed-0 half of the plain MSRs; the TRUE MSRs (IA32_VMX_BASIC[55] = 1)
// report which of them may be 0 here: CR3-load/store exiting and the debug-control save/load bits.
import { cpuidConfig } from '../cpu/cpuid.ts';
import { defineMsr, setMsrResult } from '../cpu/msr.ts';
import { allowCr4Bits, cr4AllowedBits } from '../cpu/ops/sysregs.ts';
import { gp0 } from '../cpu/fault.ts';
import { CR4_VMXE } from '../cpu/state.ts';
import type { Cpu } from '../cpu/state.ts';
import { features } from './features.ts';
import { highestIndex, VMCS_SIZE } from './fields.ts';

/** VMCS revision identifier of our VMCS layout (fields.ts); bit 31 must be 0 (SDM A.1). */
export const VMCS_REVISION = 0x58564d31; // "1MVX"

// ---- pin-based VM-execution controls (SDM 24.6.1, Table 24-5)
export const PIN_EXT_INT = 1 << 0, PIN_NMI = 1 << 3, PIN_VIRTUAL_NMI = 1 << 5, PIN_PREEMPT = 1 << 6, PIN_POSTED = 1 << 7;
// ---- primary processor-based controls (SDM 24.6.2, Table 24-6)
export const PROC_INT_WINDOW = 1 << 2, PROC_TSC_OFFSET = 1 << 3, PROC_HLT = 1 << 7, PROC_INVLPG = 1 << 9,
  PROC_MWAIT = 1 << 10, PROC_RDPMC = 1 << 11, PROC_RDTSC = 1 << 12, PROC_CR3_LOAD = 1 << 15,
  PROC_CR3_STORE = 1 << 16, PROC_CR8_LOAD = 1 << 19, PROC_CR8_STORE = 1 << 20, PROC_TPR_SHADOW = 1 << 21,
  PROC_NMI_WINDOW = 1 << 22, PROC_MOV_DR = 1 << 23, PROC_UNCOND_IO = 1 << 24, PROC_IO_BITMAPS = 1 << 25,
  PROC_MTF = 1 << 27, PROC_MSR_BITMAPS = 1 << 28, PROC_MONITOR = 1 << 29, PROC_PAUSE = 1 << 30,
  PROC_SECONDARY = 1 << 31;
// ---- secondary processor-based controls (SDM 24.6.2, Table 24-7)
export const PROC2_EPT = 1 << 1, PROC2_DESC_TABLE = 1 << 2, PROC2_RDTSCP = 1 << 3, PROC2_VPID = 1 << 5,
  PROC2_WBINVD = 1 << 6, PROC2_UNRESTRICTED = 1 << 7, PROC2_PML = 1 << 17, PROC2_SPP = 1 << 23;
// ---- VM-exit controls (SDM 24.7.1, Table 24-11)
export const EXIT_SAVE_DEBUG = 1 << 2, EXIT_HOST_64 = 1 << 9, EXIT_ACK_INT = 1 << 15, EXIT_SAVE_PAT = 1 << 18,
  EXIT_LOAD_PAT = 1 << 19, EXIT_SAVE_EFER = 1 << 20, EXIT_LOAD_EFER = 1 << 21, EXIT_SAVE_TIMER = 1 << 22;
// ---- VM-entry controls (SDM 24.8.1, Table 24-13)
export const ENTRY_LOAD_DEBUG = 1 << 2, ENTRY_IA32E = 1 << 9, ENTRY_SMM = 1 << 10, ENTRY_DEACT_DUAL = 1 << 11,
  ENTRY_LOAD_PAT = 1 << 14, ENTRY_LOAD_EFER = 1 << 15;

// ---- default1 classes (SDM A.2)
const PIN_DEFAULT1 = 0x00000016;
const PROC_DEFAULT1 = 0x0401e172;
const EXIT_DEFAULT1 = 0x00036dff;
const ENTRY_DEFAULT1 = 0x000011ff;

/** IA32_VMX_MISC[4:0]: the preemption timer counts down once every 2^5 TSC ticks (SDM A.6). */
export const TIMER_RATE_SHIFT = 5;
/** Number of CR3-target values supported (IA32_VMX_MISC[24:16]). */
export const CR3_TARGETS = 4;
/** Recommended maximum MSR-list length: 512 * (IA32_VMX_MISC[27:25] + 1) (SDM A.6). */
export const MSR_LIST_MAX = 512;

/** CR0 bits that must be 1 in VMX operation: PE, NE, PG (SDM A.7); bits that may be 1: those CR0 implements. */
export const CR0_FIXED0 = 0x80000021;
export const CR0_FIXED1 = 0xe005003f;
export const CR4_FIXED0 = CR4_VMXE;
export function cr4Fixed1(): number { return (cr4AllowedBits() | CR4_VMXE) >>> 0; }

export interface CtlCaps { readonly must1: number; readonly may1: number }

export function pinCaps(): CtlCaps {
  return { must1: PIN_DEFAULT1, may1: PIN_DEFAULT1 | PIN_EXT_INT | PIN_NMI | PIN_PREEMPT };
}
const PROC_MAY1 = PROC_DEFAULT1 | PROC_INT_WINDOW | PROC_TSC_OFFSET | PROC_HLT | PROC_INVLPG | PROC_RDPMC |
  PROC_RDTSC | PROC_CR3_LOAD | PROC_CR3_STORE | PROC_CR8_LOAD | PROC_CR8_STORE | PROC_MOV_DR |
  PROC_UNCOND_IO | PROC_IO_BITMAPS | PROC_MSR_BITMAPS | PROC_SECONDARY;
export function procCaps(trueMsr: boolean): CtlCaps {
  return { must1: trueMsr ? PROC_DEFAULT1 & ~(PROC_CR3_LOAD | PROC_CR3_STORE) : PROC_DEFAULT1, may1: PROC_MAY1 | 0 };
}
export function proc2Caps(): CtlCaps {
  // EPT/unrestricted guest/PML/SPP stay 0 here until features.ts says they work.
  const may1 = PROC2_RDTSCP | PROC2_WBINVD | (features.vpid ? PROC2_VPID : 0) | (features.ept ? PROC2_EPT : 0) |
    (features.unrestrictedGuest ? PROC2_UNRESTRICTED : 0) | (features.pml ? PROC2_PML : 0) | (features.spp ? PROC2_SPP : 0);
  return { must1: 0, may1 };
}
export function exitCaps(trueMsr: boolean): CtlCaps {
  return {
    must1: trueMsr ? EXIT_DEFAULT1 & ~EXIT_SAVE_DEBUG : EXIT_DEFAULT1,
    may1: EXIT_DEFAULT1 | EXIT_HOST_64 | EXIT_ACK_INT | EXIT_SAVE_PAT | EXIT_LOAD_PAT | EXIT_SAVE_EFER |
      EXIT_LOAD_EFER | EXIT_SAVE_TIMER,
  };
}
export function entryCaps(trueMsr: boolean): CtlCaps {
  return {
    must1: trueMsr ? ENTRY_DEFAULT1 & ~ENTRY_LOAD_DEBUG : ENTRY_DEFAULT1,
    may1: ENTRY_DEFAULT1 | ENTRY_IA32E | ENTRY_LOAD_PAT | ENTRY_LOAD_EFER,
  };
}
/** A control word is valid when every must-1 bit is 1 and no bit outside may-1 is 1 (SDM 26.2.1.1). */
export function ctlOk(v: number, caps: CtlCaps): boolean {
  return (v & caps.must1) === caps.must1 && (v & ~caps.may1) === 0;
}

// ---- IA32_VMX_EPT_VPID_CAP (SDM A.10): INVVPID (bit 32) with types individual-address (40),
// single-context (41), all-context (42), single-context-retaining-globals (43). The EPT bits
// (execute-only 0, 4-level walk 6, UC 8, WB 14, 2 MiB 16, 1 GiB 17, INVEPT 20, A/D 21,
// single-context INVEPT 25, all-context INVEPT 26) stay 0 until EPT is implemented.
export const EPT_CAP_WALK4 = 1 << 6, EPT_CAP_UC = 1 << 8, EPT_CAP_WB = 1 << 14, EPT_CAP_2M = 1 << 16,
  EPT_CAP_1G = 1 << 17, EPT_CAP_INVEPT = 1 << 20, EPT_CAP_AD = 1 << 21, EPT_CAP_INVEPT_SINGLE = 1 << 25,
  EPT_CAP_INVEPT_ALL = 1 << 26;
export function eptCapLo(): number {
  if (!features.ept) return 0;
  return EPT_CAP_WALK4 | EPT_CAP_UC | EPT_CAP_WB | EPT_CAP_2M | EPT_CAP_1G | EPT_CAP_INVEPT | EPT_CAP_AD |
    EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL;
}
/** High half: bit 0 INVVPID, bits 8-11 the four INVVPID types. */
export function vpidCapHi(): number { return features.vpid ? 0x00000f01 : 0; }

// ---- the MSRs
export const MSR_VMX_BASIC = 0x480, MSR_VMX_PINBASED = 0x481, MSR_VMX_PROCBASED = 0x482, MSR_VMX_EXIT = 0x483,
  MSR_VMX_ENTRY = 0x484, MSR_VMX_MISC = 0x485, MSR_VMX_CR0_FIXED0 = 0x486, MSR_VMX_CR0_FIXED1 = 0x487,
  MSR_VMX_CR4_FIXED0 = 0x488, MSR_VMX_CR4_FIXED1 = 0x489, MSR_VMX_VMCS_ENUM = 0x48a, MSR_VMX_PROCBASED2 = 0x48b,
  MSR_VMX_EPT_VPID_CAP = 0x48c, MSR_VMX_TRUE_PINBASED = 0x48d, MSR_VMX_TRUE_PROCBASED = 0x48e,
  MSR_VMX_TRUE_EXIT = 0x48f, MSR_VMX_TRUE_ENTRY = 0x490;

/** IA32_VMX_BASIC as halves (SDM A.1). */
export function vmxBasic(): [number, number] {
  const hi = VMCS_SIZE /* 44:32 region size */ | (6 << 18) /* 53:50 WB */ | (1 << 22) /* 54 INS/OUTS info */ |
    (1 << 23) /* 55 TRUE controls */;
  return [VMCS_REVISION, hi];
}
/** IA32_VMX_MISC (SDM A.6): timer rate, EFER.LMA stored into "IA-32e mode guest" (5), HLT activity (6), CR3 targets. */
export function vmxMisc(): [number, number] {
  return [TIMER_RATE_SHIFT | (1 << 5) | (1 << 6) | (CR3_TARGETS << 16), 0];
}

/** Value of a VMX capability MSR as halves, or null if `index` is not one (used by tests and the MSR table). */
export function capabilityMsr(index: number): [number, number] | null {
  const ctl = (k: CtlCaps): [number, number] => [k.must1 | 0, k.may1 | 0];
  switch (index) {
    case MSR_VMX_BASIC: return vmxBasic();
    case MSR_VMX_PINBASED: case MSR_VMX_TRUE_PINBASED: return ctl(pinCaps());
    case MSR_VMX_PROCBASED: return ctl(procCaps(false));
    case MSR_VMX_TRUE_PROCBASED: return ctl(procCaps(true));
    case MSR_VMX_EXIT: return ctl(exitCaps(false));
    case MSR_VMX_TRUE_EXIT: return ctl(exitCaps(true));
    case MSR_VMX_ENTRY: return ctl(entryCaps(false));
    case MSR_VMX_TRUE_ENTRY: return ctl(entryCaps(true));
    case MSR_VMX_MISC: return vmxMisc();
    case MSR_VMX_CR0_FIXED0: return [CR0_FIXED0 | 0, 0];
    case MSR_VMX_CR0_FIXED1: return [CR0_FIXED1 | 0, 0];
    case MSR_VMX_CR4_FIXED0: return [CR4_FIXED0, 0];
    case MSR_VMX_CR4_FIXED1: return [cr4Fixed1() | 0, 0];
    case MSR_VMX_VMCS_ENUM: return [highestIndex() << 1, 0];
    case MSR_VMX_PROCBASED2: return ctl(proc2Caps());
    case MSR_VMX_EPT_VPID_CAP: return [eptCapLo(), vpidCapHi()];
    default: return null;
  }
}

let installed = false;

/** Report VMX in CPUID, allow CR4.VMXE and define the capability MSRs (once per process). */
export function installCapabilities(): void {
  if (installed) return;
  installed = true;
  cpuidConfig.leaf1Ecx |= 1 << 5; // CPUID.1:ECX.VMX (SDM Vol. 3C 23.6)
  allowCr4Bits(CR4_VMXE);
  for (let index = MSR_VMX_BASIC; index <= MSR_VMX_TRUE_ENTRY; index++) {
    defineMsr(index, {
      read: () => { const v = capabilityMsr(index)!; setMsrResult(v[0], v[1]); },
      write: (c: Cpu) => { gp0(c); }, // read-only (SDM Vol. 4, Table 2-2)
    });
  }
}

