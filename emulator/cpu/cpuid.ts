// CPUID (SDM Vol. 2A CPUID): reports exactly the features this emulator implements.
//
// Vendor string: "x86vmxEmuCPU" (12 bytes, EBX-EDX-ECX order). A made-up vendor is honest — this
// is not an Intel part — and nothing we run needs "GenuineIntel": glibc and our guest kernel key
// their choices off the feature bits (unknown vendors take glibc's generic paths), and VMX support
// is discovered from CPUID.1:ECX.VMX and IA32_FEATURE_CONTROL, not from the vendor.
//
// Not reported because not implemented: x87 FPU (leaf 1 EDX bit 0) and MMX, VME, MTRRs, MCA,
// SSE3 and later, XSAVE, PCID, FSGSBASE, SMAP, performance monitoring (leaf 0AH is beyond the
// maximum leaf). VMX (leaf 1 ECX bit 5) is added by vmx/capabilities.ts through cpuidConfig when
// the VMX layer is loaded (vmx/index.ts).
//
// Leaves above the maximum basic or extended leaf return the highest basic leaf's data, as the
// SDM specifies for Intel processors; leaves within range that carry nothing here return zeros.
import type { Cpu } from './state.ts';
import { MAXPHYADDR } from './paging.ts';

/** Processor signature (family 6, model 8FH, stepping 0): the same value reset.ts puts in EDX. */
export const CPU_SIGNATURE = 0x000806f0;

/**
 * Feature words. Mutable so that a layer which implements a feature (VMX, an SSE extension) can
 * report it without editing this file, e.g. `cpuidConfig.leaf1Ecx |= 1 << 5`.
 */
export const cpuidConfig = {
  // CPUID.1:ECX — CX16 (13), POPCNT (23).
  leaf1Ecx: (1 << 13) | (1 << 23),
  // CPUID.1:EDX — DE (2), PSE (3), TSC (4), MSR (5), PAE (6), MCE (7), CX8 (8), SEP (11), PGE (13),
  // CMOV (15), PAT (16), PSE-36 (17), CLFSH (19: CLFLUSH is implemented, ops/sse-state.ts), FXSR (24),
  // SSE (25), SSE2 (26). APIC (9) is added at run time when the machine has a local APIC (Cpu.apicBaseMsr).
  leaf1Edx: (1 << 2) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 11) |
    (1 << 13) | (1 << 15) | (1 << 16) | (1 << 17) | (1 << 19) | (1 << 24) | (1 << 25) | (1 << 26),
  // CPUID.(EAX=7,ECX=0):EBX — SMEP (7), ERMS (9: REP MOVSB/STOSB take the bulk typed-array path).
  leaf7Ebx: (1 << 7) | (1 << 9),
  // CPUID.(EAX=7,ECX=0):ECX — UMIP (2).
  leaf7Ecx: 1 << 2,
  // CPUID.80000001H:ECX — LAHF/SAHF in 64-bit mode (0), LZCNT (5), PREFETCHW (8).
  ext1Ecx: (1 << 0) | (1 << 5) | (1 << 8),
  // CPUID.80000001H:EDX — SYSCALL (11), XD/NX (20), 1-GByte pages (26), RDTSCP (27), Intel 64 (29).
  ext1Edx: (1 << 11) | (1 << 20) | (1 << 26) | (1 << 27) | (1 << 29),
};

export const MAX_BASIC_LEAF = 7;
export const MAX_EXT_LEAF = 0x80000008;

function str4(s: string, at: number): number {
  let v = 0;
  for (let k = 3; k >= 0; k--) v = (v << 8) | (at + k < s.length ? s.charCodeAt(at + k) : 0);
  return v | 0;
}

const VENDOR = 'x86vmxEmuCPU';
const BRAND = 'x86vmx virtual CPU';

/** Results of the last cpuid() call. */
export let cpuidA = 0, cpuidB = 0, cpuidC = 0, cpuidD = 0;

function set(a: number, b: number, c: number, d: number): void { cpuidA = a | 0; cpuidB = b | 0; cpuidC = c | 0; cpuidD = d | 0; }

function basic(c: Cpu, leaf: number, sub: number): void {
  switch (leaf) {
    case 0: {
      // IA32_MISC_ENABLE bit 22 (limit CPUID maxval) caps the reported maximum at 2.
      const max = (c.miscEnable & (1 << 22)) ? 2 : MAX_BASIC_LEAF;
      set(max, str4(VENDOR, 0), str4(VENDOR, 8), str4(VENDOR, 4));
      return;
    }
    case 1: {
      // EBX: brand index 0, CLFLUSH line size 8 × 8 = 64 bytes (EBX[15:8], valid with CLFSH), one
      // logical processor, initial APIC ID 0.
      const edx = cpuidConfig.leaf1Edx | (c.apicBaseMsr !== null ? 1 << 9 : 0);
      set(CPU_SIGNATURE, (edx & (1 << 19)) !== 0 ? 8 << 8 : 0, cpuidConfig.leaf1Ecx, edx);
      return;
    }
    case 7:
      if (sub === 0) set(0, cpuidConfig.leaf7Ebx, cpuidConfig.leaf7Ecx, 0);
      else set(0, 0, 0, 0);
      return;
    // Leaf 2: "The least-significant byte in register EAX (register AL) will always return 01H";
    // every other byte is the null descriptor (no cache/TLB descriptors).
    case 2: set(1, 0, 0, 0); return;
    default: set(0, 0, 0, 0); return; // leaves 3-6: no serial number, cache parameters, MONITOR, power management
  }
}

/** Execute CPUID for EAX = leaf, ECX = sub; results in cpuidA..cpuidD. */
export function cpuid(c: Cpu, leaf: number, sub: number): void {
  leaf >>>= 0;
  const maxBasic = (c.miscEnable & (1 << 22)) ? 2 : MAX_BASIC_LEAF;
  if (leaf <= maxBasic) { basic(c, leaf, sub); return; }
  if (leaf >= 0x80000000 && leaf <= MAX_EXT_LEAF) {
    switch (leaf) {
      case 0x80000000: set(MAX_EXT_LEAF, 0, 0, 0); return;
      case 0x80000001: set(0, 0, cpuidConfig.ext1Ecx, cpuidConfig.ext1Edx); return;
      case 0x80000002: case 0x80000003: case 0x80000004: {
        const at = (leaf - 0x80000002) * 16;
        set(str4(BRAND, at), str4(BRAND, at + 4), str4(BRAND, at + 8), str4(BRAND, at + 12));
        return;
      }
      case 0x80000007: set(0, 0, 0, 1 << 8); return; // invariant TSC: it counts virtual time
      case 0x80000008: set((48 << 8) | MAXPHYADDR, 0, 0, 0); return; // 3028H: 40 physical, 48 linear bits
      default: set(0, 0, 0, 0); return;
    }
  }
  basic(c, maxBasic, sub); // beyond the maximum: highest basic leaf (SDM Vol. 2A CPUID)
}
