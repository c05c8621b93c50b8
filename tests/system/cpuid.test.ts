// CPUID leaf consistency: SDM Vol. 2A "CPUID—CPU Identification" (Description, Table 3-8
// "Information Returned by CPUID Instruction", Figures 3-7/3-8 feature flags, "Processor Brand
// String"), Vol. 3A 9.1.4 (EDX after reset), 4.1.4 (paging features), Vol. 4 (IA32_MISC_ENABLE[22]).
//
// The feature table checks both directions: every feature bit CPUID reports is backed by what the
// CPU does (a representative instruction executes without #UD, a control-register bit can be set,
// an MSR exists), and every feature it does not implement is reported absent. The probes run on
// fresh 64-bit machines at CPL 0; each probe's expectation follows from the SDM text for that
// feature ("#UD If CPUID.01H:ECX.SSE3[bit 0] = 0", "reserved CR4 bits: #GP(0)", "#GP(0) for an
// MSR that is not implemented").
import { describe, it, expect } from 'vitest';
import { makeCpu, DATA, type Harness } from '../helpers/cpu-harness.ts';
import { exec1 } from '../cpu/sys-helpers.ts';
import { enterUser } from '../helpers/cpu-events.ts';
import { RAX, RBX, RCX, RDX } from '../../emulator/cpu/state.ts';
import { updateMode } from '../../emulator/cpu/segments.ts';
import { MAXPHYADDR } from '../../emulator/cpu/paging.ts';
import { long64, prot32, cpuid, chars, wq, wd } from './helpers.ts';

const UD = 6, GP = 13, PF = 14;
const EAX = 0, EBX = 1, ECX = 2, EDX = 3;

/** Vector raised by one instruction on a fresh 64-bit CPL-0 machine (-1: none). */
function vecOf(bytes: number[], prep: (h: Harness) => void = () => {}): number {
  const h = long64();
  h.setReg(RBX, BigInt(DATA)); h.setReg(RAX, BigInt(DATA)); h.setReg(RCX, 0n); h.setReg(RDX, 0n);
  prep(h);
  return exec1(h, bytes).vec;
}
const notUD = (bytes: number[], prep?: (h: Harness) => void) => (): boolean => vecOf(bytes, prep) !== UD;
/** MOV to CR4 with the bit added succeeds (a CR4 bit for an unsupported feature is reserved: #GP(0)). */
const cr4Bit = (bit: number) => (): boolean =>
  vecOf([0x0f, 0x22, 0xe0], (h) => h.setReg(RAX, BigInt((h.cpu.cr4 | (1 << bit)) >>> 0))) === -1; // mov cr4, rax
/** RDMSR of the MSR does not #GP (an MSR that does not exist is #GP(0)). */
const msr = (index: number) => (): boolean => vecOf([0x0f, 0x32], (h) => h.setReg(RCX, BigInt(index))) === -1;

interface Feature { name: string; leaf: number; reg: number; bit: number; probe: () => boolean }
const F = (name: string, leaf: number, reg: number, bit: number, probe: () => boolean): Feature => ({ name, leaf, reg, bit, probe });

