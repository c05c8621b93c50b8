// System instructions: far transfers and IRET (far.ts), descriptor tables (descriptors.ts), control
// and debug registers (sysregs.ts), MSRs (../msr.ts), CPUID (../cpuid.ts), SYSCALL/SYSRET and
// SYSENTER/SYSEXIT (syscall.ts), and the small ones registered here: INVLPG, SWAPGS, RDTSC(P),
// RDPMC, INVD/WBINVD, UD2, the 0F 0D prefetch hints.
//
// Opcodes: 9A, CA, CB, CF, EA, 0F 00-03, 0F 05-09, 0F 0B, 0F 0D, 0F 20-23, 0F 30-35, 0F A2.
import { Cpu, RAX, RCX, RDX, GS, CR4_TSD, CR4_PCE, MODE_LONG64 } from '../state.ts';
import type { Insn, Handler } from '../insn.ts';
import { def, Imm } from '../decoder.ts';
import { FAULT, gp0, ud } from '../fault.ts';
import { set32 } from '../regs.ts';
import { jmpFar, callFar, retFar, iret } from './far.ts';
import { pickGroup6, sgdt, sidt, lgdt, lidt, smsw, lmswH, pickLar, pickLsl } from './descriptors.ts';
import { pickMovFromCr, pickMovToCr, pickMovFromDr, pickMovToDr, clts } from './sysregs.ts';
import { syscall, sysret, sysenter, sysexit } from './syscall.ts';
import { readMsr, writeMsr, msrLo, msrHi, readTsc } from '../msr.ts';
import { cpuid, cpuidA, cpuidB, cpuidC, cpuidD } from '../cpuid.ts';
import { VI_CPUID, VI_INVD, VI_WBINVD, VI_RDPMC, VI_RDTSC, VI_RDTSCP } from '../vmx-hooks.ts';

const TWO32 = 4294967296;

function needCpl0(c: Cpu): void { if (c.cpl !== 0) gp0(c); }

// ---------------------------------------------------------------- far transfers

const callFarPtr: Handler = (c, i) => callFar(c, i, i.imm2, i.imm);
const jmpFarPtr: Handler = (c, i) => jmpFar(c, i, i.imm2, i.imm);
def(0x9a, { name: 'call far', modrm: false, imm: Imm.Ap, i64: true, pick: () => callFarPtr });
def(0xea, { name: 'jmp far', modrm: false, imm: Imm.Ap, i64: true, pick: () => jmpFarPtr });
def(0xca, { name: 'retf', modrm: false, imm: Imm.Iw, pick: () => retFar });
def(0xcb, { name: 'retf', modrm: false, imm: Imm.None, pick: () => retFar });
def(0xcf, { name: 'iret', modrm: false, imm: Imm.None, pick: () => iret });

// ---------------------------------------------------------------- 0F 00, 0F 01, LAR, LSL

def(0x100, { name: 'grp6', modrm: true, imm: Imm.None, pick: pickGroup6 });

/** INVLPG m: drop the TLB entries for the page (a non-canonical address is a no-op, no fault). */
const invlpg: Handler = (c, i) => {
  needCpl0(c);
  let a: number;
  try {
    a = i.ea(c, i);
  } catch (e) {
    if (e !== FAULT) throw e;
    c.excVector = -1;
    return;
  }
  if (c.vmxNonRoot) c.vmx!.invlpg(c, i, a); // "INVLPG exiting" (SDM Vol. 3C 25.1.3)
  const off = a & 0xfff;
  c.tlb.flushPage((a - off) / 4096);
};

/** SWAPGS (0F 01 F8): 64-bit mode, CPL 0: exchange GS.base and IA32_KERNEL_GS_BASE. */
const swapgs: Handler = (c) => {
  needCpl0(c);
  const t = c.segBase[GS];
  c.segBase[GS] = c.kernelGsBase;
  c.kernelGsBase = t;
};

function tscTo(c: Cpu): void {
  const v = readTsc(c);
  set32(c, RAX, (v % TWO32) | 0);
  set32(c, RDX, Math.floor(v / TWO32) | 0);
}