const FEATURES: Feature[] = [
  // CPUID.01H:EDX (Vol. 2A Table 3-11)
  F('FPU: x87 (FNINIT)', 1, EDX, 0, notUD([0xdb, 0xe3])),
  F('VME: CR4.VME', 1, EDX, 1, cr4Bit(0)),
  F('DE: CR4.DE', 1, EDX, 2, cr4Bit(3)),
  F('PSE: CR4.PSE', 1, EDX, 3, cr4Bit(4)),
  F('TSC: RDTSC', 1, EDX, 4, notUD([0x0f, 0x31])),
  F('MSR: RDMSR', 1, EDX, 5, notUD([0x0f, 0x32], (h) => h.setReg(RCX, 0x10n))),
  F('PAE: CR4.PAE', 1, EDX, 6, cr4Bit(5)),
  F('MCE: CR4.MCE', 1, EDX, 7, cr4Bit(6)),
  F('CX8: CMPXCHG8B', 1, EDX, 8, notUD([0x0f, 0xc7, 0x0b])),
  F('SEP: SYSENTER (#GP with SYSENTER_CS = 0 is fine)', 1, EDX, 11, notUD([0x0f, 0x34])),
  F('MTRR: IA32_MTRR_PHYSBASE0', 1, EDX, 12, msr(0x200)),
  F('PGE: CR4.PGE', 1, EDX, 13, cr4Bit(7)),
  F('MCA: IA32_MCG_CAP', 1, EDX, 14, msr(0x179)),
  F('CMOV: CMOVE', 1, EDX, 15, notUD([0x0f, 0x44, 0xc1])),
  F('PAT: IA32_PAT', 1, EDX, 16, msr(0x277)),
  F('PSE-36: 4-MiB page above 4 GiB', 1, EDX, 17, pse36),
  F('CLFSH: CLFLUSH', 1, EDX, 19, notUD([0x0f, 0xae, 0x3b])),
  F('DS: IA32_DS_AREA', 1, EDX, 21, msr(0x600)),
  F('ACPI: IA32_CLOCK_MODULATION', 1, EDX, 22, msr(0x19a)),
  F('MMX: MOVQ mm, mm', 1, EDX, 23, notUD([0x0f, 0x6f, 0xc1])),
  F('FXSR: FXSAVE', 1, EDX, 24, notUD([0x0f, 0xae, 0x03])),
  F('SSE: ADDPS', 1, EDX, 25, notUD([0x0f, 0x58, 0xc1])),
  F('SSE2: PADDQ xmm', 1, EDX, 26, notUD([0x66, 0x0f, 0xd4, 0xc1])),
  // CPUID.01H:ECX (Vol. 2A Table 3-10)
  F('SSE3: MOVDDUP', 1, ECX, 0, notUD([0xf2, 0x0f, 0x12, 0xc1])),
  F('PCLMULQDQ', 1, ECX, 1, notUD([0x66, 0x0f, 0x3a, 0x44, 0xc1, 0x00])),
  F('MONITOR: MONITOR', 1, ECX, 3, notUD([0x0f, 0x01, 0xc8])),
  F('VMX: CR4.VMXE', 1, ECX, 5, cr4Bit(13)),
  F('SMX: GETSEC', 1, ECX, 6, notUD([0x0f, 0x37])),
  F('SSSE3: PSHUFB', 1, ECX, 9, notUD([0x66, 0x0f, 0x38, 0x00, 0xc1])),
  F('FMA: VFMADD132PD', 1, ECX, 12, notUD([0xc4, 0xe2, 0xf1, 0x98, 0xc2])),
  F('CMPXCHG16B', 1, ECX, 13, notUD([0x48, 0x0f, 0xc7, 0x0b])),
  F('PCID: CR4.PCIDE', 1, ECX, 17, cr4Bit(17)),
  F('SSE4.1: PTEST', 1, ECX, 19, notUD([0x66, 0x0f, 0x38, 0x17, 0xc1])),
  F('SSE4.2: PCMPGTQ', 1, ECX, 20, notUD([0x66, 0x0f, 0x38, 0x37, 0xc1])),
  F('x2APIC: IA32_X2APIC_APICID', 1, ECX, 21, msr(0x802)),
  F('MOVBE', 1, ECX, 22, notUD([0x0f, 0x38, 0xf0, 0x03])),
  F('POPCNT', 1, ECX, 23, notUD([0xf3, 0x0f, 0xb8, 0xc1])),
  F('TSC-Deadline: IA32_TSC_DEADLINE', 1, ECX, 24, msr(0x6e0)),
  F('AESNI: AESENC', 1, ECX, 25, notUD([0x66, 0x0f, 0x38, 0xdc, 0xc1])),
  F('XSAVE: CR4.OSXSAVE', 1, ECX, 26, cr4Bit(18)),
  F('AVX: VZEROUPPER', 1, ECX, 28, notUD([0xc5, 0xf8, 0x77])),
  F('F16C: VCVTPH2PS', 1, ECX, 29, notUD([0xc4, 0xe2, 0x79, 0x13, 0xc1])),
  F('RDRAND', 1, ECX, 30, notUD([0x0f, 0xc7, 0xf0])),
  // CPUID.(EAX=07H, ECX=0):EBX/ECX (Vol. 2A Table 3-8, leaf 07H)
  F('FSGSBASE: CR4.FSGSBASE', 7, EBX, 0, cr4Bit(16)),
  F('IA32_TSC_ADJUST', 7, EBX, 1, msr(0x3b)),
  F('BMI1: ANDN', 7, EBX, 3, notUD([0xc4, 0xe2, 0x70, 0xf2, 0xc2])),
  F('AVX2: VPADDD ymm', 7, EBX, 5, notUD([0xc5, 0xfd, 0xfe, 0xc1])),
  F('SMEP: CR4.SMEP', 7, EBX, 7, cr4Bit(20)),
  F('BMI2: BZHI', 7, EBX, 8, notUD([0xc4, 0xe2, 0x68, 0xf5, 0xc1])),
  F('ERMS: REP MOVSB', 7, EBX, 9, notUD([0xf3, 0xa4])),
  F('INVPCID', 7, EBX, 10, notUD([0x66, 0x0f, 0x38, 0x82, 0x03])),
  F('RTM: XTEST', 7, EBX, 11, notUD([0x0f, 0x01, 0xd6])),
  F('AVX512F: EVEX VPADDD', 7, EBX, 16, notUD([0x62, 0xf1, 0x7d, 0x48, 0xfe, 0xc1])),
  F('RDSEED', 7, EBX, 18, notUD([0x0f, 0xc7, 0xf8])),
  F('ADX: ADCX', 7, EBX, 19, notUD([0x66, 0x0f, 0x38, 0xf6, 0xc1])),
  F('SMAP: CR4.SMAP', 7, EBX, 20, cr4Bit(21)),
  F('CLFLUSHOPT', 7, EBX, 23, notUD([0x66, 0x0f, 0xae, 0x3b])),
  F('CLWB', 7, EBX, 24, notUD([0x66, 0x0f, 0xae, 0x33])),
  F('SHA: SHA1NEXTE', 7, EBX, 29, notUD([0x0f, 0x38, 0xc8, 0xc1])),
  F('UMIP: CR4.UMIP', 7, ECX, 2, cr4Bit(11)),
  F('PKU: CR4.PKE', 7, ECX, 3, cr4Bit(22)),
  F('WAITPKG: UMONITOR', 7, ECX, 5, notUD([0xf3, 0x0f, 0xae, 0xf0])),
  F('RDPID', 7, ECX, 22, notUD([0xf3, 0x0f, 0xc7, 0xf8])),
  // CPUID.80000001H:ECX/EDX (Vol. 2A Table 3-8, leaf 80000001H)
  F('LAHF/SAHF in 64-bit mode', 0x80000001, ECX, 0, notUD([0x9f])),
  F('LZCNT (F3 0F BD counts leading zeros instead of being BSR)', 0x80000001, ECX, 5, lzcnt),
  F('PREFETCHW', 0x80000001, ECX, 8, notUD([0x0f, 0x0d, 0x0b])),
  F('SYSCALL/SYSRET in 64-bit mode', 0x80000001, EDX, 11, notUD([0x0f, 0x05])),
  F('XD: IA32_EFER.NXE', 0x80000001, EDX, 20, () => vecOf([0x0f, 0x30], (h) => { h.setReg(RCX, 0xc0000080n); h.setReg(RAX, 0xd01n); }) === -1),
  F('1-GByte pages', 0x80000001, EDX, 26, page1g),
  F('RDTSCP', 0x80000001, EDX, 27, notUD([0x0f, 0x01, 0xf9])),
  F('Intel 64: IA32_EFER.LME', 0x80000001, EDX, 29, () => {
    const h = prot32();
    h.setReg(RCX, 0xc0000080n); h.setReg(RAX, 0x100n); h.setReg(RDX, 0n);
    return exec1(h, [0x0f, 0x30]).vec === -1;
  }),
];

/** PSE-36: a 4-MiB PDE with PDE[20:13] = 1 (physical 1_0040_0000H) translates under 32-bit paging. */
function pse36(): boolean {
  const h = prot32();
  wd(h, 0x20000, 0x83); // 4 MiB identity
  wd(h, 0x20000 + 4 * 3, 0x400000 | (1 << 13) | 0x83);
  h.cpu.cr3 = 0x20000; h.cpu.cr4 |= 0x10; h.cpu.cr0 = 0x80000011; updateMode(h.cpu); h.cpu.tlb.flushAll();
  h.setReg(RBX, 0xc00000n);
  return exec1(h, [0x8b, 0x03]).vec === -1; // mov eax, [ebx]: open bus above RAM, but no #PF(RSVD)
}
/** A PDPTE with PS = 1 maps a 1-GiB page instead of being a reserved-bit violation. */
function page1g(): boolean {
  const h = long64();
  wq(h, 0x2000 + 8, 0x83); // PDPT[1]: 1 GiB at physical 0
  h.cpu.tlb.flushAll();
  h.setReg(RBX, 0x40000000n + 0x1000n);
  return exec1(h, [0x8b, 0x03]).vec === -1;
}
/** LZCNT of 0 is the operand size with CF = 1; BSR of 0 leaves the destination (ZF = 1). */
function lzcnt(): boolean {
  const h = long64();
  h.setReg(RCX, 0n); h.setReg(RAX, 0x1234n);
  expect(exec1(h, [0xf3, 0x0f, 0xbd, 0xc1]).vec).toBe(-1); // lzcnt eax, ecx
  return h.reg(RAX) === 32n;
}