/** RDTSC (0F 31): #GP(0) when CR4.TSD = 1 and CPL > 0. */
const rdtsc: Handler = (c, i) => {
  if ((c.cr4 & CR4_TSD) && c.cpl > 0) gp0(c);
  if (c.vmxNonRoot) c.vmx!.insn(c, i, VI_RDTSC); // "RDTSC exiting"; the TSC offset is in readTsc
  tscTo(c);
};

/** RDTSCP (0F 01 F9): RDTSC plus ECX ← IA32_TSC_AUX. */
const rdtscp: Handler = (c, i) => {
  if (c.vmxNonRoot) c.vmx!.insn(c, i, VI_RDTSCP); // #UD without "enable RDTSCP", then #GP, then "RDTSC exiting"
  if ((c.cr4 & CR4_TSD) && c.cpl > 0) gp0(c);
  tscTo(c);
  set32(c, RCX, c.tscAux);
};

/**
 * Register forms of 0F 01 (mod = 3), indexed by ModRM reg * 8 + rm. Free entries decode to #UD.
 * Reserved for the VMX layer: C1 VMCALL, C2 VMLAUNCH, C3 VMRESUME, C4 VMXOFF (reg 0, rm 1-4),
 * which it installs with setGroup7RegForm before any code is decoded.
 */
const group7Reg: (Handler | undefined)[] = new Array(64);
export function setGroup7RegForm(modrm: number, h: Handler): void {
  const k = modrm & 0x3f;
  if ((modrm & 0xc0) !== 0xc0 || group7Reg[k] !== undefined) throw new Error(`0f 01 ${modrm.toString(16)} cannot be defined`);
  group7Reg[k] = h;
}
for (let rm = 0; rm < 8; rm++) { group7Reg[4 * 8 + rm] = smsw; group7Reg[6 * 8 + rm] = lmswH; }
group7Reg[7 * 8 + 1] = rdtscp;

function pickGroup7(i: Insn): Handler | undefined {
  const reg = i.reg & 7;
  if (i.mod === 3) {
    if (reg === 7 && (i.rm & 7) === 0) return i.mode === MODE_LONG64 ? swapgs : undefined;
    return group7Reg[reg * 8 + (i.rm & 7)];
  }
  switch (reg) {
    case 0: return sgdt;
    case 1: return sidt;
    case 2: return lgdt;
    case 3: return lidt;
    case 4: return smsw;
    case 6: return lmswH;
    case 7: return invlpg;
    default: return undefined;
  }
}
def(0x101, { name: 'grp7', modrm: true, imm: Imm.None, pick: pickGroup7 });
def(0x102, { name: 'lar', modrm: true, imm: Imm.None, pick: pickLar });
def(0x103, { name: 'lsl', modrm: true, imm: Imm.None, pick: pickLsl });

// ---------------------------------------------------------------- 0F 05-0F 0D

def(0x105, { name: 'syscall', modrm: false, imm: Imm.None, o64: true, pick: () => syscall });
def(0x106, { name: 'clts', modrm: false, imm: Imm.None, pick: () => clts });
def(0x107, { name: 'sysret', modrm: false, imm: Imm.None, o64: true, pick: () => sysret });
// No caches to invalidate. In VMX non-root operation INVD exits unconditionally, WBINVD under
// "WBINVD exiting" (SDM Vol. 3C 25.1.2, 25.1.3).
const invd: Handler = (c, i) => { needCpl0(c); if (c.vmxNonRoot) c.vmx!.insn(c, i, VI_INVD); };
const wbinvd: Handler = (c, i) => { needCpl0(c); if (c.vmxNonRoot) c.vmx!.insn(c, i, VI_WBINVD); };
def(0x108, { name: 'invd', modrm: false, imm: Imm.None, pick: () => invd });
def(0x109, { name: 'wbinvd', modrm: false, imm: Imm.None, pick: () => wbinvd });
const ud2: Handler = (c) => { ud(c); };
def(0x10b, { name: 'ud2', modrm: false, imm: Imm.None, pick: () => ud2 });
// UD1 (0F B9 /r) and UD0 (0F FF /r) raise #UD like UD2 but take a ModR/M byte (and SIB/displacement),
// which counts in their length (SDM Vol. 2B UD: "UD0 r32, r/m32", "UD1 r32, r/m32").
def(0x1b9, { name: 'ud1', modrm: true, imm: Imm.None, pick: () => ud2 });
def(0x1ff, { name: 'ud0', modrm: true, imm: Imm.None, pick: () => ud2 });
// RSM (0F AA): there is no system-management mode here, so the processor is never in SMM and RSM
// raises #UD (SDM Vol. 2B RSM, "#UD If an attempt is made to execute this instruction when the
// processor is not in SMM"). A known instruction, two bytes long.
def(0x1aa, { name: 'rsm', modrm: false, imm: Imm.None, pick: () => ud2 });
// PREFETCH/PREFETCHW hints (0F 0D /r, memory forms): no caches, so a NOP that does not even
// compute the address; the register form is #UD.
const nopHint: Handler = () => {};
def(0x10d, { name: 'prefetchw', modrm: true, imm: Imm.None, pick: (i) => (i.mod === 3 ? undefined : nopHint) });