describe('CPUID leaf structure (SDM Vol. 2A CPUID)', () => {
  it('leaf 0: EAX = maximum basic leaf (7); vendor identification string in EBX, EDX, ECX: 12 printable ASCII characters', () => {
    const h = long64();
    const [max, b, c, d] = cpuid(h, 0);
    expect(max).toBe(7);
    const vendor = chars(b, d, c);
    expect(vendor).toMatch(/^[\x20-\x7e]{12}$/);
    expect(vendor).toBe('x86vmxEmuCPU');
  });
  it('"If a value entered for CPUID.EAX is higher than the maximum input value for basic or extended function for that processor then the data for the highest basic information leaf is returned"', () => {
    const h = long64();
    const top = cpuid(h, 7);
    for (const leaf of [8, 9, 0xa, 0xb, 0xd, 0x14, 0x1f, 0x100, 0x40000000, 0x40000001, 0x80000009, 0x8000000a, 0x80000020, 0x8fffffff, 0xc0000000, 0xffffffff]) {
      expect(cpuid(h, leaf), leaf.toString(16)).toEqual(top);
    }
  });
  it('leaves 1-7 are within range and answer for themselves; leaf 7 EAX = maximum sub-leaf (0); sub-leaf 1 is all zeros', () => {
    const h = long64();
    expect(cpuid(h, 7, 0)[EAX]).toBe(0);
    expect(cpuid(h, 7, 1)).toEqual([0, 0, 0, 0]);
    for (const leaf of [3, 4, 5, 6]) expect(cpuid(h, leaf), `leaf ${leaf}`).not.toEqual(cpuid(h, 7));
  });
  it('leaf 2: "The least-significant byte in register EAX (register AL) will always return 01H"; no descriptors follow', () => {
    const h = long64();
    expect(cpuid(h, 2)).toEqual([1, 0, 0, 0]);
  });
  it('leaf 1 EAX is the processor signature the processor leaves in EDX after reset (Vol. 3A 9.1.4); family 6, model 8FH, stepping 0', () => {
    const reset = makeCpu('real16'); // harness applies resetCpu first; EDX is not touched afterwards in real16
    const sig = Number(reset.reg(RDX));
    const h = long64();
    const a = cpuid(h, 1)[EAX];
    expect(a).toBe(sig);
    const family = (a >>> 8) & 0xf, model = ((a >>> 4) & 0xf) | (((a >>> 16) & 0xf) << 4), stepping = a & 0xf;
    expect([family, model, stepping]).toEqual([6, 0x8f, 0]);
  });
  it('leaf 1 EBX: CLFLUSH line size (EBX[15:8] × 8 bytes) is reported with CLFSH; initial APIC ID 0', () => {
    const h = long64();
    const [, b, , d] = cpuid(h, 1);
    expect((d >>> 19) & 1).toBe(1);
    expect(((b >>> 8) & 0xff) * 8).toBe(64);
    expect(b >>> 24).toBe(0);
  });
  it('IA32_MISC_ENABLE[22] (Limit CPUID Maxval) caps leaf 0 EAX at 2; higher basic leaves then return leaf 2 (Vol. 4 Table 2-2)', () => {
    const h = long64();
    h.setReg(RCX, 0x1a0n); h.setReg(RAX, BigInt(h.cpu.miscEnable | (1 << 22))); h.setReg(RDX, 0n);
    expect(exec1(h, [0x0f, 0x30]).vec).toBe(-1);
    expect(cpuid(h, 0)[EAX]).toBe(2);
    expect(cpuid(h, 3)).toEqual(cpuid(h, 2));
    expect(cpuid(h, 7)).toEqual(cpuid(h, 2));
    expect(cpuid(h, 0x80000000)[EAX]).toBe(0x80000008); // extended leaves are not affected
  });
  it('leaf 80000000H: maximum extended leaf 80000008H; brand string leaves 80000002H-80000004H: 48 bytes, ASCII, null-terminated', () => {
    const h = long64();
    expect(cpuid(h, 0x80000000)[EAX]).toBe(0x80000008);
    const brand = [0x80000002, 0x80000003, 0x80000004].map((l) => chars(...cpuid(h, l))).join('');
    expect(brand.length).toBe(48);
    const nul = brand.indexOf('\0');
    expect(nul).toBeGreaterThan(0);
    expect(brand.slice(0, nul)).toMatch(/^[\x20-\x7e]+$/);
    expect(brand.slice(nul)).toMatch(/^\0+$/);
    expect(brand.slice(0, nul)).toBe('x86vmx virtual CPU');
  });
  it('CPUID is not privileged: same answers at CPL 3 and in real-address mode', () => {
    const h = long64();
    const l1 = cpuid(h, 1);
    const u = long64();
    enterUser(u);
    expect(u.cpu.cpl).toBe(3);
    expect(cpuid(u, 1)).toEqual(l1);
    const r = makeCpu('real16');
    r.setReg(RAX, 1n); r.setReg(RCX, 0n);
    expect(exec1(r, [0x0f, 0xa2], 0x1000).vec).toBe(-1);
    expect(Number(r.reg(RAX))).toBe(l1[EAX]);
    expect(Number(r.reg(RDX))).toBe(l1[EDX]);
  });
});