// ---------------------------------------------------------------- MOV CR/DR (mod is always treated as 11b)

def(0x120, { name: 'mov r,cr', modrm: true, regOnly: true, imm: Imm.None, pick: pickMovFromCr });
def(0x121, { name: 'mov r,dr', modrm: true, regOnly: true, imm: Imm.None, pick: pickMovFromDr });
def(0x122, { name: 'mov cr,r', modrm: true, regOnly: true, imm: Imm.None, pick: pickMovToCr });
def(0x123, { name: 'mov dr,r', modrm: true, regOnly: true, imm: Imm.None, pick: pickMovToDr });

// ---------------------------------------------------------------- 0F 30-35, CPUID

// In VMX non-root operation the MSR bitmaps decide on a VM exit after the CPL check and before
// the MSR is looked up (an unknown MSR exits rather than #GP, SDM Vol. 3C 25.1.1).
const wrmsr: Handler = (c, i) => {
  needCpl0(c);
  if (c.vmxNonRoot) c.vmx!.msr(c, i, true);
  writeMsr(c, c.rl[RCX], c.rl[RAX], c.rl[RDX]);
};
const rdmsr: Handler = (c, i) => {
  needCpl0(c);
  if (c.vmxNonRoot) c.vmx!.msr(c, i, false);
  readMsr(c, c.rl[RCX]);
  set32(c, RAX, msrLo);
  set32(c, RDX, msrHi);
};
/** RDPMC: no performance counters are implemented (CPUID leaf 0AH is not reported): #GP(0). */
const rdpmc: Handler = (c, i) => {
  if ((c.cr4 & CR4_PCE) === 0 && c.cpl > 0) gp0(c);
  if (c.vmxNonRoot) c.vmx!.insn(c, i, VI_RDPMC);
  gp0(c);
};
def(0x130, { name: 'wrmsr', modrm: false, imm: Imm.None, pick: () => wrmsr });
def(0x131, { name: 'rdtsc', modrm: false, imm: Imm.None, pick: () => rdtsc });
def(0x132, { name: 'rdmsr', modrm: false, imm: Imm.None, pick: () => rdmsr });
def(0x133, { name: 'rdpmc', modrm: false, imm: Imm.None, pick: () => rdpmc });
def(0x134, { name: 'sysenter', modrm: false, imm: Imm.None, pick: () => sysenter });
def(0x135, { name: 'sysexit', modrm: false, imm: Imm.None, pick: () => sysexit });

const cpuidH: Handler = (c, i) => {
  if (c.vmxNonRoot) c.vmx!.insn(c, i, VI_CPUID); // CPUID exits unconditionally (SDM Vol. 3C 25.1.2)
  cpuid(c, c.rl[RAX], c.rl[RCX]);
  set32(c, RAX, cpuidA);
  set32(c, 3, cpuidB); // RBX
  set32(c, RCX, cpuidC);
  set32(c, RDX, cpuidD);
};
def(0x1a2, { name: 'cpuid', modrm: false, imm: Imm.None, pick: () => cpuidH });