describe('CPUID.80000008H address sizes match the paging and canonical-address checks (Vol. 2A CPUID; Vol. 3A 4.5, 3.3.7.1)', () => {
  it('EAX[7:0] = MAXPHYADDR = 40 (paging.ts): PTE address bit 39 is an address bit, bit 40 is reserved (#PF P|RSVD); CR3 bit 40 is #GP(0)', () => {
    const h = long64();
    const a = cpuid(h, 0x80000008)[EAX];
    expect(a & 0xff).toBe(40);
    expect(MAXPHYADDR).toBe(a & 0xff);
    // PDPT[1] → PD at 0x20000 whose entry 0 is a 2 MiB page at physical 2^39 (not RAM: reads are open bus)
    wq(h, 0x2000 + 8, 0x20003);
    wq(h, 0x20000, (1n << 39n) | 0x83n);
    h.cpu.tlb.flushAll();
    h.setReg(RBX, 0x40000000n);
    expect(exec1(h, [0x8b, 0x03]).vec).toBe(-1);
    wq(h, 0x20000, (1n << 40n) | 0x83n);
    h.cpu.tlb.flushAll();
    expect(exec1(h, [0x8b, 0x03])).toEqual({ vec: PF, code: 0x09 });
    h.setReg(RAX, (1n << 40n) | 0x1000n);
    expect(exec1(h, [0x0f, 0x22, 0xd8])).toEqual({ vec: GP, code: 0 }); // mov cr3, rax
    h.setReg(RAX, (1n << 39n) | 0x1000n);
    expect(exec1(h, [0x0f, 0x22, 0xd8]).vec).toBe(-1);
  });
  it('EAX[15:8] = 48 linear bits: 00007FFFFFFFF000H is canonical (unmapped: #PF), 0000800000000000H is not (#GP(0))', () => {
    const h = long64();
    expect((cpuid(h, 0x80000008)[EAX] >>> 8) & 0xff).toBe(48);
    h.setReg(RBX, 0x00007ffffffff000n);
    expect(exec1(h, [0x8b, 0x03]).vec).toBe(PF);
    h.setReg(RBX, 0x0000800000000000n);
    expect(exec1(h, [0x8b, 0x03])).toEqual({ vec: GP, code: 0 });
  });
});

describe('every reported feature is implemented and every unimplemented one is reported absent (Vol. 2A CPUID feature tables)', () => {
  const h = long64();
  for (const f of FEATURES) {
    it(`${f.name} — CPUID.${f.leaf.toString(16).toUpperCase()}H:${['EAX', 'EBX', 'ECX', 'EDX'][f.reg]}[${f.bit}]`, () => {
      const reported = ((cpuid(h, f.leaf)[f.reg] >>> f.bit) & 1) === 1;
      expect(f.probe(), reported ? 'reported but not implemented' : 'implemented but not reported').toBe(reported);
    });
  }
  it('OSXSAVE (CPUID.01H:ECX[27]) mirrors CR4.OSXSAVE, which cannot be set without XSAVE', () => {
    expect((cpuid(h, 1)[ECX] >>> 27) & 1).toBe((h.cpu.cr4 >>> 18) & 1);
  });
  it('APIC (CPUID.01H:EDX[9]) follows the machine: absent without a local APIC, IA32_APIC_BASE then #GP(0)', () => {
    expect((cpuid(h, 1)[EDX] >>> 9) & 1).toBe(0);
    expect(msr(0x1b)()).toBe(false);
  });
  it('known deviation: TZCNT (F3 0F BC) counts trailing zeros although BMI1 (CPUID.(7,0):EBX[3]) is not reported — on such a processor it would execute as BSF (Vol. 2B TZCNT); BMI1\'s VEX instructions are not implemented, so BMI1 cannot be reported', () => {
    const g = long64();
    g.setReg(RCX, 0n); g.setReg(RAX, 0x1234n);
    expect(exec1(g, [0xf3, 0x0f, 0xbc, 0xc1]).vec).toBe(-1); // tzcnt eax, ecx
    expect(g.reg(RAX)).toBe(32n); // TZCNT semantics (BSF would leave 1234H)
    expect((cpuid(h, 7)[EBX] >>> 3) & 1).toBe(0);
  });
});
